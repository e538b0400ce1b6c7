// CPU time of the other parts of a measurement, read from Linux's /proc: the PostgreSQL server
// (every process named `postgres`: postmaster, backends, walwriter, checkpointer…), this load
// generator, and the whole machine. On a shared 2-core machine a cost moved from the gateway to
// PostgreSQL (or to the receiver in this process) still lowers throughput, so a scenario that
// compares costs reports all of them. Where /proc is missing (not Linux), every reading is null.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;
const MICROS_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

export interface CpuReading {
  /** CPU time of all `postgres` processes alive at the reading, µs (null: no /proc). */
  postgres: number | null;
  /** This process (the load generator and whatever runs in it, e.g. a webhook receiver), µs. */
  self: number;
  /** Busy time of the whole machine (all cores, not idle or iowait), µs (null: no /proc). */
  machine: number | null;
}

/** utime + stime of a process, in ticks, from /proc/<pid>/stat (fields after the comm's closing parenthesis). */
function processTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ")": state(3) … utime(14) stime(15), so index 11 and 12 here.
  return Number(fields[11]) + Number(fields[12]);
}

function postgresMicros(): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      ticks += processTicks(stat);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks * MICROS_PER_TICK;
}

function machineMicros(): number | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    const busy = cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
    return busy * MICROS_PER_TICK;
  } catch {
    return null;
  }
}

export function readCpu(): CpuReading {
  const own = process.cpuUsage();
  return { postgres: postgresMicros(), self: own.user + own.system, machine: machineMicros() };
}

/** `after − before`, per field (null stays null). */
export function cpuSpent(before: CpuReading, after: CpuReading): CpuReading {
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  return { postgres: diff(before.postgres, after.postgres), self: after.self - before.self, machine: diff(before.machine, after.machine) };
}

export function addCpu(a: CpuReading, b: CpuReading): CpuReading {
  const sum = (x: number | null, y: number | null) => (x === null || y === null ? null : x + y);
  return { postgres: sum(a.postgres, b.postgres), self: a.self + b.self, machine: sum(a.machine, b.machine) };
}

export const NO_CPU: CpuReading = { postgres: 0, self: 0, machine: 0 };
