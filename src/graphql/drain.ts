// Subscriptions during a graceful shutdown (SPEC section 9): once the drain starts, running
// subscription streams end (an SSE client sees its stream complete and resumes with its last
// cursor on another instance) and new ones are refused with UNAVAILABLE (HTTP 503).
// graphql-ws connections are closed with 1001 by server.ts before the streams end, so their
// clients see "going away", not a completed subscription.
import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { GraphQLErrorCode } from './context.js';

/** Ends every subscription stream when `drain` aborts; refuses new subscriptions after it. */
export function endSubscriptionsOnDrain(drain: AbortSignal): Plugin {
  /** How to end each open stream (one entry per stream, removed when it ends). */
  const open = new Set<() => unknown>();
  drain.addEventListener(
    'abort',
    () => {
      for (const end of [...open]) void end();
    },
    { once: true },
  );
  return {
    onSubscribe({ setResultAndStopExecution }) {
      if (drain.aborted) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError('The gateway is shutting down; subscribe again (with after: <last cursor>) to resume.', {
              extensions: { code: GraphQLErrorCode.Unavailable, http: { status: 503, headers: { 'Retry-After': '1' } } },
            }),
          ],
        });
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(endable(result, open, drain));
        },
      };
    },
  };
}

/**
 * `source`, ended by its entry in `open` (the drain) or by return(). Either reaches the source
 * at once and settles a pending next() with done, even if the source would not (a subscriber
 * closing its socket must unsubscribe from the bus now; a Repeater.race, tried first, waited
 * for that next() and kept the subscriber). No Promise.race per next(): each race left a
 * reaction on the drain's promise until the drain, so a long-lived stream grew by one per event.
 */
function endable<T>(source: AsyncIterable<T>, open: Set<() => unknown>, drain: AbortSignal): AsyncIterableIterator<T> {
  const it = source[Symbol.asyncIterator]();
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  let finished = false;
  let settlePending: ((r: IteratorResult<T>) => void) | null = null;
  const end = () => {
    if (finished) return;
    finished = true;
    open.delete(end);
    const settle = settlePending;
    settlePending = null;
    settle?.(done);
    return it.return?.();
  };
  // A stream that started while the drain began ends at once, as one that was already open.
  if (drain.aborted) void end();
  else open.add(end);
  return {
    next() {
      if (finished) return Promise.resolve(done);
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        settlePending = resolve;
        it.next().then(
          (r) => {
            settlePending = null;
            if (r.done) void end();
            resolve(r);
          },
          (error: unknown) => {
            settlePending = null;
            void end();
            // The source's own rejection passes on unchanged, whatever it is (an iterator's contract).
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
            reject(error);
          },
        );
      });
    },
    async return() {
      await end();
      return done;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
