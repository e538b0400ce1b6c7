// The gateway's logger: pino, one JSON line per entry on stderr (stdout carries the start-up
// banner and the demo key). Every line a request causes comes from a child logger carrying its
// `requestId` (front-door/exchange.ts). What must never be logged is kept out twice: callers
// log ids, never bodies, payloads or keys; and `redact` censors the known places where a
// secret could still slip in (an Authorization header, a connection_init payload, a secret).
import pino, { type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Paths censored in every line: request headers however they are nested, graphql-ws
 * connection_init payloads (`connectionParams`, `payload`), and anything named like a secret.
 */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'connectionParams',
  '*.connectionParams',
  'payload',
  '*.payload',
  'secret',
  '*.secret',
  'key',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'password',
  '*.password',
];

/** Where lines go: a function receiving each line (tests), a pino destination, or stderr. */
export type LogDestination = ((line: string) => void) | DestinationStream;

/** Creates the process logger at `level`; tests pass a function to capture the lines. */
export function createLogger(level: LogLevel, destination?: LogDestination): Logger {
  const options: LoggerOptions = {
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    hooks: {
      // Code written for the former logger calls log.info(msg, fields): keep those fields
      // (pino itself would drop an object that follows the message).
      logMethod(args, method) {
        const [first, second] = args;
        if (args.length === 2 && typeof first === 'string' && typeof second === 'object' && second !== null) {
          return method.apply(this, [second, first]);
        }
        return method.apply(this, args);
      },
    },
  };
  if (typeof destination === 'function') {
    const write = destination;
    return pino(options, { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) });
  }
  return pino(options, destination ?? pino.destination({ dest: 2, sync: true }));
}

/** The text of a thrown value for a log field, without its stack. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
