// The BGERP Roistat plugin's configuration keys (seed 000) load from a .properties file or YAML and
// resolve to the settings the sync runs with; every problem is listed at once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/platform/config/index.js';
import { REGISTRAR_NAMES, checkRoistatConfig, resolveRoistatSettings, type RoistatSettings } from '../../src/sync/targets/roistat/settings.js';

const dirs: string[] = [];
after(() => dirs.forEach((path) => rmSync(path, { recursive: true, force: true })));

function load(name: string, text: string, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'conveyor-roistat-'));
  dirs.push(cwd);
  writeFileSync(join(cwd, name), text);
  return loadConfig({ env, cwd, file: name });
}

const resolve = (name: string, text: string) => resolveRoistatSettings(load(name, text));

function problemsOf(name: string, text: string): string[] {
  try {
    load(name, text);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail('the configuration loaded');
}

const DOCUMENT_PROPERTIES = `
# The keys of the BGERP Roistat plugin document
plugin.roistat.enabled=true
plugin.roistat.project=12345
plugin.roistat.apiKey=secret-key
plugin.roistat.client.customer.groups=1, 2 ,3
plugin.roistat.client.details.provider=ru.bgcrm.plugin.roistat.client.provider.impl.CommonClientDetailsProvider
plugin.roistat.client.details.common.customer.phone=10
plugin.roistat.client.details.common.customer.email=11
plugin.roistat.client.details.common.customer.company=12
plugin.roistat.client.details.common.customer.birthDate=13
plugin.roistat.client.details.common.customer.fields.city=14
plugin.roistat.order.process.types=5, 6
plugin.roistat.order.details.provider=standard
plugin.roistat.order.type.6.details.provider=./providers/order.ts
plugin.roistat.status.2.id=paid
plugin.roistat.status.2.title=\\u041e\\u043f\\u043b\\u0430\\u0447\\u0435\\u043d
plugin.roistat.status.2.type=paid
plugin.roistat.status.1.id=new
plugin.roistat.status.1.title=New deal
scheduler.task.1.class=ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar
scheduler.task.1.period=250
scheduler.task.2.class=ErrorClientRegistrar
scheduler.task.2.syncInterval=2
scheduler.task.2.minutes=*/5
`;

const DOCUMENT_FLAT_YAML = `
plugin.roistat.enabled: true
plugin.roistat.project: "12345"
plugin.roistat.apiKey: secret-key
plugin.roistat.client.customer.groups: [1, 2, 3]
plugin.roistat.client.details.provider: ru.bgcrm.plugin.roistat.client.provider.impl.CommonClientDetailsProvider
plugin.roistat.client.details.common.customer.phone: 10
plugin.roistat.client.details.common.customer.email: 11
plugin.roistat.client.details.common.customer.company: 12
plugin.roistat.client.details.common.customer.birthDate: 13
plugin.roistat.client.details.common.customer.fields.city: 14
plugin.roistat.order.process.types: 5, 6
plugin.roistat.order.details.provider: standard
plugin.roistat.order.type.6.details.provider: ./providers/order.ts
plugin.roistat.status.2.id: paid
plugin.roistat.status.2.title: Оплачен
plugin.roistat.status.2.type: paid
plugin.roistat.status.1.id: new
plugin.roistat.status.1.title: New deal
scheduler.task.1.class: ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar
scheduler.task.1.period: 250
scheduler.task.2.class: ErrorClientRegistrar
scheduler.task.2.syncInterval: 2
scheduler.task.2.minutes: "*/5"
`;

const DOCUMENT_NESTED_YAML = `
plugin:
  roistat:
    enabled: true
    project: 12345
    apiKey: secret-key
    client:
      customer: {groups: "1,2,3"}
      details:
        provider: common
        common:
          customer: {phone: 10, email: 11, company: 12, birthDate: 13, fields: {city: 14}}
    order:
      process: {types: [5, 6]}
      details: {provider: standard}
      type:
        6: {details: {provider: ./providers/order.ts}}
    status:
      1: {id: new, title: New deal}
      2: {id: paid, title: Оплачен, type: paid}
scheduler:
  task:
    1: {class: UpdatedClientRegistrar, period: 250}
    2: {class: ru.bgcrm.plugin.roistat.client.task.ErrorClientRegistrar, syncInterval: 2, minutes: "*/5"}
`;

const EXPECTED: RoistatSettings = {
  enabled: true,
  project: '12345',
  apiKey: 'secret-key',
  baseUrl: 'https://cloud.roistat.com/api/v1',
  rateLimit: { perSecond: 5, perHour: 2500 },
  batchSize: 100,
  historyDays: 30,
  clients: { groups: [1, 2, 3], provider: 'common', common: { phone: 10, email: 11, company: 12, birthDate: 13, fields: { city: 14 } } },
  orders: { types: [5, 6], providerByType: { 5: 'standard', 6: './providers/order.ts' }, resend: false },
  statuses: [
    { id: 'new', name: 'New deal', type: 'progress' },
    { id: 'paid', name: 'Оплачен', type: 'paid' },
  ],
  registrars: [
    { taskId: '1', registrar: 'UpdatedClientRegistrar', periodMs: 250, syncIntervalHours: 1 },
    { taskId: '2', registrar: 'ErrorClientRegistrar', periodMs: 500, syncIntervalHours: 2 },
  ],
};

const NOT_RUNNING = 'scheduler.task: these Roistat registrars are not configured or are disabled and will not run: UpdatedOrderRegistrar, ErrorOrderRegistrar, OrderStatusRegistrar';

describe('Roistat settings from the document keys', () => {
  it('a .properties file on disk resolves to the document settings', () => {
    const { settings, warnings } = resolve('bgerp.properties', DOCUMENT_PROPERTIES);
    assert.deepEqual(settings, EXPECTED);
    assert.deepEqual(warnings, [NOT_RUNNING]);
  });

  it('the same keys in YAML, flat dotted and nested, resolve to the same settings', () => {
    assert.deepEqual(resolve('flat.yaml', DOCUMENT_FLAT_YAML), { settings: EXPECTED, warnings: [NOT_RUNNING] });
    assert.deepEqual(resolve('nested.yaml', DOCUMENT_NESTED_YAML), { settings: EXPECTED, warnings: [NOT_RUNNING] });
  });

  it('defaults: disabled, every registrar at 500 ms and 1 h, all clients, no deals, no statuses', () => {
    const { settings, warnings } = resolve('empty.properties', '# nothing set\n');
    assert.equal(settings.enabled, false);
    assert.equal(settings.clients.groups, null, 'unset groups = every client');
    assert.equal(settings.clients.provider, 'common');
    assert.deepEqual(settings.clients.common, { fields: {} });
    assert.deepEqual(settings.orders, { types: [], providerByType: {}, resend: false });
    assert.deepEqual(settings.statuses, []);
    assert.deepEqual(settings.rateLimit, { perSecond: 5, perHour: 2500 });
    assert.deepEqual(
      settings.registrars,
      REGISTRAR_NAMES.map((registrar) => ({ taskId: registrar, registrar, periodMs: 500, syncIntervalHours: 1 })),
    );
    assert.deepEqual(warnings, []);
  });

  it('a scheduler task gets period 500 and syncInterval 1 unless it says otherwise; disabled tasks do not run', () => {
    const { settings, warnings } = resolve(
      'tasks.properties',
      ['scheduler.task.a.class=OrderStatusRegistrar', 'scheduler.task.b.class=UpdatedOrderRegistrar', 'scheduler.task.b.enable=false'].join('\n'),
    );
    assert.deepEqual(settings.registrars, [{ taskId: 'a', registrar: 'OrderStatusRegistrar', periodMs: 500, syncIntervalHours: 1 }]);
    assert.deepEqual(warnings, [
      'scheduler.task: these Roistat registrars are not configured or are disabled and will not run: UpdatedClientRegistrar, UpdatedOrderRegistrar, ErrorClientRegistrar, ErrorOrderRegistrar',
    ]);
  });
});

describe('Roistat statuses', () => {
  it('skips entries without id or title with a warning; a bad type falls back to progress with a warning', () => {
    const { settings, warnings } = resolve(
      'statuses.properties',
      [
        'plugin.roistat.status.10.id=late',
        'plugin.roistat.status.10.title=Late',
        'plugin.roistat.status.2.title=No id',
        'plugin.roistat.status.3.id=no-title',
        'plugin.roistat.status.4.type=paid',
        'plugin.roistat.status.5.id=odd',
        'plugin.roistat.status.5.title=Odd type',
        'plugin.roistat.status.5.type=won',
        'plugin.roistat.status.6.id=c',
        'plugin.roistat.status.6.title=Cancelled',
        'plugin.roistat.status.6.type=canceled',
        'plugin.roistat.status.7.id=blank',
        'plugin.roistat.status.7.title=',
      ].join('\n'),
    );
    assert.deepEqual(settings.statuses, [
      { id: 'odd', name: 'Odd type', type: 'progress' },
      { id: 'c', name: 'Cancelled', type: 'canceled' },
      { id: 'late', name: 'Late', type: 'progress' },
    ]);
    assert.deepEqual(warnings, [
      'plugin.roistat.status.2: ignored, it has no id',
      'plugin.roistat.status.3: ignored, it has no title',
      'plugin.roistat.status.4: ignored, it has no id and no title',
      'plugin.roistat.status.5.type: "won" is not one of progress, paid, canceled; progress is used',
      'plugin.roistat.status.7: ignored, it has no title',
    ]);
  });

  it('a repeated status id: the later <n> wins, with a warning naming both', () => {
    const { settings, warnings } = resolve(
      'dup.yaml',
      'plugin.roistat.status:\n  1: {id: s, title: First}\n  2: {id: other, title: Other}\n  3: {id: s, title: Second, type: paid}\n',
    );
    assert.deepEqual(settings.statuses, [
      { id: 'other', name: 'Other', type: 'progress' },
      { id: 's', name: 'Second', type: 'paid' },
    ]);
    assert.deepEqual(warnings, ['plugin.roistat.status.3: status id "s" is also given by plugin.roistat.status.1; the later one (plugin.roistat.status.3) is used']);
  });
});

describe('Roistat configuration problems', () => {
  it('reports every semantic problem at once, beside the schema problems', () => {
    const problems = problemsOf(
      'bad.properties',
      [
        'plugin.roistat.enabled=true',
        'plugin.roistat.client.customer.groups=1, two, -3',
        'plugin.roistat.client.details.provider=ru.bgcrm.plugin.roistat.client.provider.impl.MyProvider',
        'plugin.roistat.order.process.types=4, 5',
        'plugin.roistat.order.type.4.details.provider=standard',
        'plugin.roistat.rateLimit.perSecond=11',
        'plugin.roistat.rateLimit.perHour=5001',
        'plugin.roistat.batchSize=abc',
        'scheduler.task.1.class=ru.bgcrm.plugin.fulltext.FullTextUpdate',
        'scheduler.task.2.class=UpdatedClientRegistrar',
        'scheduler.task.3.class=ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar',
        'scheduler.task.4.period=0',
      ].join('\n'),
    );
    const known =
      'ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar, ru.bgcrm.plugin.roistat.order.task.UpdatedOrderRegistrar, ru.bgcrm.plugin.roistat.client.task.ErrorClientRegistrar, ru.bgcrm.plugin.roistat.order.task.ErrorOrderRegistrar, ru.bgcrm.plugin.roistat.order.status.task.OrderStatusRegistrar';
    assert.deepEqual(problems.sort(), [
      'plugin.roistat.apiKey: required when plugin.roistat.enabled is true (or set ROISTAT_API_KEY)',
      'plugin.roistat.batchSize: must be integer (bad.properties:8)',
      'plugin.roistat.client.customer.groups: "two", "-3" are not group ids; expected positive integers separated by commas (bad.properties:2)',
      'plugin.roistat.client.details.provider: "ru.bgcrm.plugin.roistat.client.provider.impl.MyProvider" is a Java class of BGERP; write \'common\' or the path of a module that exports the provider (e.g. ./providers/roistat.ts) (bad.properties:3)',
      'plugin.roistat.order.type.5.details.provider: required when the type takes part (deal type 5 is in plugin.roistat.order.process.types); or set plugin.roistat.order.details.provider for every type',
      'plugin.roistat.project: required when plugin.roistat.enabled is true',
      'plugin.roistat.rateLimit.perHour: must be <= 5000 (bad.properties:7)',
      'plugin.roistat.rateLimit.perSecond: must be <= 10 (bad.properties:6)',
      `scheduler.task.1.class: unknown task class "ru.bgcrm.plugin.fulltext.FullTextUpdate"; known task classes: ${known} (short names work too) (bad.properties:9)`,
      'scheduler.task.3.class: UpdatedClientRegistrar is already configured by scheduler.task.2; a task class runs once (bad.properties:11)',
      `scheduler.task.4.class: required; known task classes: ${known}`,
      'scheduler.task.4.period: must be >= 1 (bad.properties:12)',
    ]);
  });

  it('a project that is not a number is a problem; empty items of an id list are not', () => {
    assert.deepEqual(problemsOf('p.yaml', 'plugin.roistat: {project: abc, order.process.types: "7,,"}\nplugin.roistat.order.details.provider: standard\n'), [
      'plugin.roistat.project: must be the Roistat project number, got "abc"',
    ]);
  });

  it('the same class twice is fine when one of the two is disabled', () => {
    const config = load('t.yaml', 'scheduler.task:\n  1: {class: ErrorOrderRegistrar, enable: false}\n  2: {class: ErrorOrderRegistrar, period: 100}\n');
    assert.deepEqual(resolveRoistatSettings(config).settings.registrars, [{ taskId: '2', registrar: 'ErrorOrderRegistrar', periodMs: 100, syncIntervalHours: 1 }]);
  });

  it('checkRoistatConfig reads a raw tree without throwing on wrong shapes', () => {
    assert.deepEqual(checkRoistatConfig(undefined), []);
    assert.deepEqual(checkRoistatConfig({ plugin: { roistat: 'x' }, scheduler: { task: [] } }), []);
    assert.deepEqual(checkRoistatConfig({ plugin: { roistat: { enabled: true, project: 1, apiKey: 'k', order: { process: { types: [3] } } } } }), [
      'plugin.roistat.order.type.3.details.provider: required when the type takes part (deal type 3 is in plugin.roistat.order.process.types); or set plugin.roistat.order.details.provider for every type',
    ]);
  });

  it('a provider for a deal type that is not listed is ignored with a warning', () => {
    const { settings, warnings } = resolve('o.yaml', 'plugin.roistat.order: {process.types: 1, details.provider: standard, type: {9: {details: {provider: ./x.ts}}}}\n');
    assert.deepEqual(settings.orders.providerByType, { 1: 'standard' });
    assert.deepEqual(warnings, ['plugin.roistat.order.type.9.details.provider: deal type 9 is not in plugin.roistat.order.process.types; ignored']);
  });
});
