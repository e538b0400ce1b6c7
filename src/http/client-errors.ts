// Answers for requests that Node's HTTP parser refuses before any handler runs (oversized
// headers, a malformed request line or header, a request not received in time): the REST
// error envelope, an X-Request-Id, and `Connection: close`, as for every other answer
// (SPEC sections 6 and 9). Node's own answer has neither body nor request id.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../lib/error-codes.js';
import type { Logger } from '../ops/logger.js';
import { RestError } from '../rest/errors.js';

interface ClientErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  reason: string;
}

/** Which answer a parser error gets; null: no answer (the client hung up, or never sent a byte). */
export function answerFor(error: Error & { code?: string }, bytesRead: number): ClientErrorAnswer | null {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: ErrorCode.InvalidRequest,
        message: 'The request headers are too large.',
        reason: 'headers_too_large',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        code: ErrorCode.PayloadTooLarge,
        message: 'The chunk extensions are too large.',
        reason: 'chunk_extensions_too_large',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      // A socket that never sent a byte gets no answer: there is no request to answer.
      return bytesRead === 0
        ? null
        : { status: 408, code: ErrorCode.InvalidRequest, message: 'The request was not received in time.', reason: 'timeout' };
    default:
      return error.code?.startsWith('HPE_')
        ? { status: 400, code: ErrorCode.InvalidRequest, message: 'The request is not valid HTTP.', reason: 'malformed' }
        : null;
  }
}

/** The raw HTTP/1.1 response for an answer (the parser failed, so there is no ServerResponse). */
export function rawResponse(answer: ClientErrorAnswer, requestId: string): string {
  const body = JSON.stringify(new RestError(answer.code, answer.message, { reason: answer.reason }).body());
  return [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * The server's `clientError` listener. `responding(socket)` says whether a response already
 * started on that socket: raw bytes written then would corrupt it, so the socket is only closed.
 */
export function clientErrorListener(log: Logger, responding: (socket: Duplex) => boolean) {
  const answered = new WeakSet<Duplex>();
  return (error: Error & { code?: string }, socket: Duplex & { bytesRead?: number }): void => {
    // The parser may report more errors on a socket already answered.
    if (answered.has(socket)) return;
    answered.add(socket);
    const answer = answerFor(error, socket.bytesRead ?? 0);
    if (!answer || !socket.writable || responding(socket)) return void socket.destroy();
    const requestId = randomUUID();
    log.info({ requestId, status: answer.status, reason: answer.reason }, 'request refused by the HTTP parser');
    socket.end(rawResponse(answer, requestId), () => socket.destroy());
  };
}
