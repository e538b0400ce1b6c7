// PostGraphile 5 targets Node 22 and calls Promise.withResolvers (Node ≥ 22); the bench runs on
// Node 20. Imported first by bench/peer-process.ts, before any PostGraphile module loads.
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const withResolvers = <T>(): Resolvers<T> => {
  let resolve!: Resolvers<T>['resolve'];
  let reject!: Resolvers<T>['reject'];
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const PromiseWith = Promise as PromiseConstructor & { withResolvers?: typeof withResolvers };
PromiseWith.withResolvers ??= withResolvers;

export {};
