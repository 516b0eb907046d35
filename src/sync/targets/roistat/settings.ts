import type { Config } from '../../../platform/config/index.js';

// The Roistat sync's settings, read from the BGERP plugin document's keys (plugin.roistat.*,
// scheduler.task.<N>.*). checkRoistatConfig holds the rules that span keys, so that loadConfig lists
// them beside the schema's problems; resolveRoistatSettings turns a loaded config into plain settings.

export type RegistrarName = 'UpdatedClientRegistrar' | 'UpdatedOrderRegistrar' | 'ErrorClientRegistrar' | 'ErrorOrderRegistrar' | 'OrderStatusRegistrar';

export const REGISTRAR_NAMES: readonly RegistrarName[] = [
  'UpdatedClientRegistrar',
  'UpdatedOrderRegistrar',
  'ErrorClientRegistrar',
  'ErrorOrderRegistrar',
  'OrderStatusRegistrar',
];

export interface RegistrarSettings {
  taskId: string;
  registrar: RegistrarName;
  periodMs: number;
  syncIntervalHours: number;
}

export interface RoistatStatusSetting {
  id: string;
  name: string;
  type: 'progress' | 'paid' | 'canceled';
}

export interface RoistatSettings {
  enabled: boolean;
  project: string;
  apiKey: string;
  baseUrl: string;
  rateLimit: { perSecond: number; perHour: number };
  batchSize: number;
  historyDays: number;
  clients: {
    groups: number[] | null;
    provider: string /* 'common' or a module path */;
    common: { phone?: number; email?: number; company?: number; birthDate?: number; fields: Record<string, number> };
  };
  orders: { types: number[]; providerByType: Record<number, string> /* 'standard' or a module path */; resend: boolean };
  statuses: RoistatStatusSetting[]; // valid entries, ordered by numeric <n>
  registrars: RegistrarSettings[]; // enabled ones only
}

/** The BGERP class of each registrar; the short name is accepted too. */
const REGISTRAR_CLASSES: Record<RegistrarName, string> = {
  UpdatedClientRegistrar: 'ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar',
  UpdatedOrderRegistrar: 'ru.bgcrm.plugin.roistat.order.task.UpdatedOrderRegistrar',
  ErrorClientRegistrar: 'ru.bgcrm.plugin.roistat.client.task.ErrorClientRegistrar',
  ErrorOrderRegistrar: 'ru.bgcrm.plugin.roistat.order.task.ErrorOrderRegistrar',
  OrderStatusRegistrar: 'ru.bgcrm.plugin.roistat.order.status.task.OrderStatusRegistrar',
};

/** The document's default client details provider class: our built-in 'common'. */
export const COMMON_CLIENT_PROVIDER_CLASS = 'ru.bgcrm.plugin.roistat.client.provider.impl.CommonClientDetailsProvider';

/** Without any Roistat task under scheduler.task, every registrar runs with the document's defaults. */
export const DEFAULT_PERIOD_MS = 500;
export const DEFAULT_SYNC_INTERVAL_HOURS = 1;

const STATUS_TYPES = ['progress', 'paid', 'canceled'] as const;
const ROOT = 'plugin.roistat';

export function registrarOfClass(className: string): RegistrarName | undefined {
  const name = className.trim();
  return REGISTRAR_NAMES.find((r) => r === name || REGISTRAR_CLASSES[r] === name);
}

/** "1, 2,3", 7 or [1, 2] → ids; the parts that are not positive integers are returned as bad. */
export function parseIdList(value: unknown): { ids: number[]; bad: string[] } {
  const parts = Array.isArray(value) ? value.map(String) : typeof value === 'number' ? [String(value)] : typeof value === 'string' ? value.split(',') : [];
  const ids: number[] = [];
  const bad: string[] = [];
  for (const part of parts.map((p) => p.trim())) {
    if (part === '') continue; // "1,2," as people write it
    if (/^\d+$/.test(part) && Number(part) > 0) ids.push(Number(part));
    else bad.push(part);
  }
  return { ids: [...new Set(ids)], bad };
}

/** Rules that span keys; the schema has already checked each key's own shape. Returns every problem. */
export function checkRoistatConfig(tree: unknown): string[] {
  const problems: string[] = [];
  const roistat = at(tree, 'plugin', 'roistat');
  if (isObject(roistat)) {
    if (roistat.enabled === true) {
      if (roistat.project === undefined || roistat.project === '') problems.push(`${ROOT}.project: required when ${ROOT}.enabled is true`);
      if (roistat.apiKey === '') problems.push(`${ROOT}.apiKey: required when ${ROOT}.enabled is true (or set ROISTAT_API_KEY)`);
    }
    const project = roistat.project;
    if ((typeof project === 'string' && project !== '' && !/^\d+$/.test(project.trim())) || (typeof project === 'number' && project < 1)) {
      problems.push(`${ROOT}.project: must be the Roistat project number, got ${JSON.stringify(project)}`);
    }
    problems.push(...idListProblems(at(roistat, 'client', 'customer', 'groups'), `${ROOT}.client.customer.groups`, 'group'));
    problems.push(...providerProblems(at(roistat, 'client', 'details', 'provider'), `${ROOT}.client.details.provider`, "'common'"));
    problems.push(...orderProblems(roistat));
  }
  problems.push(...schedulerProblems(at(tree, 'scheduler', 'task')));
  return problems;
}

function idListProblems(value: unknown, key: string, what: string): string[] {
  const { bad } = parseIdList(value);
  if (bad.length === 0) return [];
  return [`${key}: ${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is not a' : 'are not'} ${what} id${bad.length === 1 ? '' : 's'}; expected positive integers separated by commas`];
}

/** A BGERP provider class cannot run here; say what to write instead. */
function providerProblems(value: unknown, key: string, builtIn: string): string[] {
  if (typeof value !== 'string') return [];
  if (value.trim() === '') return [`${key}: must be ${builtIn} or a module path`];
  if (value.trim() === COMMON_CLIENT_PROVIDER_CLASS || !looksLikeJavaClass(value.trim())) return [];
  return [`${key}: "${value}" is a Java class of BGERP; write ${builtIn} or the path of a module that exports the provider (e.g. ./providers/roistat.ts)`];
}

function looksLikeJavaClass(value: string): boolean {
  const parts = value.split('.');
  return parts.length >= 3 && /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$/.test(value) && /^[A-Z]/.test(parts[parts.length - 1]) && !/[/\\]/.test(value);
}

function orderProblems(roistat: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const typesKey = `${ROOT}.order.process.types`;
  const types = at(roistat, 'order', 'process', 'types');
  problems.push(...idListProblems(types, typesKey, 'deal type'));
  const general = nonEmpty(at(roistat, 'order', 'details', 'provider'));
  problems.push(...providerProblems(at(roistat, 'order', 'details', 'provider'), `${ROOT}.order.details.provider`, "'standard'"));
  const perType = at(roistat, 'order', 'type');
  if (isObject(perType)) {
    for (const [typeId, entry] of Object.entries(perType)) {
      problems.push(...providerProblems(at(entry, 'details', 'provider'), `${ROOT}.order.type.${typeId}.details.provider`, "'standard'"));
    }
  }
  for (const id of parseIdList(types).ids) {
    if (general || nonEmpty(at(perType, String(id), 'details', 'provider'))) continue;
    problems.push(
      `${ROOT}.order.type.${id}.details.provider: required when the type takes part (deal type ${id} is in ${typesKey}); or set ${ROOT}.order.details.provider for every type`,
    );
  }
  return problems;
}

function schedulerProblems(tasks: unknown): string[] {
  if (!isObject(tasks)) return [];
  const problems: string[] = [];
  const known = REGISTRAR_NAMES.map((r) => REGISTRAR_CLASSES[r]).join(', ');
  const runningBy = new Map<RegistrarName, string>();
  for (const [taskId, task] of Object.entries(tasks)) {
    const className = at(task, 'class');
    if (typeof className !== 'string' || className.trim() === '') {
      problems.push(`scheduler.task.${taskId}.class: required; known task classes: ${known}`);
      continue;
    }
    const registrar = registrarOfClass(className);
    if (!registrar) {
      problems.push(`scheduler.task.${taskId}.class: unknown task class "${className}"; known task classes: ${known} (short names work too)`);
      continue;
    }
    if (at(task, 'enable') === false) continue;
    const first = runningBy.get(registrar);
    if (first !== undefined) problems.push(`scheduler.task.${taskId}.class: ${registrar} is already configured by scheduler.task.${first}; a task class runs once`);
    else runningBy.set(registrar, taskId);
  }
  return problems;
}

/** Plain settings from a loaded (validated) config, and what was ignored or defaulted on the way. Pure. */
export function resolveRoistatSettings(config: Readonly<Config>): { settings: RoistatSettings; warnings: string[] } {
  const r = config.plugin.roistat;
  const warnings: string[] = [];
  const customer = r.client.details.common?.customer;
  const groups = r.client.customer?.groups;
  const types = parseIdList(r.order.process?.types).ids;

  const providerByType: Record<number, string> = {};
  for (const id of types) {
    const provider = nonEmpty(r.order.type?.[String(id)]?.details.provider) ?? nonEmpty(r.order.details?.provider);
    if (provider) providerByType[id] = provider.trim();
  }
  for (const typeId of Object.keys(r.order.type ?? {})) {
    if (!types.includes(Number(typeId))) {
      warnings.push(`${ROOT}.order.type.${typeId}.details.provider: deal type ${typeId} is not in ${ROOT}.order.process.types; ignored`);
    }
  }

  const settings: RoistatSettings = {
    enabled: r.enabled,
    project: r.project === undefined ? '' : String(r.project).trim(),
    apiKey: r.apiKey,
    baseUrl: r.baseUrl,
    rateLimit: { perSecond: r.rateLimit.perSecond, perHour: r.rateLimit.perHour },
    batchSize: r.batchSize,
    historyDays: r.historyDays,
    clients: {
      groups: groups === undefined || (typeof groups === 'string' && groups.trim() === '') ? null : parseIdList(groups).ids,
      provider: r.client.details.provider.trim() === COMMON_CLIENT_PROVIDER_CLASS ? 'common' : r.client.details.provider.trim(),
      common: {
        ...(customer?.phone !== undefined && { phone: customer.phone }),
        ...(customer?.email !== undefined && { email: customer.email }),
        ...(customer?.company !== undefined && { company: customer.company }),
        ...(customer?.birthDate !== undefined && { birthDate: customer.birthDate }),
        fields: { ...customer?.fields },
      },
    },
    orders: { types, providerByType, resend: r.order.resend.enabled },
    statuses: resolveStatuses(r.status ?? {}, warnings),
    registrars: resolveRegistrars(config.scheduler.task, warnings),
  };
  return { settings, warnings };
}

type StatusEntries = NonNullable<Config['plugin']['roistat']['status']>;

/** Entries without id or title are skipped (the document says so); a repeated id: the later <n> wins. */
function resolveStatuses(entries: StatusEntries, warnings: string[]): RoistatStatusSetting[] {
  const byId = new Map<string, { n: string; status: RoistatStatusSetting }>();
  const ordered = Object.entries(entries).sort(([a], [b]) => Number(a) - Number(b));
  for (const [n, entry] of ordered) {
    const key = `${ROOT}.status.${n}`;
    const id = text(entry.id);
    const name = text(entry.title);
    const missing = [id ? '' : 'id', name ? '' : 'title'].filter(Boolean);
    if (missing.length > 0) {
      warnings.push(`${key}: ignored, it has no ${missing.join(' and no ')}`);
      continue;
    }
    const given = text(entry.type);
    const type = STATUS_TYPES.find((t) => t === given?.toLowerCase()) ?? 'progress';
    if (given !== undefined && type !== given.toLowerCase()) warnings.push(`${key}.type: "${given}" is not one of ${STATUS_TYPES.join(', ')}; progress is used`);
    const earlier = byId.get(id!);
    if (earlier) {
      warnings.push(`${key}: status id "${id}" is also given by ${ROOT}.status.${earlier.n}; the later one (${key}) is used`);
      byId.delete(id!); // so the map's order stays the order of <n> of the entries that are used
    }
    byId.set(id!, { n, status: { id: id!, name: name!, type } });
  }
  return [...byId.values()].map((e) => e.status);
}

function resolveRegistrars(tasks: Config['scheduler']['task'], warnings: string[]): RegistrarSettings[] {
  const named = Object.entries(tasks)
    .map(([taskId, task]) => ({ taskId, task, registrar: task.class === undefined ? undefined : registrarOfClass(task.class) }))
    .filter((t): t is typeof t & { registrar: RegistrarName } => t.registrar !== undefined)
    .sort((a, b) => compareTaskIds(a.taskId, b.taskId));
  if (named.length === 0) {
    return REGISTRAR_NAMES.map((registrar) => ({ taskId: registrar, registrar, periodMs: DEFAULT_PERIOD_MS, syncIntervalHours: DEFAULT_SYNC_INTERVAL_HOURS }));
  }
  const running: RegistrarSettings[] = [];
  for (const { taskId, task, registrar } of named) {
    if (!task.enable || running.some((r) => r.registrar === registrar)) continue;
    running.push({ taskId, registrar, periodMs: task.period, syncIntervalHours: task.syncInterval });
  }
  const idle = REGISTRAR_NAMES.filter((name) => !running.some((r) => r.registrar === name));
  if (idle.length > 0) {
    warnings.push(`scheduler.task: these Roistat registrars are not configured or are disabled and will not run: ${idle.join(', ')}`);
  }
  return running;
}

const compareTaskIds = (a: string, b: string) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b));

function text(value: unknown): string | undefined {
  const s = value === undefined ? '' : String(value).trim();
  return s === '' ? undefined : s;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a key path, or undefined where the tree does not have that shape. */
function at(tree: unknown, ...path: string[]): unknown {
  let node = tree;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}
