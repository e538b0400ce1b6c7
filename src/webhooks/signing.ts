// Standard Webhooks signatures (SPEC section 10), computed with node:crypto: any Standard
// Webhooks verifier accepts our requests. The secret is `whsec_` + base64 of 32 random bytes;
// the HMAC key is those bytes, and the signed content is "{id}.{timestamp}.{body}".
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes (256 bits). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/**
 * The HMAC key of a secret, imported once: the sender signs every attempt of a batch with the
 * same secrets, and decoding and importing the key for each attempt cost as much as the HMAC.
 */
export function signingKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64'));
}

/** `v1,<base64 HMAC-SHA256>` of one message under one key. */
export function signature(key: KeyObject, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

/** The headers that sign one attempt: every active secret signs it (space-separated while a rotation overlaps). */
export function signatureHeaders(keys: readonly KeyObject[], id: string, timestamp: number, body: string): Record<string, string> {
  const signed = keys.map((k) => signature(k, id, timestamp, body)).join(' ');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signed,
    // The platform's planned names (SPEC section 10), same values.
    'IC-Event-Id': id,
    'IC-Signature': signed,
  };
}
