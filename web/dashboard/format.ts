// Dates and people as the page shows them.
import type { Actor } from './types.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const shortDateTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const numbers = new Intl.NumberFormat();

/** "1 customer", "1,204 customers". */
export function countOf(n: number, noun: string): string {
  return `${numbers.format(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** "2 Dec 2026, 10:00", or an em dash for a missing value. */
export function formatDateTime(iso: string | null): string {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

/** "2 Dec, 10:00" in the current year, else with the year (tables, where space is short). */
export function formatShortDateTime(iso: string): string {
  const date = new Date(iso);
  return date.getFullYear() === new Date().getFullYear() ? shortDateTime.format(date) : dateTime.format(date);
}

/** "10:00:05" (the feed: changes of today). */
export function formatTime(iso: string): string {
  return time.format(new Date(iso));
}

/** Who made a change, for the audit trail: never the key itself, only its label and id. */
export function formatActor(actor: Actor): string {
  switch (actor.kind) {
    case 'API_KEY':
      return actor.keyLabel ? `API key “${actor.keyLabel}”` : `API key ${shortId(actor.keyId)}`;
    case 'SYSTEM':
      return 'The gateway (system)';
    default:
      return 'Unknown (before the audit trail)';
  }
}

/** The first 8 characters of an id, enough to tell keys apart on screen. */
export function shortId(id: string | null): string {
  return id ? id.slice(0, 8) : '—';
}
