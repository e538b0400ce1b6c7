// Subscription fan-out, the execution half (Hasura's multiplexing idea): a live change is
// executed ONCE per distinct subscription — same document, operation, variables, organisation
// and scopes — and every subscriber of that group gets the same ExecutionResult object, so the
// transport can also serialise it once (front-door/websocket.ts). Without this, 10,000
// subscribers of one document cost 10,000 executions of the same selection set per change.
//
// It replaces the executor's subscribe function (Envelop's `setSubscribeFn`) with graphql-js's
// own two halves: `createSourceEventStream` runs the root field's `subscribe` (scope checks,
// arguments, the bus subscription) per subscriber, as before; each event is then executed
// through `execute`, memoised per (event object, group). Every other plugin hook
// (front door, drain, limits, tracing) still wraps each subscriber's stream as before.
//
// Sharing is safe because an event's result depends only on the group key: the event itself
// (the bus hands one object per change to all subscribers), the operation and its variables,
// and what the caller may see (organisation and scopes). Per-subscriber events (a replay
// after a cursor, the SUBSCRIBER_TOO_SLOW notice) are distinct objects, so they are never
// shared. A shared execution gets fresh DataLoaders, so nested reads (statusHistory) reflect
// the change rather than the first subscriber's cache.
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { GatewayContext } from './context.js';
import { createLoaders } from './loaders.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * A source stream that can also push its live events (the event bus's subscribers can): the
 * transport's fast path, with no promise per event (see BusSubscriber in events/bus.ts).
 */
interface PushSource<T> {
  attach(sink: (event: T) => void): void;
  resume(): void;
}

function isPushSource<T>(it: AsyncIterator<T>): it is AsyncIterator<T> & PushSource<T> {
  return 'attach' in it && typeof it.attach === 'function' && 'resume' in it && typeof it.resume === 'function';
}

/** The push side of one subscription's results (front-door/websocket.ts writes them to its socket). */
export interface LiveResults {
  /**
   * From now on, live results go to `write` one at a time, each after the previous one called
   * its `written`; everything else (replays, the slow-subscriber notice, the end) still comes
   * through the stream.
   */
  attach(write: (result: ExecutionResult, written: () => void) => void): void;
}

/** The push side of each subscription stream, by its context (one operation, one context). */
const liveByContext = new WeakMap<object, LiveResults>();

/** The push side of the subscription started with this context, if its source can push. */
export function liveResultsOf(contextValue: unknown): LiveResults | undefined {
  return typeof contextValue === 'object' && contextValue !== null ? liveByContext.get(contextValue) : undefined;
}

const isContext = (value: unknown): value is GatewayContext =>
  typeof value === 'object' && value !== null && 'services' in value && 'principal' in value && 'loaders' in value;

/** Results of live events, per group; an entry goes with its event object (WeakMap). */
const resultsByEvent = new WeakMap<object, Map<string, MaybePromise<ExecutionResult>>>();
const documentText = new WeakMap<DocumentNode, string>();

/** The document as text: the parsed source when it is kept (Yoga's parser keeps it), else printed once. */
function textOf(document: DocumentNode): string {
  let text = documentText.get(document);
  if (text === undefined) {
    text = document.loc?.source.body ?? print(document);
    documentText.set(document, text);
  }
  return text;
}

/** What an event's result may depend on besides the event: the group key. */
function subscriptionGroupKey(args: ExecutionArgs): string {
  const ctx = isContext(args.contextValue) ? args.contextValue : null;
  const principal = ctx?.principal ?? null;
  return JSON.stringify([
    textOf(args.document),
    args.operationName ?? null,
    args.variableValues ?? null,
    principal?.orgId ?? null,
    principal ? [...principal.scopes].sort() : null,
  ]);
}

/** The result of `event` for `group`, executed by the first subscriber of the group to ask. */
function sharedResult(event: unknown, group: string, run: () => MaybePromise<ExecutionResult>): MaybePromise<ExecutionResult> {
  if (typeof event !== 'object' || event === null) return run();
  let byGroup = resultsByEvent.get(event);
  if (!byGroup) resultsByEvent.set(event, (byGroup = new Map<string, MaybePromise<ExecutionResult>>()));
  let result = byGroup.get(group);
  if (!result) {
    result = run();
    byGroup.set(group, result);
  }
  return result;
}

/** `source` with each value mapped; return() reaches the source at once, even while a next() waits. */
function mapStream<T, R>(source: AsyncIterator<T>, map: (value: T) => MaybePromise<R>): AsyncIterableIterator<R> {
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  return {
    async next() {
      const r = await source.next();
      return r.done ? done : { done: false, value: await map(r.value) };
    },
    async return() {
      await source.return?.();
      return done;
    },
    async throw(error: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const group = subscriptionGroupKey(args);
  const ctx = args.contextValue;
  const resultOf = (event: unknown) =>
    sharedResult(event, group, () =>
      execute({
        ...args,
        rootValue: event,
        contextValue: isContext(ctx) ? { ...ctx, loaders: createLoaders(ctx.services, ctx.principal) } : ctx,
      }),
    );
  const it = source[Symbol.asyncIterator]();
  if (isPushSource(it) && typeof ctx === 'object' && ctx !== null) {
    liveByContext.set(ctx, {
      attach(write) {
        const written = () => it.resume();
        const settled = (result: ExecutionResult) => write(result, written);
        it.attach((event) => {
          const result = resultOf(event);
          if (!(result instanceof Promise)) return settled(result);
          // execute() rejects only on a failure of ours, not a field's: reported like one.
          result.then(settled, (error: unknown) =>
            settled({
              errors: [error instanceof GraphQLError ? error : new GraphQLError('Internal error', { originalError: asError(error) })],
            }),
          );
        });
      },
    });
  }
  return mapStream(it, resultOf);
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** Executes each live event once per group of identical subscriptions (see above). */
export function useSharedSubscriptionExecution(): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(sharedSubscribe);
    },
  };
}
