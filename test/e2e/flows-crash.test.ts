// Flows under kill -9, with real processes (issue 3): a hub runs a flow whose every step is a remote
// HTTP module served by this test process; ~150 requests arrive at once, the hub is killed -9 after
// ~40 were accepted, restarted, and the requests whose answer was lost are sent again with their
// Idempotency-Key. Then every request has exactly one run, every run succeeded, and each step of each
// run reached the module's side effect exactly once, as the module sees it by idempotencyKey.
// Half the requests wait (?wait), so their first step, a safe lookup, runs before the run is written
// (flows.safeStepsFirst): a lookup may have been called for a run the kill left unwritten, but no step
// that is not safe ever was.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { client, freePort, killHard, spawnConveyor, stop, tempDir, waitFor, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';
import { startRecordingModule, tierOf, type RecordingModule } from './fixtures/flows-crash/recording-module.js';

const REQUESTS = 150;
const KILL_AFTER = 40; // 202 answers seen before the kill
const SENDERS = 30; // requests in flight at once
const FLOW_FILE = fileURLToPath(new URL('./fixtures/flows-crash/crash-flow.yaml', import.meta.url));
const FLOW = 'crash-flow';

type Api = ReturnType<typeof client>;

interface Sent {
  n: number;
  key: string;
  body: { n: number; tag: string };
  /** The first hub's answer: a status, 'lost' when the connection failed (the kill), 'unsent' when the kill came first. */
  status: number | 'lost' | 'unsent';
  runId?: string;
}

interface RunSummary {
  runId: string;
  state: string;
  idempotencyKey: string | null;
  liveBranches: number;
  error: unknown;
}

interface StepRecord {
  stepId: string;
  seq: number;
  attempt: number;
  state: string;
  output: unknown;
}

/** The steps a request takes: lookup, receive, enrich, then check ‖ audit, and escalate after check for vip requests. */
const expectedSteps = (n: number): string[] =>
  tierOf(n) === 'vip' ? ['audit', 'check', 'enrich', 'escalate', 'lookup', 'receive'] : ['audit', 'check', 'enrich', 'lookup', 'receive'];
/** Steps whose module is configured safe: they may run for a request whose run the kill left unwritten. */
const SAFE_STEPS = new Set(['lookup']);
/** Every other request waits for its outcome (200), and so starts with its safe steps. */
const waits = (n: number) => n % 2 === 0;

function config(flowsDir: string, module: RecordingModule): string {
  return [
    'log: { level: warn }',
    'demo: { seed: false }',
    // A short lease so the dead hub's claimed step jobs come back within seconds, not a minute.
    'jobs: { concurrency: 8, leaseMs: 2000, pollIntervalMs: 50 }',
    'flows:',
    `  dir: ${JSON.stringify(flowsDir)}`,
    '  stepTimeoutMs: 10000',
    '  modules:',
    `    recorder: { transport: http, url: ${JSON.stringify(module.url)}, secret: ${JSON.stringify(module.secret)} }`,
    `    lookup: { transport: http, url: ${JSON.stringify(module.url)}, secret: ${JSON.stringify(module.secret)}, safe: true }`,
  ].join('\n');
}

const isAccepted = (status: number | string) => status === 200 || status === 202;

async function postRequest(api: Api, s: Sent): Promise<{ status: number; runId?: string; duplicate?: boolean }> {
  const res = await api('POST', `/flows/${FLOW}/requests${waits(s.n) ? '?wait=10000' : ''}`, s.body, { headers: { 'idempotency-key': s.key } });
  const body = (await res.json()) as { runId?: string; duplicate?: boolean };
  return { status: res.status, runId: body.runId, duplicate: body.duplicate };
}

async function getJson<T>(api: Api, path: string): Promise<T> {
  const res = await api('GET', path);
  assert.equal(res.status, 200, `GET ${path}`);
  return (await res.json()) as T;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(work))));
  return out;
}

for (const kind of TEST_DATABASES) {
  describe(`flows crash safety on ${kind}: kill -9 during busy runs`, () => {
    const dir = tempDir();
    let scratch: ScratchDatabase | undefined;
    let module: RecordingModule;
    const env: Record<string, string> = {};
    const procs: ConveyorProcess[] = [];

    async function startHub(): Promise<{ hub: ConveyorProcess; api: Api }> {
      const port = await freePort();
      const hub = spawnConveyor(['start', '--no-demo', '--port', String(port), '--config', 'conveyor.yaml'], { cwd: dir.path, env });
      procs.push(hub);
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitReady(hub, baseUrl);
      return { hub, api: client(baseUrl) };
    }

    before(async () => {
      module = await startRecordingModule(`secret-${Date.now().toString(36)}`);
      const flowsDir = join(dir.path, 'flows');
      mkdirSync(flowsDir);
      copyFileSync(FLOW_FILE, join(flowsDir, 'crash-flow.yaml'));
      writeFileSync(join(dir.path, 'conveyor.yaml'), config(flowsDir, module));
      if (kind === 'postgres') {
        scratch = await scratchDatabase('postgres');
        env.DATABASE_URL = scratch.url;
      }
    });

    after(async () => {
      for (const p of procs) await stop(p);
      await module?.close();
      await scratch?.drop();
      dir.remove();
    });

    it(`${REQUESTS} concurrent requests, kill -9 after ${KILL_AFTER} accepted, restart and re-send: one run per request, each step's side effect exactly once`, async (t) => {
      const t0 = Date.now();
      const first = await startHub();
      // Signs in once (scrypt) and checks the flow loaded with the remote module, before the burst.
      const flow = await getJson<{ id: string; steps: number }>(first.api, `/flows/${FLOW}`);
      t.diagnostic(`hub ready ${Date.now() - t0} ms in`);
      assert.equal(flow.steps, 6);

      const nonce = Date.now().toString(36);
      const sent: Sent[] = Array.from({ length: REQUESTS }, (_, n) => ({ n, key: `crash-${nonce}-${n}`, body: { n, tag: nonce }, status: 'unsent' as const }));
      // The kill lands once KILL_AFTER requests were accepted AND steps have reached the module (a call is
      // under way, or one is done), so it hits both intake and running steps whatever the machine's pace.
      let accepted = 0;
      let killed: Promise<void> | undefined;
      let atKill = { accepted: 0, effects: 0, inFlight: 0 };
      const maybeKill = () => {
        if (killed || accepted < KILL_AFTER || (module.inFlight === 0 && module.effects.size === 0)) return;
        atKill = { accepted, effects: module.effects.size, inFlight: module.inFlight };
        killed = killHard(first.hub);
      };
      module.onCall = maybeKill;
      let nextToSend = 0;
      await Promise.all(
        Array.from({ length: SENDERS }, async () => {
          while (!killed && nextToSend < sent.length) {
            const s = sent[nextToSend++]!;
            try {
              const answer = await postRequest(first.api, s);
              s.status = answer.status;
              s.runId = answer.runId;
              if (isAccepted(answer.status)) accepted++;
              maybeKill();
            } catch {
              s.status = 'lost'; // refused or reset by the kill
            }
          }
        }),
      );
      module.onCall = undefined;
      assert.ok(killed, `the kill happened (${accepted} accepted, all sent)`);
      await killed;
      assert.equal(first.hub.child.signalCode, 'SIGKILL');

      const before202 = sent.filter((s) => isAccepted(s.status));
      const lost = sent.filter((s) => s.status === 'lost');
      const unsent = sent.filter((s) => s.status === 'unsent');
      assert.deepEqual(
        sent.filter((s) => !isAccepted(s.status) && s.status !== 'lost' && s.status !== 'unsent').map((s) => `${s.key}: ${s.status}`),
        [],
        'no request was refused while the hub was up',
      );
      assert.ok(before202.every((s) => typeof s.runId === 'string'), 'every answer names its run');
      assert.ok(lost.length > 0, 'the kill landed while requests were in flight');
      t.diagnostic(
        `killed with ${atKill.accepted} accepted, ${atKill.inFlight} module calls in flight, ${atKill.effects} side effects done; ` +
          `${before202.length} of ${REQUESTS} answered 200/202, ${lost.length} answers lost, ${unsent.length} not sent yet (${Date.now() - t0} ms in)`,
      );

      const second = await startHub();
      const { api } = second;
      const restartedAt = Date.now() - t0;

      // The lost ones again, with their keys and bodies; and the accepted ones, which must map to the run they were given.
      const resent = await inBatches(lost, SENDERS, (s) => postRequest(api, s));
      assert.deepEqual(
        resent.filter((a) => !isAccepted(a.status)).map((a) => a.status),
        [],
        're-sent requests are accepted',
      );
      lost.forEach((s, i) => (s.runId = resent[i]!.runId));
      const lostButDurable = resent.filter((a) => a.duplicate).length;
      // The ones the kill came before go out for the first time: new runs, never someone else's.
      const late = await inBatches(unsent, SENDERS, (s) => postRequest(api, s));
      for (const [i, s] of unsent.entries()) {
        assert.ok(isAccepted(late[i]!.status), `${s.key} sent after the restart: ${late[i]!.status}`);
        assert.equal(late[i]!.duplicate, false, `${s.key} was never sent before, so it is no duplicate`);
        s.runId = late[i]!.runId;
      }
      const again = await inBatches(before202, SENDERS, (s) => postRequest(api, s));
      for (const [i, s] of before202.entries()) {
        assert.ok(isAccepted(again[i]!.status), `${s.key} re-sent: ${again[i]!.status}`);
        assert.equal(again[i]!.runId, s.runId, `${s.key} maps to the run it was first given`);
        assert.equal(again[i]!.duplicate, true, `${s.key} is answered as a duplicate`);
      }
      t.diagnostic(`restarted ${restartedAt} ms in; re-sent ${lost.length} lost requests by ${Date.now() - t0} ms: ${lostButDurable} had been made durable before the kill (deduped by Idempotency-Key), ${lost.length - lostButDurable} became new runs; ${before202.length} accepted ones re-sent, all deduped; ${unsent.length} sent for the first time`);

      const unfinished = async () => {
        const running = await getJson<{ runs: RunSummary[] }>(api, `/runs?flow=${FLOW}&state=running&limit=500`);
        const queued = await getJson<{ runs: RunSummary[] }>(api, `/runs?flow=${FLOW}&state=queued&limit=500`);
        return [...running.runs, ...queued.runs];
      };
      try {
        await waitFor('no run queued or running', async () => (await unfinished()).length === 0, 45_000, 200, second.hub);
      } catch (err) {
        const stuck = await unfinished();
        throw new Error(`${stuck.length} run(s) stuck: ${stuck.slice(0, 5).map((r) => `${r.runId} ${r.state} liveBranches=${r.liveBranches}`).join('; ')}\n${(err as Error).message.slice(0, 2000)}`);
      }
      t.diagnostic(`all runs ended ${Date.now() - t0} ms in`);

      // Every request has exactly one run, the one its answers named; nothing else ran.
      const { runs, next } = await getJson<{ runs: RunSummary[]; next: string | null }>(api, `/runs?flow=${FLOW}&limit=500`);
      assert.equal(next, null);
      const runsByKey = new Map<string | null, RunSummary[]>();
      for (const r of runs) runsByKey.set(r.idempotencyKey, [...(runsByKey.get(r.idempotencyKey) ?? []), r]);
      for (const s of sent) {
        const mine = runsByKey.get(s.key) ?? [];
        assert.equal(mine.length, 1, `request ${s.key} has ${mine.length} runs`);
        assert.equal(mine[0]!.runId, s.runId, `request ${s.key} ran as the run it was answered with`);
      }
      assert.equal(runs.length, REQUESTS, 'no run without a request');
      const notSucceeded = runs.filter((r) => r.state !== 'succeeded' || r.liveBranches !== 0);
      assert.deepEqual(notSucceeded.map((r) => `${r.runId} ${r.state} ${JSON.stringify(r.error)}`), [], 'every run succeeded');

      // The module's view: per (run, step) exactly one idempotencyKey, for exactly the steps the route takes.
      const keysByRunStep = new Map<string, Set<string>>();
      for (const e of module.effects.values()) {
        const id = `${e.runId}/${e.stepId}`;
        keysByRunStep.set(id, (keysByRunStep.get(id) ?? new Set()).add(e.key));
      }
      const runOf = new Map(sent.map((s) => [s.runId!, s]));
      let expectedEffects = 0;
      for (const s of sent) {
        for (const step of expectedSteps(s.n)) {
          expectedEffects++;
          const keys = [...(keysByRunStep.get(`${s.runId}/${step}`) ?? [])];
          assert.equal(keys.length, 1, `run ${s.runId} (request ${s.n}) step ${step}: ${keys.length} idempotency keys at the module: ${keys.join(', ')}`);
        }
      }
      // A safe lookup for a run that was never written: the kill came before its first write. Harmless by
      // definition, and only ever a safe step: anything else ran only for runs already written.
      const unwritten = [...keysByRunStep.keys()].filter((id) => !runOf.has(id.split('/')[0]!));
      assert.deepEqual(unwritten.filter((id) => !SAFE_STEPS.has(id.split('/')[1]!)), [], 'no step that is not safe ran for a run that was never written');
      const unexpected = [...keysByRunStep.keys()].filter((id) => {
        const [runId, step] = id.split('/') as [string, string];
        const s = runOf.get(runId);
        return s !== undefined && !expectedSteps(s.n).includes(step);
      });
      assert.deepEqual(unexpected, [], 'no side effect for a step off the route');
      assert.equal(module.effects.size - unwritten.length, expectedEffects, 'distinct keys of written runs = the steps of every run on its taken branches');
      assert.deepEqual(module.problems, [], 'the module saw only well-formed calls with the inputs the context gives');
      assert.equal(module.refused, 0, 'every call was signed correctly');

      // The hub's history agrees: one succeeded record per taken step, holding the module's recorded answer.
      const effectOf = new Map([...module.effects.values()].map((e) => [`${e.runId}/${e.stepId}`, e]));
      let retriedSteps = 0;
      await inBatches(sent, 10, async (s) => {
        const detail = await getJson<{ steps: StepRecord[] }>(api, `/runs/${s.runId}?stepLimit=500`);
        const done = detail.steps.filter((r) => r.state === 'succeeded');
        assert.deepEqual(done.map((r) => r.stepId).sort(), expectedSteps(s.n), `run ${s.runId} (request ${s.n}) succeeded steps`);
        for (const r of done) {
          assert.deepEqual(r.output, effectOf.get(`${s.runId}/${r.stepId}`)!.output, `run ${s.runId} step ${r.stepId}: the output recorded is the module's one side effect`);
        }
        retriedSteps += detail.steps.length - done.length;
      });

      const repeats = [...module.effects.values()].filter((e) => e.calls > 1);
      const repeatCalls = repeats.reduce((sum, e) => sum + e.calls - 1, 0);
      t.diagnostic(
        `${runs.length} runs, ${module.effects.size} side effects (${expectedEffects} expected, and ${unwritten.length} safe lookups of runs the kill left unwritten); ${repeatCalls} repeat deliveries of ${repeats.length} keys deduped by the module ` +
          `(attempts ${[...new Set(repeats.flatMap((e) => e.attempts))].join(',') || '-'}); ${retriedSteps} non-succeeded step records; ${Date.now() - t0} ms in all`,
      );
    });
  });
}
