// Forks a server under benchmark (the gateway or the PostGraphile peer) as its own Node process
// and talks to it over IPC. Both run with the same Node flags, so neither gets a different heap
// or JIT budget.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Messages every benchmarked server process answers (bench/gateway-process.ts, bench/peer-process.ts). */
export type ServerRequest = { type: 'stats' } | { type: 'reset' } | { type: 'cpu' } | { type: 'stop' };

/** What the load generator can ask of any benchmarked server. */
export interface ServerHandle {
  /** Which server this is, for the report ("gateway", "PostGraphile"). */
  name: string;
  url: string;
  port: number;
  /** Statements the server sent to PostgreSQL since the last reset. */
  statements(): Promise<number>;
  resetStatements(): Promise<void>;
  /** The server process's CPU time so far (user + system, all its threads), microseconds. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Sends one request and waits for the reply of type `reply` (rejects if the server dies first). */
export function ask<T>(child: ChildProcess, request: ServerRequest, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type !== reply) return;
      child.off('message', on);
      child.off('exit', died);
      resolve(msg as T);
    };
    const died = (code: number | null, signal: string | null) => {
      child.off('message', on);
      reject(new Error(`server process exited (${signal ?? code}) before answering ${request.type}`));
    };
    if (child.exitCode !== null || child.signalCode !== null) return died(child.exitCode, child.signalCode);
    child.on('message', on);
    child.once('exit', died);
    child.send(request);
  });
}

/**
 * Forks `script` (relative to bench/) with the shared Node flags and waits for its `ready`
 * message. Its stderr goes to the file descriptor `stderr` when given (the gateway's log file).
 */
export async function forkServer(
  script: string,
  env: Record<string, string>,
  stderr?: number,
): Promise<{ child: ChildProcess; port: number }> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server there when it stops
  // (summarise it with bench/tools/profile-summary.ts).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = fork(fileURLToPath(new URL(`../${script}`, import.meta.url)), [], {
    // BENCH_NODE_FLAGS adds V8/Node flags to the servers (e.g. --max-semi-space-size=32).
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      '--max-old-space-size=4096',
      ...profile,
      ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', stderr ?? 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.on('message', (msg: { type: string; port?: number }) => {
      if (msg.type === 'ready' && msg.port !== undefined) resolve(msg.port);
    });
  });
  return { child, port };
}

/** Asks the server to stop, and kills it if it has not exited within 10 s. */
export function stopServer(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.send({ type: 'stop' } satisfies ServerRequest);
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** The CPU time of this process so far (user + system), microseconds: the reply to `cpu`. */
export function cpuReply(): { type: 'cpu'; micros: number } {
  const { user, system } = process.cpuUsage();
  return { type: 'cpu', micros: user + system };
}
