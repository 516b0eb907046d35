// The hub refuses to listen on a non-loopback address while Admin still has the default password,
// unless told otherwise loudly; `conveyor users passwd Admin` is the way out.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { client, freePort, runConveyor, spawnConveyor, stop, tempDir, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';

describe('default Admin password on a non-loopback address (real processes)', () => {
  const dir = tempDir();
  const cwd = dir.path;
  const running: ConveyorProcess[] = [];

  after(async () => {
    for (const p of running) await stop(p);
    dir.remove();
  });

  it('refuses --host 0.0.0.0 and names the fix', async () => {
    const port = await freePort();
    const { code, output } = await runConveyor(['start', '--no-demo', '--host', '0.0.0.0', '--port', String(port)], { cwd });
    assert.notEqual(code, 0, `exit code ${code}`);
    assert.match(output, /default password/i);
    assert.match(output, /conveyor users passwd Admin/);
    assert.match(output, /--allow-default-admin-password/);
    // It never listened.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });

  it('starts with --allow-default-admin-password and logs a loud warning', async () => {
    const port = await freePort();
    const hub = spawnConveyor(['start', '--no-demo', '--host', '0.0.0.0', '--port', String(port), '--allow-default-admin-password'], { cwd });
    running.push(hub);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(hub, baseUrl);
    const warning = hub
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => /DEFAULT PASSWORD/.test(l.msg));
    assert.ok(warning, `a warning about the default password in:\n${hub.output()}`);
    assert.ok(warning.level >= 40, 'logged at warn level or above');
    assert.equal((await client(baseUrl)('GET', '/clients?limit=1')).status, 200);
    await stop(hub);
  });

  it('after `users passwd Admin` (password on stdin) it starts on 0.0.0.0 without the flag', async () => {
    const newPassword = 'a-much-better-secret';
    const passwd = await runConveyor(['users', 'passwd', 'Admin'], { cwd, stdin: `${newPassword}\n` });
    assert.equal(passwd.code, 0, passwd.output);

    const port = await freePort();
    const hub = spawnConveyor(['start', '--no-demo', '--host', '0.0.0.0', '--port', String(port)], { cwd });
    running.push(hub);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(hub, baseUrl);
    assert.doesNotMatch(hub.output(), /DEFAULT PASSWORD/);
    assert.equal((await client(baseUrl, ['Admin', newPassword])('GET', '/clients?limit=1')).status, 200);
    const old = await client(baseUrl, ['Admin', 'admin'])('GET', '/clients?limit=1');
    assert.equal(old.status, 401);
    assert.equal(((await old.json()) as { error: string }).error, 'BAD_CREDENTIALS');
  });
});
