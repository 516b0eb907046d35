import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, redactConfig } from '../../src/platform/config/index.js';

const dirs: string[] = [];
const dir = () => {
  const path = mkdtempSync(join(tmpdir(), 'conveyor-config-'));
  dirs.push(path);
  return path;
};
after(() => dirs.forEach((path) => rmSync(path, { recursive: true, force: true })));

/** Loads one file from a fresh directory. */
function loadFile(name: string, text: string, env: Record<string, string> = {}) {
  const cwd = dir();
  writeFileSync(join(cwd, name), text);
  return loadConfig({ env, cwd, file: name });
}

/** The problems a load reports (fails the test when it loads). */
function problemsOf(name: string, text: string, env: Record<string, string> = {}): string[] {
  try {
    loadFile(name, text, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail('the configuration loaded');
}

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

  it('events.retentionDays: 7 days by default, 0 (keep every event) allowed, negative refused', () => {
    assert.equal(loadConfig({ env: {}, cwd: dir() }).events.retentionDays, 7);
    assert.equal(loadFile('conveyor.yaml', 'events:\n  retentionDays: 0\n').events.retentionDays, 0);
    const problems = problemsOf('conveyor.yaml', 'events:\n  retentionDays: -1\n');
    assert.deepEqual(problems.map((p) => p.split(':')[0]), ['events.retentionDays'], problems.join('\n'));
  });

  it('a fractional number where a whole one is needed is reported, not cut (YAML numbers too)', () => {
    const problems = problemsOf('conveyor.yaml', 'events:\n  retentionDays: 1.5\njobs:\n  maxAttempts: 2.5\n  concurrency: 4\n');
    assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), ['events.retentionDays', 'jobs.maxAttempts'], problems.join('\n'));
    assert.equal(loadFile('conveyor.yaml', 'jobs:\n  concurrency: 4\n').jobs.concurrency, 4);
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

describe('configuration: Java properties files', () => {
  it('reads comments, the three separators, continuations, \\u escapes and trims values', () => {
    const config = loadFile(
      'hub.properties',
      [
        '# a comment',
        '! another comment = not a key',
        '  http.host = 0.0.0.0   ',
        'http.port: 9001',
        'log.level warn',
        'plugin.roistat.client.customer.groups = 1, \\',
        '    2,\\',
        '    3',
        'plugin.roistat.status.1.id = new',
        'plugin.roistat.status.1.title = \\u041d\\u043e\\u0432\\u044b\\u0439',
        'plugin.roistat.project =',
        'jobs.enabled = false',
        '',
      ].join('\n'),
    );
    assert.equal(config.http.host, '0.0.0.0', 'surrounding whitespace is trimmed');
    assert.equal(config.http.port, 9001, '":" separator, converted to the schema type');
    assert.equal(config.log.level, 'warn', 'blank separator');
    assert.equal(config.plugin.roistat.client.customer?.groups, '1, 2,3', 'continuation lines are joined, their indentation dropped');
    assert.equal(config.plugin.roistat.status?.['1'].title, 'Новый', '\\u escapes');
    assert.equal(config.plugin.roistat.project, undefined, 'an empty value means the key is not set');
    assert.equal(config.jobs.enabled, false);
    assert.equal(Object.hasOwn(config, '!'), false, '! starts a comment');
  });

  it('keeps a value that only looks like a number as the string it is, where the schema allows strings', () => {
    const config = loadFile('hub.properties', 'plugin.roistat.project=0042\nplugin.roistat.apiKey=12345\n');
    assert.equal(config.plugin.roistat.project, '0042');
    assert.equal(config.plugin.roistat.apiKey, '12345');
  });

  it('names the key and the line of each bad value, all at once; no lossy conversion', () => {
    const problems = problemsOf(
      'hub.properties',
      ['http.port=eighty', 'jobs.concurrency=1.5', 'jobs.maxAttempts=0x10', 'demo.seed=yes', 'http.colour=red', 'auth.cacheTtlMs=-1', ''].join('\n'),
    );
    assert.deepEqual(problems.sort(), [
      'auth.cacheTtlMs: must be >= 0 (hub.properties:6)',
      'demo.seed: must be boolean (hub.properties:4)',
      'http.colour: unknown key (hub.properties:5)',
      'http.port: must be integer (hub.properties:1)',
      'jobs.concurrency: must be integer (hub.properties:2)',
      'jobs.maxAttempts: must be integer (hub.properties:3)',
    ]);
  });

  it('reports a malformed \\u escape with its line', () => {
    const problems = problemsOf('hub.properties', 'http.port=1\nhttp.host=\\uZZ12\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /hub\.properties line 2: .*\\uZZ12/);
  });

  it('a key given twice with different values names both lines; the same value twice is fine', () => {
    assert.deepEqual(problemsOf('hub.properties', 'http.port=1\nlog.level=warn\nhttp.port=2\n'), [
      'http.port: given twice with different values, as "http.port" (hub.properties:1) and as "http.port" (hub.properties:3)',
    ]);
    assert.equal(loadFile('hub.properties', 'http.port=7\nhttp.port=7\n').http.port, 7);
  });

  it('lists more than eight bad keys (TypeBox alone stops at eight)', () => {
    const keys = ['http.port', 'http.bodyLimitBytes', 'database.poolSize', 'auth.cacheTtlMs', 'auth.passwordHashCost', 'auth.maxFailuresPerUser', 'jobs.concurrency', 'jobs.pollIntervalMs', 'jobs.leaseMs', 'demo.clients'];
    const problems = problemsOf('hub.properties', keys.map((k) => `${k}=x`).join('\n'));
    assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), [...keys].sort());
  });
});

describe('configuration: dotted keys in YAML', () => {
  it('a dotted key is the nested key, and the two spellings merge', () => {
    const config = loadFile('hub.yaml', ['http.port: 9002', 'http:', '  host: 0.0.0.0', 'plugin.roistat:', '  enabled: false', '  rateLimit.perSecond: 3', ''].join('\n'));
    assert.equal(config.http.port, 9002);
    assert.equal(config.http.host, '0.0.0.0');
    assert.equal(config.plugin.roistat.rateLimit.perSecond, 3);
    assert.equal(config.plugin.roistat.rateLimit.perHour, 2500, 'defaults still fill the rest');
  });

  it('the same key with different values names both spellings; the same value is fine', () => {
    assert.deepEqual(problemsOf('hub.yaml', 'plugin.roistat.batchSize: 10\nplugin:\n  roistat:\n    batchSize: 20\n'), [
      'plugin.roistat.batchSize: given twice with different values, as "plugin.roistat.batchSize" and as "plugin: {roistat: {batchSize}}"',
    ]);
    assert.equal(loadFile('hub.yaml', 'http.port: 5\nhttp:\n  port: 5\n').http.port, 5);
  });

  it('a value where another spelling needs a section is a clash too', () => {
    assert.deepEqual(problemsOf('hub.yaml', 'http: {port.x: 1}\nhttp.port: 2\n'), [
      'http.port: given twice with different values, as "http: {port.x}" and as "http.port"',
    ]);
  });

  it('reports a key with an empty part', () => {
    assert.deepEqual(problemsOf('hub.yaml', 'http..port: 1\n'), ['"http..port": a key with an empty part (two dots in a row, or a dot at an end)']);
  });

  it('a type union names what it accepts', () => {
    assert.deepEqual(problemsOf('hub.yaml', 'plugin.roistat.client.customer.groups: {a: 1}\n'), [
      'plugin.roistat.client.customer.groups: must be a string, an integer or a list of integers',
    ]);
  });
});

describe('configuration: Roistat environment and secrets', () => {
  it('ROISTAT_API_KEY and ROISTAT_BASE_URL set the plugin keys and beat the file', () => {
    const config = loadFile('hub.properties', 'plugin.roistat.apiKey=from-file\n', { ROISTAT_API_KEY: '123456', ROISTAT_BASE_URL: 'http://127.0.0.1:1/api/v1' });
    assert.equal(config.plugin.roistat.apiKey, '123456', 'a numeric key stays a string');
    assert.equal(config.plugin.roistat.baseUrl, 'http://127.0.0.1:1/api/v1');
  });

  it('redactConfig masks the API key and database password, and changes nothing else', () => {
    const config = loadConfig({ env: { ROISTAT_API_KEY: 'very-secret', DATABASE_URL: 'postgres://u:pw@db/x' }, cwd: dir() });
    const printed = redactConfig(config);
    assert.equal(printed.plugin.roistat.apiKey, '***');
    assert.equal(printed.database.url, 'postgres://u:***@db/x');
    assert.ok(!JSON.stringify(printed).includes('very-secret'));
    assert.equal(config.plugin.roistat.apiKey, 'very-secret', 'the loaded config is untouched');
    const plain = loadConfig({ env: {}, cwd: dir() });
    assert.deepEqual(redactConfig(plain), JSON.parse(JSON.stringify(plain)), 'an empty key is not a secret');
  });

  it('a dot inside a remote module name is part of the name, not a nested key', () => {
    const file = join(dir(), 'modules.yaml');
    writeFileSync(file, 'flows:\n  modules:\n    bitrix24.find-contact:\n      transport: nats\n      servers: nats://127.0.0.1:4222\n');
    const config = loadConfig({ env: {}, file });
    assert.deepEqual(Object.keys(config.flows.modules), ['bitrix24.find-contact']);
    assert.equal(config.flows.modules['bitrix24.find-contact']!.transport, 'nats');
  });

  it('redactConfig masks remote flow module secrets and broker credentials', () => {
    const config = loadConfig({
      env: {},
      cwd: dir(),
      overrides: {
        flows: {
          modules: {
            pricing: { transport: 'http', url: 'http://pricing.local/run', secret: 'hmac-secret-1' },
            mailer: { transport: 'rabbitmq', url: 'amqp://bot:broker-pass@mq.local:5672' },
          },
        },
      },
    });
    const printed = JSON.stringify(redactConfig(config));
    assert.ok(!printed.includes('hmac-secret-1') && !printed.includes('broker-pass'), printed);
    assert.match(printed, /amqp:\/\/bot:\*\*\*@mq\.local:5672/);
    assert.match(printed, /http:\/\/pricing\.local\/run/);
  });
});
