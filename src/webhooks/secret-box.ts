// Endpoint secrets at rest. The gateway must sign with them, so they cannot be hashed like API
// keys; with WEBHOOK_SECRET_KEY set they are encrypted with AES-256-GCM under a key derived
// from it (HKDF-SHA256), each with a random 96-bit IV and the row's id as additional data (a
// ciphertext copied onto another row does not decrypt). Without the variable they are stored
// as they are, marked so that setting the variable later still reads them.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const ENCRYPTED = 'enc:v1:';
const PLAIN = 'plain:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The stored secret cannot be read: encrypted while WEBHOOK_SECRET_KEY is unset, or under another key. */
export class SecretUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretUnavailableError';
  }
}

export class SecretBox {
  private readonly key: Buffer | null;

  /** `masterKey` is WEBHOOK_SECRET_KEY, or undefined to store secrets unencrypted. */
  constructor(masterKey: string | undefined) {
    this.key = masterKey ? Buffer.from(hkdfSync('sha256', masterKey, 'customer-gateway', 'webhook endpoint secrets v1', 32)) : null;
  }

  get encrypts(): boolean {
    return this.key !== null;
  }

  /** The stored form of a secret of the row `rowId`. */
  seal(secret: string, rowId: string): string {
    if (!this.key) return PLAIN + secret;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(rowId));
    const sealed = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return ENCRYPTED + sealed.toString('base64url');
  }

  /** The secret of a stored form; throws SecretUnavailableError when it cannot be decrypted. */
  open(stored: string, rowId: string): string {
    if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
    if (!stored.startsWith(ENCRYPTED)) throw new SecretUnavailableError('unknown secret format');
    if (!this.key) throw new SecretUnavailableError('the secret is encrypted and WEBHOOK_SECRET_KEY is not set');
    const sealed = Buffer.from(stored.slice(ENCRYPTED.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(rowId));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnavailableError('the secret does not decrypt with WEBHOOK_SECRET_KEY (was the key changed?)');
    }
  }
}
