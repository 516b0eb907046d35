import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/platform/config/index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'conveyor-config-'));

describe('configuration', () => {
  it('has working defaults: embedded SQLite on port 8181, loopback only', () => {
    const config = loadConfig({ env: {}, cwd: dir() });
    assert.equal(config.http.port, 8181);
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.database.url, 'sqlite:./data/conveyor.db');
    assert.equal(config.http.allowDefaultAdminPassword, false);
  });

  it('layers file ← environment ← overrides', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'conveyor.yaml'), 'http:\n  port: 9000\n  host: 0.0.0.0\nlog:\n  level: debug\n');
    const config = loadConfig({ env: { PORT: '9100', DATABASE_URL: 'postgres://u:p@db/x' }, cwd, overrides: { log: { level: 'warn' } } });
    assert.equal(config.http.host, '0.0.0.0', 'from the file');
    assert.equal(config.http.port, 9100, 'environment beats the file');
    assert.equal(config.database.url, 'postgres://u:p@db/x');
    assert.equal(config.log.level, 'warn', 'overrides beat everything');
  });

  it('is frozen', () => {
    const config = loadConfig({ env: {}, cwd: dir() });
    assert.throws(() => {
      (config.http as { port: number }).port = 1;
    }, TypeError);
  });

  it('lists every bad key at once', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'bad.yaml'), 'http:\n  port: "eighty"\n  colour: red\njobs:\n  concurrency: 0\nunknownSection: {}\n');
    let error: ConfigError | undefined;
    try {
      loadConfig({ env: { LOG_LEVEL: 'loud' }, cwd, file: 'bad.yaml' });
    } catch (e) {
      error = e as ConfigError;
    }
    assert.ok(error instanceof ConfigError, 'a ConfigError is thrown');
    const text = error.problems.join('\n');
    assert.match(text, /http\.port/);
    assert.match(text, /http\.colour: unknown key/);
    assert.match(text, /jobs\.concurrency/);
    assert.match(text, /unknownSection: unknown key/);
    assert.match(text, /log\.level/);
    assert.ok(error.problems.length >= 5, error.message);
  });

  it('reports a config file that is missing or not YAML', () => {
    const cwd = dir();
    assert.throws(() => loadConfig({ env: {}, cwd, file: 'nope.yaml' }), /does not exist/);
    writeFileSync(join(cwd, 'broken.yaml'), 'http: [unclosed');
    assert.throws(() => loadConfig({ env: {}, cwd, file: 'broken.yaml' }), /not valid YAML/);
  });
});
