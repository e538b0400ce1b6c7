// Request bodies, read in full up to a limit (REST 64 KiB, GraphQL GRAPHQL_MAX_BODY_BYTES).
// On overflow the request is only paused, never destroyed: destroying it detaches the socket
// from a body still arriving, and the keep-alive connection then hangs. After the 413 the
// connection tracker discards the rest (http/connections.ts).
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';

/** The body is over the limit (the Content-Length said so, or the bytes received did). */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The body must not exceed ${maxBytes} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/** The client hung up (or sent less than its Content-Length) while sending: nothing to answer. */
export class ClientGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientGoneError';
  }
}

/** Reads the whole body, refusing more than `maxBytes` (declared or received). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  try {
    return await getRawBody(req, { limit: maxBytes, length: req.headers['content-length'] ?? null });
  } catch (error) {
    if (isRawBodyError(error) && error.type === 'entity.too.large') throw new BodyTooLargeError(maxBytes);
    throw new ClientGoneError(error instanceof Error ? error.message : String(error));
  }
}

function isRawBodyError(error: unknown): error is getRawBody.RawBodyError {
  return error instanceof Error && 'type' in error && typeof error.type === 'string';
}
