// A bad config is reported whole, before anything is opened: every bad key at once, non-zero exit.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT, runConveyor, tempDir } from './fixtures/hub-process.js';

/** The "  - key: problem" lines of the error message. */
function problems(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('  - '))
    .map((l) => l.slice(4));
}

// The commands are independent and mostly wait for node to load: run them side by side.
describe('configuration errors (real processes)', { concurrency: true }, () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('lists an unknown key, a wrong type and an out-of-range value from conveyor.yaml at once', async () => {
    const cwd = join(dir.path, 'a');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'conveyor.yaml'), ['http:', '  port: eighty', '  hots: 0.0.0.0', 'databse:', '  url: sqlite:x.db', 'jobs:', '  concurrency: 0', ''].join('\n'));
    const { code, output } = await runConveyor(['start'], { cwd });
    assert.notEqual(code, 0);
    const list = problems(output);
    assert.match(output, /Invalid configuration/);
    assert.ok(list.some((p) => /^http\.port: .*integer/.test(p)), `http.port reported in:\n${output}`);
    assert.ok(list.includes('http.hots: unknown key'), `http.hots reported in:\n${output}`);
    assert.ok(list.includes('databse: unknown key'), `databse reported in:\n${output}`);
    assert.ok(list.some((p) => /^jobs\.concurrency: .*1/.test(p)), `jobs.concurrency reported in:\n${output}`);
    // Refused before any database was opened.
    assert.equal(existsSync(join(cwd, 'data')), false, 'no ./data was created');
  });

  it('reports a bad --config file and a bad environment variable together', async () => {
    const cwd = join(dir.path, 'b');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'hub.yaml'), 'http:\n  bodyLimitBytes: 10\n');
    const { code, output } = await runConveyor(['--config', 'hub.yaml', 'config'], { cwd, env: { PORT: 'not-a-port' } });
    assert.notEqual(code, 0);
    const list = problems(output);
    assert.ok(list.some((p) => p.startsWith('http.bodyLimitBytes:')), output);
    assert.ok(list.some((p) => p.startsWith('http.port:')), output);
  });

  it('a missing --config file is an error, not silently ignored', async () => {
    const { code, output } = await runConveyor(['--config', 'nope.yaml', 'config'], { cwd: dir.path });
    assert.notEqual(code, 0);
    assert.match(output, /nope\.yaml does not exist/);
  });

  // An enum (a union of literals) once produced a line per literal and TypeBox stops at 8 errors,
  // so one bad log.level used to hide the keys after it.
  it('lists every bad key once, even next to a bad log.level', async () => {
    const cwd = join(dir.path, 'c');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'conveyor.yaml'), ['log:', '  level: loud', 'http:', '  port: eighty', 'jobs:', '  concurrency: 0', 'demo:', '  clients: -1', ''].join('\n'));
    const { code, output } = await runConveyor(['config'], { cwd });
    assert.notEqual(code, 0);
    const keys = new Set(problems(output).map((p) => p.split(':')[0]));
    assert.deepEqual([...keys].sort(), ['demo.clients', 'http.port', 'jobs.concurrency', 'log.level']);
    assert.equal(problems(output).length, 4, `one line per bad key:\n${output}`);
  });

  it('conveyor.example.yaml names every key with its default value', async () => {
    const example = join(ROOT, 'conveyor.example.yaml');
    const defaults = await runConveyor(['config'], { cwd: dir.path });
    assert.equal(defaults.code, 0, defaults.output);
    const withExample = await runConveyor(['--config', example, 'config'], { cwd: dir.path });
    assert.equal(withExample.code, 0, withExample.output);
    // The file is valid, changes nothing, and leaves no key out.
    assert.deepEqual(JSON.parse(withExample.output), JSON.parse(defaults.output));
    assert.deepEqual(parseYaml(readFileSync(example, 'utf8')), JSON.parse(defaults.output));
  });
});
