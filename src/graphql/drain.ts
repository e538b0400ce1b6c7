// Subscriptions during a graceful shutdown (SPEC section 9): once the drain starts, running
// subscription streams end (an SSE client sees its stream complete and resumes with its last
// cursor on another instance) and new ones are refused with UNAVAILABLE (HTTP 503).
// graphql-ws connections are closed with 1001 by server.ts before the streams end, so their
// clients see "going away", not a completed subscription.
import { GraphQLError } from 'graphql';
import { isAsyncIterable, Repeater, type Plugin } from 'graphql-yoga';
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
          if (isAsyncIterable(result)) setResult(Repeater.race([result, drained]));
        },
      };
    },
  };
}
