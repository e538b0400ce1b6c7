// GraphQL over HTTP: POST /graphql on this origin with the key in the Authorization header
// (never in the URL). Errors carry the gateway's `extensions.code`.

/** Codes the page reacts to (the gateway's GraphQLErrorCode), plus two of its own. */
export const ErrorCodes = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  RateLimited: 'RATE_LIMITED',
  Unavailable: 'UNAVAILABLE',
  CursorExpired: 'CURSOR_EXPIRED',
  SubscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
  /** The request never got an answer (network down, gateway stopped). */
  Network: 'NETWORK',
  /** An answer that is not a GraphQL response. */
  BadResponse: 'BAD_RESPONSE',
  /** The page signed out: this client sends nothing more. */
  Closed: 'CLOSED',
} as const;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export class GraphQLClient {
  private closed = false;

  constructor(
    private readonly key: string,
    /** Called when the gateway refuses the key (revoked, expired): the page signs out. */
    private readonly onUnauthenticated: () => void = () => {},
  ) {}

  /** Sign-out: nothing more is sent with this key (timers of the old page may still fire). */
  close(): void {
    this.closed = true;
  }

  /** Runs one operation; resolves with `data`, rejects with an ApiError. */
  async request<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    if (this.closed) throw new ApiError(ErrorCodes.Closed, 'Signed out.');
    let res: Response;
    try {
      res = await fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${this.key}`,
        },
        body: JSON.stringify({ query, variables }),
        credentials: 'omit',
        cache: 'no-store',
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(ErrorCodes.Network, 'The gateway cannot be reached. Check your connection.');
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await res.json()) as GraphQLResponse<T>;
    } catch {
      throw new ApiError(ErrorCodes.BadResponse, `The gateway answered HTTP ${res.status} without a GraphQL response.`);
    }
    const error = body.errors?.[0];
    if (error) {
      const code = error.extensions?.code ?? 'ERROR';
      if (code === ErrorCodes.Unauthenticated && !this.closed) this.onUnauthenticated();
      throw new ApiError(code, error.message);
    }
    if (!body.data) throw new ApiError(ErrorCodes.BadResponse, 'The gateway answered without data.');
    return body.data;
  }
}
