// `npm run build`: compiles src/ to dist/ (tsconfig.build.json), from scratch so that a
// source deleted since the last build leaves nothing behind, bundles the dashboard page
// (web/dashboard/ → dist/dashboard/, scripts/build-dashboard.mjs), then stamps the build.
// `node scripts/build.mjs --if-stale` (and the start launcher, through `ensureBuilt`) builds
// only when dist/ is missing or older than the sources. Builds take a lock, so processes
// started together (tests, two instances from one checkout) never build over each other.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(root, 'dist');
/** Written last by a successful build; its mtime is the build's. */
const STAMP = join(DIST, '.build-stamp');
/** What the build reads: a change to any of these makes dist/ stale. */
const INPUTS = ['src', 'web', 'tsconfig.json', 'tsconfig.build.json'];
/** A directory: mkdir is atomic, so whoever creates it builds. */
const LOCK = join(root, 'node_modules', '.cache', 'customer-gateway', 'build.lock');
/** A lock this old belongs to a build that died: taken over. */
const STALE_LOCK_MS = 5 * 60_000;

/** The newest modification time under `path` (a file or a directory tree). */
function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Why dist/ must be rebuilt, or null when it is up to date. */
export function staleReason() {
  if (!existsSync(STAMP) || !existsSync(join(DIST, 'main.js'))) return 'dist/ is missing';
  const built = statSync(STAMP).mtimeMs;
  const changed = INPUTS.find((input) => existsSync(join(root, input)) && newestMtime(join(root, input)) > built);
  return changed ? `${changed} changed since the last build` : null;
}

/** Compiles src/ to dist/ and bundles the dashboard; throws with the failing step's exit status. */
export function build() {
  let tsc;
  try {
    tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    throw new Error('TypeScript is not installed: run `npm install` (dev dependencies included), or ship a built dist/.');
  }
  rmSync(DIST, { recursive: true, force: true });
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`the build failed (tsc exited with ${result.status ?? result.signal})`);
  const page = spawnSync(process.execPath, [join(root, 'scripts', 'build-dashboard.mjs'), join(DIST, 'dashboard')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (page.status !== 0) throw new Error(`the dashboard build failed (exit ${page.status ?? page.signal})`);
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

/** Runs `fn` holding the build lock (waits for another build to finish first). */
function withLock(fn) {
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      // A synchronous pause: this runs before the gateway starts, nothing else is waiting.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Builds when dist/ is missing or older than the sources; says why on stderr. */
export function ensureBuilt() {
  if (!staleReason()) return;
  withLock(() => {
    // Another process may have built it while this one waited for the lock.
    const reason = staleReason();
    if (!reason) return;
    process.stderr.write(`Building dist/ (${reason})…\n`);
    build();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes('--if-stale')) ensureBuilt();
    else withLock(build);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
}
