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
  const drained = new Promise<void>((resolve) => {
    if (drain.aborted) resolve();
    drain.addEventListener('abort', () => resolve(), { once: true });
  });
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
          if (isAsyncIterable(result)) setResult(endWhen(result, drained));
        },
      };
    },
  };
}

/**
 * `source`, ending when `ended` resolves. Its return() reaches the source at once, even while
 * a next() is pending (a subscriber closing its socket must unsubscribe from the bus now; a
 * Repeater.race, tried first, waits for that next() and kept the subscriber).
 */
function endWhen<T>(source: AsyncIterable<T>, ended: Promise<void>): AsyncIterableIterator<T> {
  const it = source[Symbol.asyncIterator]();
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  const endedResult = ended.then(() => done);
  let finished = false;
  const finish = async (): Promise<IteratorReturnResult<undefined>> => {
    if (!finished) {
      finished = true;
      await it.return?.();
    }
    return done;
  };
  return {
    async next() {
      if (finished) return done;
      const result = await Promise.race([it.next(), endedResult]);
      if (result.done) await finish();
      return result;
    },
    return: finish,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
