import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagedJobQueue } from '../../src/platform/jobs/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { conveyor } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`conveyor jobs … (${kind})`, () => {
    let t: TestHub;
    before(async () => {
      t = await startTestHub(kind);
    });
    after(async () => t.close());

    const row = (id: number) => t.hub.ctx.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();

    it('lists the dead letters, shows one, retries it, deletes it; refusals exit 1 with the reason', async () => {
      const jobs = t.hub.ctx.jobs as ManagedJobQueue;
      // No process defines this task: the first claim parks it as dead.
      const { id } = await jobs.enqueue(t.hub.ctx.db, 'ops.cli-task', { order: 42 }, { key: 'order:42', maxAttempts: 1 });
      await jobs.enqueue(t.hub.ctx.db, 'ops.cli-later', { order: 43 }, { delayMs: 3_600_000 });
      assert.equal(await jobs.runOnce(), 1);
      assert.equal((await row(id!))?.state, 'dead');
      const url = t.db.url;

      const list = await conveyor(url, 'jobs', 'list', '--state', 'dead');
      assert.equal(list.code, 0, list.stderr);
      const lines = list.stdout.trim().split('\n');
      assert.equal(lines[0], 'queued 1, running 0, dead 1');
      assert.match(lines[1]!, /^ID\s+STATE\s+TASK\s+ATTEMPTS\s+RUN AT\s+KEY\s+LAST ERROR$/);
      assert.equal(lines.length, 3, 'only the dead job is listed');
      assert.match(lines[2]!, new RegExp(`^${id}\\s+dead\\s+ops\\.cli-task\\s+1/1\\s+\\S+Z\\s+order:42\\s+unknown task "ops\\.cli-task"`));

      const show = await conveyor(url, 'jobs', 'show', String(id));
      assert.equal(show.code, 0, show.stderr);
      const shown = JSON.parse(show.stdout);
      assert.deepEqual([shown.id, shown.state, shown.key, shown.payload], [id, 'dead', 'order:42', { order: 42 }]);

      const retry = await conveyor(url, 'jobs', 'retry', String(id));
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(retry.stdout, new RegExp(`job ${id} \\(ops\\.cli-task\\) is queued again`));
      assert.match(retry.stderr, /"msg":"dead job retried by an operator"/);
      assert.match(retry.stderr, /"by":"cli(:[^"]+)?"/);
      const queued = await row(id!);
      assert.deepEqual([queued?.state, Number(queued?.attempts), queued?.job_key], ['queued', 0, 'order:42']);

      const again = await conveyor(url, 'jobs', 'retry', String(id));
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`Job ${id} is queued, not dead; only dead jobs can be retried`));

      const del = await conveyor(url, 'jobs', 'delete', String(id));
      assert.equal(del.code, 0, del.stderr);
      assert.equal(del.stdout.trim(), `job ${id} deleted`);
      assert.equal(await row(id!), undefined);
    });
  });
}
