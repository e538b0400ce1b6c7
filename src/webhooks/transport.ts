// One delivery attempt over HTTP (SPEC section 10): POST the signed body, 2xx within the
// timeout is success. Redirects are not followed (node:http never follows them; a 3xx is a
// failed attempt). The response body is read up to a small bound, and only a short excerpt of
// it is kept. The address policy is applied when connecting (see address-policy.ts).
import http from 'node:http';
import https from 'node:https';
import { AddressRefusedError, checkAddress, guardedLookup, ipLiteralOf, urlProblem, type NetworkPolicy } from './address-policy.js';

/** Bytes of a response body read at most; the rest is not read (the connection is dropped). */
const MAX_RESPONSE_BYTES = 4096;
/** Characters of the response kept in `last_error`. */
const EXCERPT_CHARS = 200;
const USER_AGENT = 'customer-gateway-webhooks/1';

export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  /** The receiver answered, but not 2xx (3xx included: redirects are not followed). */
  | { kind: 'http_error'; status: number; error: string }
  | { kind: 'timeout'; error: string }
  | { kind: 'network_error'; error: string }
  /** The URL or an address it resolves to is not allowed: nothing was sent. */
  | { kind: 'refused'; error: string };

export type AttemptOutcomeKind = AttemptOutcome['kind'];

export interface AttemptRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** Sends attempts over keep-alive connections (TLS handshakes are the cost of webhooks). */
export class WebhookTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly lookup;

  constructor(private readonly policy: NetworkPolicy) {
    this.lookup = guardedLookup(policy);
  }

  /** Makes one attempt; never throws (every failure is an outcome). */
  async attempt(req: AttemptRequest): Promise<AttemptOutcome> {
    const problem = urlProblem(req.url, this.policy);
    if (problem) return { kind: 'refused', error: `url ${problem}` };
    const url = new URL(req.url);
    const literal = ipLiteralOf(url);
    try {
      if (literal) checkAddress(literal, this.policy);
    } catch (error) {
      return { kind: 'refused', error: (error as Error).message };
    }
    const secure = url.protocol === 'https:';
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const options: http.RequestOptions = {
        method: 'POST',
        agent: secure ? this.httpsAgent : this.httpAgent,
        lookup: this.lookup,
        headers: {
          ...req.headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(req.body)),
          'user-agent': USER_AGENT,
        },
      };
      const request = (secure ? https : http).request(url, options, (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const excerpt = excerptOf(Buffer.concat(chunks).toString('utf8'));
          if (status >= 200 && status < 300) settle({ kind: 'delivered', status });
          else if (status >= 300 && status < 400) {
            settle({
              kind: 'http_error',
              status,
              error: `HTTP ${status}: redirect not followed (to ${excerptOf(String(res.headers.location ?? ''))})`,
            });
          } else settle({ kind: 'http_error', status, error: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}` });
        };
        res.on('data', (chunk: Buffer) => {
          const room = MAX_RESPONSE_BYTES - size;
          size += chunk.length;
          chunks.push(chunk.subarray(0, Math.max(0, room)));
          if (size > MAX_RESPONSE_BYTES) {
            // Bounded read: the receiver's answer is decided, the rest of its body is not ours to read.
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', finish);
        res.on('close', finish);
      });
      const timer = setTimeout(() => {
        settle({ kind: 'timeout', error: `no answer within ${req.timeoutMs} ms` });
        request.destroy();
      }, req.timeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof AddressRefusedError) settle({ kind: 'refused', error: error.message });
        else settle({ kind: 'network_error', error: excerptOf(`${error.code ?? 'error'}: ${error.message}`) });
      });
      request.end(req.body);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A short, printable excerpt (no control characters) for the delivery log. */
function excerptOf(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean.length > EXCERPT_CHARS ? `${clean.slice(0, EXCERPT_CHARS)}…` : clean;
}
