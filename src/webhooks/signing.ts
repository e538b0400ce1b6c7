// Standard Webhooks signatures (SPEC section 10), computed with node:crypto: any Standard
// Webhooks verifier accepts our requests. The secret is `whsec_` + base64 of 32 random bytes;
// the HMAC key is those bytes, and the signed content is "{id}.{timestamp}.{body}".
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes (256 bits). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** `v1,<base64 HMAC-SHA256>` of one message under one secret. */
export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The headers that sign one attempt: every active secret signs it (space-separated while a rotation overlaps). */
export function signatureHeaders(secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  const signed = secrets.map((s) => signature(s, id, timestamp, body)).join(' ');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signed,
    // The platform's planned names (SPEC section 10), same values.
    'IC-Event-Id': id,
    'IC-Signature': signed,
  };
}
