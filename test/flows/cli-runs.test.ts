// `conveyor runs …` as an operator runs it: a separate process on the database of a hub running in this
// test process (job workers on), with the same flow files. The CLI must answer what the API answers and
// act through the same functions: a cancel from the CLI reaches the hub's module call on PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { withHub } from '../../src/cli/common.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { eventually, getRun, runToEnd, startFlowHub, type FlowHub } from './runtime/support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Answers every path at once except /slow, which it holds until released or the caller goes away. */
async function startTarget() {
  const seen: { path: string; key: string; closed: boolean }[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const entry = { path: req.url ?? '', key: String(req.headers['idempotency-key'] ?? ''), closed: false };
    seen.push(entry);
    req.resume();
    res.on('close', () => (entry.closed = !res.writableEnded));
    if (entry.path === '/slow') return void held.push(res);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: entry.path }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const release = () => held.splice(0).forEach((res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"released":true}'));
  const close = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return { url, seen, release, close };
}

const flowFiles = (target: string) => {
  const call = (path: string) => `{ subsystem: http-request, options: { url: "${target}${path}", method: POST }`;
  return {
    'quick.yaml': ['id: quick', 'steps:', '  a: { subsystem: set, options: { values: { n: 1 } }, next: [b] }', '  b: { subsystem: set, options: { values: { done: true } } }', ''].join('\n'),
    // The URL is filled in from the request, which has none: the step fails when it runs.
    'fails.yaml': ['id: fails', 'steps:', '  boom: { subsystem: http-request, options: { url: "{{ request.hook }}" } }', ''].join('\n'),
    'held.yaml': ['id: held', 'steps:', '  first: { subsystem: set, next: [slow] }', `  slow: ${call('/slow')}, next: [last] }`, `  last: ${call('/last')} }`, ''].join('\n'),
  };
};

for (const kind of TEST_DATABASES) {
  describe(`conveyor runs … beside a running hub (${kind})`, () => {
    let f: FlowHub;
    let target: Awaited<ReturnType<typeof startTarget>>;
    const cliDir = mkdtempSync(join(tmpdir(), 'conveyor-runs-cli-'));
    const cliConfig = join(cliDir, 'conveyor.yaml');

    before(async () => {
      target = await startTarget();
      f = await startFlowHub(kind, { files: flowFiles(target.url), flows: { stepTimeoutMs: 30_000 } });
      // The hub's flows.dir: the CLI must load the same flows as the hub.
      writeFileSync(cliConfig, ['demo: { seed: false }', 'jobs: { pollIntervalMs: 50 }', `flows: { dir: ${JSON.stringify(f.dir)}, stepTimeoutMs: 30000 }`, ''].join('\n'));
    });
    after(async () => {
      target?.release();
      await target?.close();
      await f?.close();
      rmSync(cliDir, { recursive: true, force: true });
    });

    /** `conveyor runs <args>` on the hub's database, with the configuration file given. */
    function runsWith(configFile: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const env = { ...process.env, CONVEYOR_CONFIG: '', CONVEYOR_PLUGINS: '', LOG_LEVEL: 'info' };
      return new Promise((resolve) => {
        execFile(process.execPath, ['bin/conveyor.js', '--config', configFile, '--database', f.db.url, 'runs', ...args], { cwd: root, env }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    }
    const conveyor = (...args: string[]) => runsWith(cliConfig, ...args);
    const rowsOf = (stdout: string) => stdout.trim().split('\n').slice(1).filter((l) => !l.startsWith('more:'));

    it('list: newest first, filtered by flow and state, paged with the "more:" command; the same runs as GET /runs', async () => {
      const quick = [];
      for (let i = 0; i < 3; i++) quick.push((await runToEnd(f, 'quick', { order: i })).runId as string);
      const failed = (await runToEnd(f, 'fails', {})).runId as string;

      const first = await conveyor('list', '--flow', 'quick', '--limit', '2');
      assert.equal(first.code, 0, first.stderr);
      const lines = first.stdout.trim().split('\n');
      assert.match(lines[0]!, /^ID\s+FLOW\s+VERSION\s+STATE\s+CREATED\s+FINISHED\s+DURATION\s+ERROR$/);
      const api = (await f.call('GET', '/runs?flow=quick&limit=2')).json();
      assert.deepEqual(rowsOf(first.stdout).map((l) => l.split(/\s+/)[0]), api.runs.map((r: { runId: string }) => r.runId));
      assert.deepEqual(api.runs.map((r: { runId: string }) => r.runId), [quick[2], quick[1]]);
      assert.match(rowsOf(first.stdout)[0]!, new RegExp(`^${quick[2]}\\s+quick\\s+v1\\s+succeeded\\s+\\S+Z\\s+\\S+Z\\s+\\d+(\\.\\d)? m?s$`));
      assert.equal(lines.at(-1), `more: conveyor runs list --flow quick --limit 2 --before ${quick[1]}`);

      const next = await conveyor(...lines.at(-1)!.replace('more: conveyor runs ', '').split(' '));
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(rowsOf(next.stdout).map((l) => l.split(/\s+/)[0]), [quick[0]]);
      assert.doesNotMatch(next.stdout, /more:/, 'the last page has no hint');

      const failures = await conveyor('list', '--state', 'failed');
      assert.equal(failures.code, 0, failures.stderr);
      assert.equal(rowsOf(failures.stdout).length, 1);
      assert.match(rowsOf(failures.stdout)[0]!, new RegExp(`^${failed}\\s+fails\\s+v1\\s+failed\\s.*\\sboom: BAD_OPTIONS$`));

      const badState = await conveyor('list', '--state', 'done');
      assert.equal(badState.code, 1);
      assert.match(badState.stderr, /Allowed choices are queued, running, succeeded, failed, cancelled, dead/);
    });

    it('show: the run and every step attempt as text; --json is GET /runs/:id; an unknown run exits 1 saying what to do', async () => {
      const failed = (await runToEnd(f, 'fails', { order: 7 })).runId as string;
      const text = await conveyor('show', failed);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^run\\s+${failed}\\nflow\\s+fails v1\\nstate\\s+failed\\n`));
      assert.match(text.stdout, /\nerror\s+boom: BAD_OPTIONS http-request: options\.url must be an http\(s\) URL; filled in from the input it is ""/);
      assert.match(text.stdout, /\nrequest\s+\{"order":7\}\n/);
      assert.match(text.stdout, /\nSTEP\s+SEQ\s+ATTEMPT\s+STATE\s+MODULE\s+STARTED\s+DURATION\s+ERROR\nboom\s+1\s+1\s+failed\s+http-request\s+\S+Z\s+\d+ ms\s+BAD_OPTIONS: http-request: options\.url must be/);

      const quick = (await runToEnd(f, 'quick', { order: 8 })).runId as string;
      const json = await conveyor('show', quick, '--json');
      assert.equal(json.code, 0, json.stderr);
      const fromApi = await getRun(f, quick);
      assert.deepEqual(JSON.parse(json.stdout), fromApi);
      assert.deepEqual(fromApi.steps.map((s: { stepId: string; output: unknown }) => [s.stepId, s.output]), [['a', { n: 1 }], ['b', { done: true }]]);

      const paged = await conveyor('show', quick, '--step-limit', '1');
      assert.equal(paged.code, 0, paged.stderr);
      const { nextStepsAfter } = (await f.call('GET', `/runs/${quick}?stepLimit=1`)).json();
      assert.ok(nextStepsAfter);
      assert.match(paged.stdout, new RegExp(`\\nmore: conveyor runs show ${quick} --step-limit 1 --after-step ${nextStepsAfter}\\n$`));

      const unknown = await conveyor('show', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /Run 01ARZ3NDEKTSV4RRFFQ69G5FAV does not exist \(ended runs are kept \d+ days, flows\.retentionDays\); check the id against GET \/runs or `conveyor runs list`/);
      assert.equal(unknown.stdout, '');
    });

    it('replay: a new run from the step, that the hub runs to its end; refusals as the API', async () => {
      const old = (await runToEnd(f, 'quick', { order: 9 })).runId as string;
      const replay = await conveyor('replay', old, '--from', 'b');
      assert.equal(replay.code, 0, replay.stderr);
      const runId = replay.stdout.trim();
      assert.match(runId, /^[0-9A-Z]{26}$/);
      assert.match(replay.stderr, new RegExp(`run ${runId} replays run ${old} from step b`));
      assert.match(replay.stderr, /"msg":"flow run replayed by an operator"/);
      await eventually('the hub to run the replay to its end', async () => (await getRun(f, runId)).state === 'succeeded');
      const run = await getRun(f, runId);
      assert.deepEqual([run.replayOf, run.replayFrom], [old, 'b']);
      assert.deepEqual(run.steps.map((s: { stepId: string; state: string }) => [s.stepId, s.state]), [['a', 'reused'], ['b', 'succeeded']]);

      const unknownStep = await conveyor('replay', old, '--from', 'c');
      assert.equal(unknownStep.code, 1);
      assert.match(unknownStep.stderr, /fromStep: flow quick has no step "c"; its steps: a, b/);
      const missing = await conveyor('replay', old);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /required option '--from <stepId>' not specified/);
    });

    it('replay-failed: the newest failed run replayed from the step it failed at, as POST /flows/:id/replay; a page hint; twice replays nothing twice', async () => {
      const old = (await runToEnd(f, 'fails', { order: 11 })).runId as string;
      const first = await conveyor('replay-failed', '--flow', 'fails', '--limit', '1');
      assert.equal(first.code, 0, first.stderr);
      const row = new RegExp(`^([0-9A-Z]{26})\\s+${old}\\s+boom$`, 'm').exec(first.stdout);
      assert.ok(row, first.stdout);
      assert.match(first.stdout, /\n1 replayed, 0 skipped; a running hub's workers take the new runs within jobs\.pollIntervalMs \(50 ms\)\n/);
      assert.match(first.stdout, new RegExp(`\\nmore: conveyor runs replay-failed --flow fails --state failed --limit 1 --before ${old}\\n$`));
      assert.match(first.stderr, /"msg":"flow runs replayed in bulk by an operator"/);
      const run = await getRun(f, row[1]!);
      assert.deepEqual([run.replayOf, run.replayFrom], [old, 'boom']);
      // The replay fails as its run did (the same request); the old run is not replayed a second time.
      await eventually('the replay to end', async () => (await getRun(f, row[1]!)).state === 'failed');
      const again = await conveyor('replay-failed', '--flow', 'fails', '--limit', '2');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^${old}\\s+replayed already, as run ${row[1]}$`, 'm'));
    });

    it('cancel: a running run is cancelled, the hub aborts its module call and runs no later step; a second cancel exits 1', async () => {
      const { runId } = (await f.call('POST', '/flows/held/requests', { body: { order: 10 } })).json();
      const ofRun = () => target.seen.filter((s) => s.key.startsWith(`${runId}:`));
      await eventually('the hub to call /slow', () => ofRun().some((s) => s.path === '/slow'));

      const running = await conveyor('replay', runId, '--from', 'first');
      assert.equal(running.code, 1);
      assert.match(running.stderr, new RegExp(`Run ${runId} is running; replay an ended run \\(cancel it first\\)`));

      const cancel = await conveyor('cancel', runId);
      assert.equal(cancel.code, 0, cancel.stderr);
      assert.match(cancel.stdout, new RegExp(`^run ${runId} cancelled; `));
      assert.match(cancel.stderr, /"msg":"flow run cancelled by an operator"/);
      assert.match(cancel.stdout, kind === 'postgres' ? /aborts its module calls of the run now/ : /aborts its module calls of the run within 500 ms/);
      const slow = ofRun().find((s) => s.path === '/slow')!;
      // The hub heard of the cancel (PostgreSQL: the CLI's NOTIFY; SQLite: its poll of the runs it executes)
      // and closed its held request, long before the 30 s step timeout.
      await eventually('the held call to be aborted', () => slow.closed, 5000);
      await eventually('no step job left', async () => (await f.hub.ctx.db.selectFrom('jobs').select('id').where('task', '=', 'flows.step').execute()).length === 0);
      await new Promise((r) => setTimeout(r, 300)); // room for a wrong next step to show
      assert.deepEqual(ofRun().map((s) => s.path), ['/slow'], 'the step after the cancelled one is never called');
      const run = await getRun(f, runId);
      assert.deepEqual([run.state, run.error.code], ['cancelled', 'CANCELLED']);
      assert.match(run.error.message, /^cancelled on the command line by cli:/);
      // The history keeps the call that was made, cut short by the cancel.
      assert.deepEqual(run.steps.map((s: { stepId: string; state: string; error: { code: string } | null }) => [s.stepId, s.state, s.error?.code ?? null]), [
        ['first', 'succeeded', null],
        ['slow', 'failed', 'RUN_CANCELLED'],
      ]);
      const events = await f.hub.ctx.db.selectFrom('events').select('topic').where('entity_type', '=', 'flow_run').where('entity_id', '=', runId).orderBy('id').execute();
      assert.deepEqual(events.map((e) => e.topic), ['flow.run.started', 'flow.run.cancelled']);

      const again = await conveyor('cancel', runId);
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`Run ${runId} has already ended \\(cancelled\\); only a queued or running run can be cancelled`));
      const unknown = await conveyor('cancel', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /Run 01ARZ3NDEKTSV4RRFFQ69G5FAV does not exist/);
    });

    it('a command reads the flows the hubs registered, not the files: a broken or edited file and an unreachable module change nothing', async () => {
      const old = (await runToEnd(f, 'quick', { order: 11 })).runId as string;
      const versions = async () => (await f.hub.ctx.db.selectFrom('flow_versions').select(['flow_id', 'version']).orderBy('flow_id').orderBy('version').execute()).map((v) => `${v.flow_id}@${v.version}`);
      const before = await versions();
      // The folder as an operator may leave it mid-edit: quick.yaml changed (a step c the hub does not run), a broken file.
      const editedDir = join(cliDir, 'flows');
      mkdirSync(editedDir, { recursive: true });
      const quick = flowFiles(target.url)['quick.yaml'].replace('b: { subsystem: set, options: { values: { done: true } } }', 'b: { subsystem: set, next: [c] }\n  c: { subsystem: set }');
      writeFileSync(join(editedDir, 'quick.yaml'), quick);
      writeFileSync(join(editedDir, 'broken.yaml'), 'id: broken\nsteps:\n  a: { subsystem: no-such-module, next: [nowhere] }\n');
      const edited = join(cliDir, 'edited.yaml');
      // A NATS module at a port nothing listens on: a command must not try to reach it.
      writeFileSync(edited, ['demo: { seed: false }', `flows: { dir: ${JSON.stringify(editedDir)}, modules: { far: { transport: nats, servers: "nats://127.0.0.1:9" } } }`, ''].join('\n'));
      const withEdited = (...args: string[]) => runsWith(edited, ...args);

      const list = await withEdited('list', '--flow', 'quick', '--limit', '1');
      assert.equal(list.code, 0, list.stderr);
      assert.match(rowsOf(list.stdout)[0]!, new RegExp(`^${old}\\s+quick\\s+v1\\s+succeeded`));
      const notRun = await withEdited('replay', old, '--from', 'c');
      assert.equal(notRun.code, 1);
      assert.match(notRun.stderr, /fromStep: flow quick has no step "c"; its steps: a, b/, 'the version the hub runs, not the edited file');
      const replay = await withEdited('replay', old, '--from', 'b');
      assert.equal(replay.code, 0, replay.stderr);
      const runId = replay.stdout.trim();
      await eventually('the hub to run the replay to its end', async () => (await getRun(f, runId)).state === 'succeeded');
      const run = await getRun(f, runId);
      assert.equal(run.version, 1);
      assert.deepEqual(run.steps.map((s: { stepId: string }) => s.stepId), ['a', 'b']);
      assert.deepEqual(await versions(), before, 'a command registers no flow version');
    });

    if (kind === 'postgres') {
      it("a CLI command's hub opens no connection to hear run cancels (only the running hub's is there)", async () => {
        const listeners = async () =>
          (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'conveyor-listener'`.execute(f.hub.ctx.db)).rows[0]!.n;
        assert.equal(await listeners(), 1, 'the running hub listens');
        const config = loadConfig({ env: {}, overrides: { database: { url: f.db.url, poolSize: 1 }, log: { level: 'silent' }, demo: { seed: false }, flows: { dir: f.dir } } });
        let during = -1;
        await withHub(config, async () => void (during = await listeners()));
        assert.equal(during, 1);
      });
    }
  });
}
