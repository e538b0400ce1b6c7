// One request as the front door sees it: an HTTP request, or one graphql-ws operation. It
// carries the request id and its child logger (every line the request causes has the id), and
// what the access line and the request metrics report once it ends: surface, route template or
// operation name, caller, GraphQL error codes, idempotent outcome.
import type { Principal } from '../auth/api-keys.js';
import type { Logger } from '../ops/logger.js';
import { Outcome, type IdempotencyResult, type Surface } from '../ops/metrics.js';

/** GraphQL codes that mean the gateway, not the client, failed. */
const SERVER_ERROR_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR', 'UNAVAILABLE']);

export class Exchange {
  readonly startedAt = performance.now();
  /** The verified caller, once known. */
  principal: Principal | null = null;
  /** Route template (`GET /api/v1/customers/{id}`) or bounded GraphQL operation name: the metric label. */
  operation: string;
  /** The path template (`/api/v1/customers/{id}`, `/graphql`): names the request's trace span. */
  route = '';
  /** A subscription: its lifetime is not a request duration. */
  stream = false;
  /** `extensions.code` of every GraphQL error sent. */
  readonly errorCodes: string[] = [];
  /** Writes answered from (or refused by) an idempotency key. */
  readonly idempotency: IdempotencyResult[] = [];
  private ended = false;

  constructor(
    readonly surface: Surface,
    readonly requestId: string,
    readonly log: Logger,
    operation: string,
  ) {
    this.operation = operation;
  }

  /** Records the codes of GraphQL errors sent to the client. */
  noteErrors(errors: readonly { extensions?: Record<string, unknown> | undefined }[] | undefined): void {
    for (const e of errors ?? []) {
      const code = e.extensions?.code;
      this.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
    }
  }

  /** Client or server failure, whatever the status: a 200 with a masked error is ours. */
  outcome(status: number): Outcome {
    if (status >= 500 || this.errorCodes.some((c) => SERVER_ERROR_CODES.has(c))) return Outcome.ServerError;
    if (status >= 400 || this.errorCodes.length > 0) return Outcome.ClientError;
    return Outcome.Ok;
  }

  /** Seconds since the exchange opened. */
  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** True the first time only: an exchange is reported once. */
  end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    return true;
  }
}
