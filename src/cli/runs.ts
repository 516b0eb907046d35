import { Option, type Command } from 'commander';
import { CANCEL_POLL_MS, cancelRun, replayRun, replayRuns, runDocument, runPage, RUN_STATES, STEP_PAGE, type RunState } from '../flows/index.js';
import type { Config } from '../platform/config/index.js';
import { actor, cut, iso, positive, table, withHub } from './common.js';

/**
 * `conveyor runs …`: flow runs from the command line, through the same functions as GET /runs,
 * GET /runs/:id, POST /runs/:id/cancel and /replay (src/flows/api/runs.ts), so the rules and refusals
 * are the API's. Refusals throw; main.ts prints them and exits 1.
 */
export function registerRunCommands(program: Command, config: () => Readonly<Config>): void {
  const runs = program.command('runs').description('see flow runs with their step history; cancel or replay one');
  runs
    .command('list')
    .description('runs, newest first')
    .option('--flow <id>', 'only runs of this flow')
    .addOption(new Option('--state <state>', 'only runs in this state').choices(RUN_STATES))
    .option('--limit <n>', 'at most this many (1 to 500)', positive('--limit'), 50)
    .option('--before <runId>', 'only runs older than this one (the next page)')
    .action((o: { flow?: string; state?: RunState; limit: number; before?: string }) => {
      if (o.limit > 500) throw new Error(`--limit must be at most 500, not ${o.limit}`);
      return withHub(config(), async ({ flows }) => {
        const page = await runPage(flows, o);
        const rows = page.runs.map((r) => [
          r.runId,
          r.flowId,
          `v${r.version}`,
          r.state,
          iso(r.createdAt),
          r.finishedAt === null ? '' : iso(r.finishedAt),
          r.durationMs === null ? '' : duration(r.durationMs),
          failure(r.error),
        ]);
        console.log(table(['ID', 'FLOW', 'VERSION', 'STATE', 'CREATED', 'FINISHED', 'DURATION', 'ERROR'], rows));
        const filters = `${o.flow ? ` --flow ${o.flow}` : ''}${o.state ? ` --state ${o.state}` : ''} --limit ${o.limit}`;
        if (page.next !== null) console.log(`more: conveyor runs list${filters} --before ${page.next}`);
      });
    });
  runs
    .command('show <runId>')
    .description('a run: state, request, error, timings and every attempt of every step')
    .option('--json', "print GET /runs/<runId>'s JSON document (step inputs and outputs included)")
    .option('--after-step <n>', 'only step records after this one (the next page)', positive('--after-step'))
    .option('--step-limit <n>', `at most this many step records (1 to 1000, default ${STEP_PAGE})`, positive('--step-limit'), STEP_PAGE)
    .action((runId: string, o: { json?: boolean; afterStep?: number; stepLimit: number }) => {
      if (o.stepLimit > 1000) throw new Error(`--step-limit must be at most 1000, not ${o.stepLimit}`);
      return withHub(config(), async ({ flows }) => {
        const doc = await runDocument(flows, runId, o.afterStep, o.stepLimit);
        if (o.json) return console.log(JSON.stringify(doc, null, 2));
        console.log(describeRun(doc));
        if (doc.nextStepsAfter !== null) {
          const limit = o.stepLimit === STEP_PAGE ? '' : ` --step-limit ${o.stepLimit}`;
          console.log(`more: conveyor runs show ${doc.runId}${limit} --after-step ${doc.nextStepsAfter}`);
        }
      });
    });
  runs
    .command('cancel <runId>')
    .description('cancel a queued or running run: module calls under way are aborted, no further step runs')
    .action((runId: string) =>
      withHub(config(), async ({ flows, ctx }) => {
        await cancelRun(flows, runId, `on the command line by ${actor()}`);
        ctx.log.warn({ runId, by: actor() }, 'flow run cancelled by an operator');
        // On PostgreSQL the cancel's NOTIFY reaches every hub process; on SQLite the hub polls (cancel-broadcast.ts).
        const reach = ctx.dialect.name === 'postgres' ? 'now' : `within ${CANCEL_POLL_MS} ms`;
        console.log(`run ${runId} cancelled; a running hub aborts its module calls of the run ${reach}, and no later step runs`);
      }),
    );
  runs
    .command('replay <runId>')
    .description("run an ended run again from a step, on its flow's current version, reusing the outputs of the steps before it")
    .requiredOption('--from <stepId>', 'the step to run again')
    .action((runId: string, o: { from: string }) =>
      withHub(config(), async ({ flows, ctx }) => {
        const replayed = await replayRun(flows, runId, o.from);
        ctx.log.warn({ runId: replayed.runId, replayOf: runId, fromStep: o.from, by: actor() }, 'flow run replayed by an operator');
        console.log(replayed.runId);
        console.error(
          `run ${replayed.runId} replays run ${runId} from step ${o.from}; a running hub's workers take it within jobs.pollIntervalMs (${ctx.config.jobs.pollIntervalMs} ms): conveyor runs show ${replayed.runId}`,
        );
      }),
    );
  runs
    .command('replay-failed')
    .description("replay a page of a flow's failed (or dead) runs, each from the step it failed at (or --from), oldest first; runs replayed already are skipped")
    .requiredOption('--flow <id>', 'the flow')
    .addOption(new Option('--state <state>', 'which ended runs').choices(['failed', 'dead']).default('failed'))
    .option('--from <stepId>', 'the step to run each again from (default: the step each failed at; dead runs need it)')
    .option('--limit <n>', 'at most this many runs looked at (1 to 500)', positive('--limit'), 100)
    .option('--before <runId>', 'only runs older than this one (the next page)')
    .action((o: { flow: string; state: 'failed' | 'dead'; from?: string; limit: number; before?: string }) => {
      if (o.limit > 500) throw new Error(`--limit must be at most 500, not ${o.limit}`);
      return withHub(config(), async ({ flows, ctx }) => {
        const result = await replayRuns(flows, { flow: o.flow, state: o.state, fromStep: o.from, limit: o.limit, before: o.before });
        ctx.log.warn({ flow: o.flow, replayed: result.replayed.length, skipped: result.skipped.length, by: actor() }, 'flow runs replayed in bulk by an operator');
        if (result.replayed.length > 0) console.log(table(['NEW RUN', 'REPLAY OF', 'FROM STEP'], result.replayed.map((r) => [r.runId, r.replayOf, r.fromStep])));
        if (result.skipped.length > 0) console.log(table(['SKIPPED', 'WHY'], result.skipped.map((s) => [s.runId, s.reason])));
        console.log(`${result.replayed.length} replayed, ${result.skipped.length} skipped; a running hub's workers take the new runs within jobs.pollIntervalMs (${ctx.config.jobs.pollIntervalMs} ms)`);
        const filters = ` --flow ${o.flow} --state ${o.state}${o.from ? ` --from ${o.from}` : ''} --limit ${o.limit}`;
        if (result.next !== null) console.log(`more: conveyor runs replay-failed${filters} --before ${result.next}`);
      });
    });
}

type RunDocument = Awaited<ReturnType<typeof runDocument>>;

function describeRun(r: RunDocument): string {
  const lines: [string, string][] = [
    ['run', r.runId],
    ['flow', `${r.flowId} v${r.version}`],
    ['state', r.state],
  ];
  if (r.replayOf) lines.push(['replay of', `${r.replayOf} from step ${r.replayFrom}`]);
  if (r.idempotencyKey) lines.push(['key', r.idempotencyKey]);
  lines.push(
    ['created', iso(r.createdAt)],
    ['started', r.startedAt === null ? '- (waiting in the intake buffer)' : iso(r.startedAt)],
    ['finished', r.finishedAt === null ? '-' : `${iso(r.finishedAt)} (${duration(r.durationMs ?? 0)})`],
  );
  const error = r.error as { step?: string; code?: string; message?: string } | null;
  if (error) lines.push(['error', `${failure(error)}${error.message ? ` ${cut(error.message, 300)}` : ''}`]);
  lines.push(['request', cut(JSON.stringify(r.request), 300)]);
  const head = lines.map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n');
  const steps = r.steps.map((s) => {
    const e = s.error as { code?: string; message?: string } | null;
    const timing = s.durationMs !== null ? duration(s.durationMs) : s.wakeAt !== null ? `wakes ${iso(s.wakeAt)}` : '';
    return [s.stepId, String(s.seq), String(s.attempt), s.state, s.module, iso(s.startedAt), timing, e ? cut(`${e.code}: ${e.message}`, 100) : ''];
  });
  return `${head}\n\n${table(['STEP', 'SEQ', 'ATTEMPT', 'STATE', 'MODULE', 'STARTED', 'DURATION', 'ERROR'], steps)}`;
}

/** "get-deal: NOT_FOUND" from a run's error `{ step, code, message }` (a cancel names no step). */
function failure(error: unknown): string {
  if (!error || typeof error !== 'object') return '';
  const { step, code } = error as { step?: string; code?: string };
  return `${step ? `${step}: ` : ''}${code ?? ''}`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1000)} s`;
}
