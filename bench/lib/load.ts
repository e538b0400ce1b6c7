// Load generators: autocannon for HTTP, and concurrent async loops for raw-pg baselines. Both
// report the same figures so that a scenario can print one as a ratio of the other.
import autocannon from 'autocannon';

export interface LoadResult {
  /** Completed operations per second over the measured window. */
  rps: number;
  /** Operations completed in the measured window. */
  total: number;
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
  /** Failed operations (transport errors, non-2xx, or a body the check refused). */
  errors: number;
}

/** Seconds of load per measurement (BENCH_DURATION, default 8). */
export const durationSeconds = Number(process.env.BENCH_DURATION ?? 8);
/** Seconds of unmeasured load before each measurement, for the JIT and the pools (BENCH_WARMUP, default 2). */
export const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 2);
/** Concurrent clients (BENCH_CONNECTIONS, default 32). */
export const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

export interface HttpLoad {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** The body of the next request, and its extra headers (called once per request). */
  next?: () => { body?: string; headers?: Record<string, string> };
  /** A fixed body, when every request is the same. */
  body?: string;
  /** Whether a 2xx body is a success (GraphQL answers 200 with errors inside). */
  verifyBody?: (body: string) => boolean;
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (error: Error | null, result) => (error ? reject(error) : resolve(result)));
  });
}

/** autocannon's options for `load` (without a duration). */
function optionsOf(load: HttpLoad): autocannon.Options {
  const request: autocannon.Request = {
    method: load.method,
    headers: load.headers,
    ...(load.body !== undefined ? { body: load.body } : {}),
    ...(load.next
      ? {
          setupRequest: (req: autocannon.Request) => {
            const n = load.next!();
            return { ...req, ...(n.body !== undefined ? { body: n.body } : {}), headers: { ...load.headers, ...n.headers } };
          },
        }
      : {}),
  };
  return {
    url: load.url,
    connections,
    requests: [request],
    ...(load.verifyBody ? { verifyBody: (body: string | Buffer | undefined) => load.verifyBody!(String(body ?? '')) } : {}),
  };
}

/**
 * One measured window, not yet aggregated (autocannon's `skipAggregateResult`): its counters,
 * and its latencies as an encoded histogram, so that several windows merge exactly.
 */
export interface HttpRound {
  url: string;
  raw: autocannon.Result;
}

/** Runs HTTP load: a warm-up, then one measured window (`onMeasureStart` runs between them). */
export async function httpRound(load: HttpLoad, onMeasureStart?: () => Promise<void>, seconds = durationSeconds): Promise<HttpRound> {
  const base = optionsOf(load);
  if (warmupSeconds > 0) await run({ ...base, duration: warmupSeconds });
  await onMeasureStart?.();
  return { url: load.url, raw: await run({ ...base, duration: seconds, skipAggregateResult: true }) };
}

// Exported by autocannon (README: "autocannon.aggregateResult"), missing from @types/autocannon.
// A plain function on the module object: it uses no `this`.
// eslint-disable-next-line @typescript-eslint/unbound-method
const { aggregateResult } = autocannon as typeof autocannon & {
  aggregateResult(results: autocannon.Result[], opts: autocannon.Options): autocannon.Result;
};

/**
 * The figures of one or more measured windows of the same load: throughput over their summed
 * durations, latency percentiles over every request of all of them (histograms merged).
 */
export function mergeRounds(rounds: readonly HttpRound[]): LoadResult {
  if (rounds.length === 0) throw new Error('mergeRounds: no round');
  const merged = aggregateResult(
    rounds.map((r) => r.raw),
    { url: rounds[0]!.url, connections },
  );
  const sum = (f: (r: autocannon.Result) => number) => rounds.reduce((acc, r) => acc + f(r.raw), 0);
  return {
    rps: sum((r) => r['2xx'] - r.mismatches) / sum((r) => r.duration),
    total: merged['2xx'] + merged.non2xx,
    p50: merged.latency.p50,
    p99: merged.latency.p99,
    errors: merged.errors + merged.timeouts + merged.non2xx + merged.mismatches,
  };
}

/** Runs HTTP load: a warm-up, then the measured window. */
export async function httpLoad(load: HttpLoad, onMeasureStart?: () => Promise<void>, seconds = durationSeconds): Promise<LoadResult> {
  return mergeRounds([await httpRound(load, onMeasureStart, seconds)]);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `concurrency` loops of `op` for a warm-up, then for the measured window. */
export async function loopLoad(concurrency: number, op: () => Promise<void>, seconds = durationSeconds): Promise<LoadResult> {
  const window = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    let firstError: unknown;
    const end = performance.now() + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          try {
            await op();
            if (record) latencies.push(performance.now() - t0);
          } catch (error) {
            errors += 1;
            firstError ??= error;
          }
        }
      }),
    );
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever op() threw: its String() is all there is
    if (firstError) console.warn(`  ${errors} failed operations; first: ${String(firstError)}`);
    return { latencies, errors };
  };
  if (warmupSeconds > 0) await window(warmupSeconds * 1000, false);
  const t0 = performance.now();
  const { latencies, errors } = await window(seconds * 1000, true);
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    total: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

export { percentile };

/**
 * The mean of a baseline measured before and after the measurements compared with it: on a
 * shared machine the load drifts during a run, and bracketing the gateway's measurements keeps
 * the ratio fair. The percentiles are the worse of the two.
 */
export function bracket(before: LoadResult, after: LoadResult): LoadResult {
  return {
    rps: (before.rps + after.rps) / 2,
    total: before.total + after.total,
    p50: Math.max(before.p50, after.p50),
    p99: Math.max(before.p99, after.p99),
    errors: before.errors + after.errors,
  };
}
