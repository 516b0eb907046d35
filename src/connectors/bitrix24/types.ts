/** Wire shapes of the Bitrix24 REST methods the connector uses (see /work/shared/reference/bitrix24-api.md). */

/** The `time` block of every reply (reference §2, §8.3). Unix times are in seconds, as Bitrix24 sends them. */
export interface Bitrix24Time {
  start?: number;
  finish?: number;
  duration?: number;
  processing?: number;
  date_start?: string;
  date_finish?: string;
  /** Seconds this method consumed for this webhook/app over the last 10 minutes. */
  operating?: number;
  /** When the oldest minute of `operating` drops out: the earliest useful retry after OPERATION_TIME_LIMIT. */
  operating_reset_at?: number;
}

/** A successful reply. List methods add `total` and, when more rows exist, `next` (the next `start`). */
export interface Bitrix24Reply<T = unknown> {
  result: T;
  total?: number;
  next?: number;
  time?: Bitrix24Time;
}

/** One page of a list method. */
export interface Bitrix24Page<T> {
  items: T[];
  /** Absent when the list was read with `start: -1` (no count, reference §8.1). */
  total?: number;
  next?: number;
}

/** A PHONE / EMAIL / WEB / IM value as read back (`{ID, TYPE_ID, VALUE, VALUE_TYPE}`). */
export interface Bitrix24MultiField {
  ID?: string;
  TYPE_ID?: string;
  VALUE: string;
  VALUE_TYPE?: string;
}

/** CRM rows keep their documented UPPER_CASE keys; ids and numbers arrive as strings. */
export type Bitrix24Entity = Record<string, unknown> & { ID: string };

export interface Bitrix24Contact extends Bitrix24Entity {
  NAME?: string | null;
  LAST_NAME?: string | null;
  PHONE?: Bitrix24MultiField[];
  EMAIL?: Bitrix24MultiField[];
}

export interface Bitrix24Deal extends Bitrix24Entity {
  TITLE?: string | null;
  STAGE_ID?: string | null;
  CATEGORY_ID?: string | null;
  CONTACT_ID?: string | null;
  OPPORTUNITY?: string | null;
}

/** `crm.*.list` parameters. Filter keys may carry the documented prefixes (`=`, `!`, `>`, `%`, `@`, ...). */
export interface Bitrix24ListParams {
  filter?: Record<string, unknown>;
  select?: string[];
  order?: Record<string, 'ASC' | 'DESC'>;
}

/** The subset of a pino logger the client uses. */
export interface Bitrix24Log {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
