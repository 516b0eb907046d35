/** Wire shapes of the Roistat methods the sync uses (see /work/shared/reference/roistat-api.md §5–7). */

export interface RoistatClientRecord {
  /** The ERP customer id; Roistat's upsert key. Must stay stable forever. */
  id: string;
  name: string;
  phone?: string | null;
  email?: string | null;
  company?: string | null;
  /** `YYYY-MM-DD` */
  birth_date?: string | null;
  fields?: Record<string, string>;
}

export interface RoistatOrderRecord {
  /** The ERP deal id; Roistat's upsert key. */
  id: string;
  name?: string;
  /** UNIX seconds, or `YYYY-MM-DD HH:MM` read as UTC. Prefer UNIX time. */
  date_create?: number | string;
  /** A status id from the dictionary sent with setStatuses. */
  status?: string;
  /** The visit number (`roistat_visit` cookie) or a promo code. */
  roistat?: string;
  price?: string | number;
  cost?: string | number;
  /** The `id` previously sent to importClients. */
  client_id?: string;
  fields?: Record<string, string>;
  products?: Array<{ id?: string; name?: string; quantity?: number; price?: string | number }>;
}

export type RoistatStatusType = 'progress' | 'paid' | 'canceled';

export interface RoistatStatus {
  id: string;
  name: string;
  type: RoistatStatusType;
}

/** The tally add-orders answers with. `skipped_by_waiting_visit_info` is normal, not an error. */
export interface AddOrdersCounters {
  processed: number;
  saved: number;
  uploaded: number;
  skipped_by_status: number;
  skipped_by_waiting_visit_info: number;
  skipped_by_internal_error: number;
  skipped_because_not_changed: number;
  skipped_by_invalid_format: number;
  comment: string;
}

export const ADD_ORDERS_COUNTER_KEYS = [
  'processed',
  'saved',
  'uploaded',
  'skipped_by_status',
  'skipped_by_waiting_visit_info',
  'skipped_by_internal_error',
  'skipped_because_not_changed',
  'skipped_by_invalid_format',
] as const;
