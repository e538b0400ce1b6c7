// Side-by-side measurement of servers on the same machine: alternating rounds (A, B, A, B, …),
// one server under load at a time, each round with its own warm-up; per server, the rounds'
// requests are merged and its process CPU time over the measured windows is divided by them.
import type { ServerHandle } from './fork.js';
import { addCpu, cpuSpent, NO_CPU, readCpu, type CpuReading } from './cpu.js';
import { httpRound, mergeRounds, type HttpLoad, type HttpRound, type LoadResult } from './load.js';

/** Rounds per server in side-by-side comparisons (BENCH_PEER_ROUNDS, default 3; at least 2). */
export const peerRounds = Math.max(2, Number(process.env.BENCH_PEER_ROUNDS ?? 3));

export interface Contender {
  server: ServerHandle;
  load: HttpLoad;
  /** Runs before each of this contender's rounds (e.g. sets up the condition it measures). */
  before?: () => Promise<void>;
  /** Runs after each of this contender's rounds. */
  after?: () => Promise<void>;
}

export interface SideBySide extends LoadResult {
  /** Server process CPU (user + system, all threads) per completed request over the measured windows, µs. */
  cpuPerRequest: number;
  /** SQL statements the server sent per completed request. */
  statements: number;
  /** Throughput of each round, in order (to show the spread). */
  roundRps: number[];
  /** The rest of the machine per completed request over the measured windows, µs (bench/lib/cpu.ts). */
  otherCpuPerRequest: CpuReading;
}

/**
 * Measures each contender `rounds` times, alternating between them, and returns one merged
 * figure per contender (same order).
 */
export async function alternate(contenders: readonly Contender[], rounds = peerRounds): Promise<SideBySide[]> {
  const measured = contenders.map(() => ({ rounds: [] as HttpRound[], cpuMicros: 0, statements: 0, other: NO_CPU }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, { server, load, before, after }] of contenders.entries()) {
      await before?.();
      let cpuAtStart = 0;
      let otherAtStart = NO_CPU;
      const result = await httpRound(load, async () => {
        await server.resetStatements();
        cpuAtStart = await server.cpuMicros();
        otherAtStart = readCpu();
      });
      const other = cpuSpent(otherAtStart, readCpu());
      const cpuMicros = (await server.cpuMicros()) - cpuAtStart;
      const m = measured[i]!;
      m.rounds.push(result);
      m.cpuMicros += cpuMicros;
      m.other = addCpu(m.other, other);
      m.statements += await server.statements();
      await after?.();
    }
  }
  return measured.map((m) => {
    const merged = mergeRounds(m.rounds);
    const requests = Math.max(1, merged.total);
    return {
      ...merged,
      cpuPerRequest: m.cpuMicros / requests,
      otherCpuPerRequest: {
        postgres: m.other.postgres === null ? null : m.other.postgres / requests,
        self: m.other.self / requests,
        machine: m.other.machine === null ? null : m.other.machine / requests,
      },
      statements: m.statements / requests,
      roundRps: m.rounds.map((r) => mergeRounds([r]).rps),
    };
  });
}
