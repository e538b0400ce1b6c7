// PostgreSQL snapshots (`pg_snapshot` text "xmin:xmax:xip,...") and the opaque cursors of the
// status subscription. A cursor names the bus batch (S_prev, S_new] its event came in and
// the event id: PgQ's technique, safe against transactions that commit out of id order.
import { BIGINT_MAX, InvalidCursorError, decodeCursor, encodeCursor, parseBigintText } from '../lib/cursor.js';
import { isStorableInstant } from '../lib/time.js';

export interface PgSnapshot {
  readonly text: string;
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly xip: ReadonlySet<bigint>;
}

const SNAPSHOT = /^(\d{1,19}):(\d{1,19}):((?:\d{1,19}(?:,\d{1,19})*)?)$/;

/**
 * Parses the text form of a pg_snapshot; throws InvalidCursorError when malformed. Checks what
 * PostgreSQL's pg_snapshot input checks (1 ≤ xmin ≤ xmax, every xip in [xmin, xmax) and in
 * order) and that every xid fits the bigint the event log compares it with, so a snapshot
 * from a cursor can never fail in a statement.
 */
export function parseSnapshot(text: string): PgSnapshot {
  const m = SNAPSHOT.exec(text);
  if (!m) throw new InvalidCursorError();
  const xmin = BigInt(m[1]!);
  const xmax = BigInt(m[2]!);
  const xips = m[3] ? m[3].split(',').map((x) => BigInt(x)) : [];
  if (xmin < 1n || xmin > xmax || xmax > BIGINT_MAX) throw new InvalidCursorError();
  if (xips.some((x, i) => x < xmin || x >= xmax || (i > 0 && x < xips[i - 1]!))) throw new InvalidCursorError();
  return { text, xmin, xmax, xip: new Set(xips) };
}

/**
 * Whether a committed transaction's effects are visible in a snapshot: JS twin of
 * pg_visible_in_snapshot. (Only committed transactions' events are ever read, so "visible"
 * here means "had committed when the snapshot was taken".)
 */
function isVisible(txid: bigint, s: PgSnapshot): boolean {
  if (txid < s.xmin) return true;
  if (txid >= s.xmax) return false;
  return !s.xip.has(txid);
}

/** A decoded cursor: the event `id` delivered in the batch (prev, next]. */
export interface EventCursor {
  prev: PgSnapshot;
  next: PgSnapshot;
  id: bigint;
  /** occurred_at of the event (ms), to tell an expired cursor from a valid one. */
  at: number;
}

interface CursorDoc {
  p: string;
  c: string;
  i: string;
  t: number;
}

/** The opaque cursor of event `id` delivered in the batch (prev, next]. */
export function encodeEventCursor(prev: string, next: string, id: bigint, occurredAt: Date): string {
  return encodeCursor({ p: prev, c: next, i: id.toString(), t: occurredAt.getTime() } satisfies CursorDoc);
}

/**
 * Decodes a subscription cursor; throws InvalidCursorError when it is not one of ours: both
 * snapshots valid (parseSnapshot), the event id within bigint, the time a whole number of
 * milliseconds within the timestamps we accept.
 */
export function decodeEventCursor(cursor: string): EventCursor {
  return decodeCursor(cursor, (d) => {
    const id = parseBigintText(d.i);
    if (typeof d.p !== 'string' || typeof d.c !== 'string' || id === null) return null;
    if (typeof d.t !== 'number' || !isStorableInstant(d.t)) return null;
    return { prev: parseSnapshot(d.p), next: parseSnapshot(d.c), id, at: d.t };
  });
}

/**
 * Whether an event comes after a cursor (P, C, i): it was not yet committed in P, and either
 * not yet committed in C (a later batch) or in the same batch with a larger id.
 */
export function isAfterCursor(e: { txid: bigint; id: bigint }, c: EventCursor): boolean {
  return !isVisible(e.txid, c.prev) && (!isVisible(e.txid, c.next) || e.id > c.id);
}
