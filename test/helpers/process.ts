// Runs the project's own entry points (CLI, server) as child processes, like a user would:
// TypeScript sources through tsx, and the gateway the way production starts it (`npm start`:
// the compiled dist/main.js, built first when stale).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = ['--import', 'tsx'];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
  /** The match of `ready` in the output. */
  match: RegExpMatchArray;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once the output matches `pattern` (the output so far included). */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
}

/** Runs a TypeScript entry point to completion. */
export function runTs(script: string, args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TSX, script, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a long-running command and resolves once its output matches `ready`. */
export function startProcess(
  command: string,
  args: string[],
  options: { env: Record<string, string>; ready: RegExp; cwd?: string },
): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } });
    let out = '';
    const watchers: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let started = false;
    const waitForOutput = (pattern: RegExp): Promise<RegExpMatchArray> => {
      const match = out.match(pattern);
      if (match) return Promise.resolve(match);
      return new Promise((r) => watchers.push({ pattern, resolve: r }));
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const w of [...watchers]) {
        const match = out.match(w.pattern);
        if (match) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(match);
        }
      }
      const match = started ? null : out.match(options.ready);
      if (match) {
        started = true;
        resolve({ child, output: () => out, match, exited, waitForOutput });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${out}`)));
  });
}

/** Starts a TypeScript entry point through tsx. */
export function startTs(script: string, env: Record<string, string>, ready: RegExp): Promise<Started> {
  return startProcess(process.execPath, [...TSX, script], { env, ready });
}

/** `npm start` in `cwd` (the project by default), exactly as an operator runs it. */
export function startNpm(env: Record<string, string>, ready: RegExp, cwd = ROOT): Promise<Started> {
  return startProcess('npm', ['start'], { env, ready, cwd });
}
