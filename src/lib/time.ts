// Timestamps a client sends (REST `updated_since`, the GraphQL `DateTime` scalar, the
// positions inside list cursors): one strict grammar and one range, so that every instant we
// accept is one PostgreSQL's timestamptz stores and JavaScript renders back unchanged.
//
// Grammar (ISO-8601 / RFC 3339 profile): `YYYY-MM-DD` (midnight UTC) or
// `YYYY-MM-DDThh:mm[:ss[.fraction]]` followed by `Z`, `±hh:mm` or `±hhmm`; without a zone the
// time is read as UTC (never as the server's local time). Calendar fields are checked (no
// 30 February, no hour 24); fractions beyond milliseconds are truncated, as timestamptz(3) would.
//
// Range: 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z, checked after applying the
// offset. PostgreSQL reaches further back (4713 BC) but has no year 0 — the ISO year 0000 that
// JavaScript accepts is refused (22008) — and JavaScript writes years past 9999 in an expanded
// `+YYYYYY` form that PostgreSQL does not read. Four-digit years are all a compliance record needs.

import { MS_PER_MINUTE } from './duration.js';

/** The earliest instant accepted. */
export const MIN_TIMESTAMP_MS = Date.parse('0001-01-01T00:00:00.000Z');
/** The latest instant accepted. */
export const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** What the grammar is, for error messages. */
export const TIMESTAMP_FORMAT =
  'an ISO-8601 timestamp between 0001-01-01 and 9999-12-31 (YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.sss]] with Z or ±hh:mm)';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))?)?$/;

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysInMonth = (year: number, month: number) => [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;

/** Parses a client's timestamp by the grammar above; null when malformed or out of range. */
export function parseTimestamp(text: string): Date | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  const at = d.getTime() - offsetMinutes * MS_PER_MINUTE;
  return isStorableInstant(at) ? new Date(at) : null;
}

/** True when an instant (epoch milliseconds) is within the accepted range. */
export function isStorableInstant(ms: number): boolean {
  return Number.isInteger(ms) && ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS;
}
