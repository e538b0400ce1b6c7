// Builds the dashboard page (web/dashboard/, TypeScript + CSS) into a few static files with
// esbuild: the HTML shell, one script and one stylesheet (content-hashed names, so they can be
// cached for good) and the icon. The KYC / AML state machines are compiled in from
// customers/lifecycle.ts (the tables the server enforces), so the page's buttons and the
// server's rules have one source.
//
// Two callers: `npm run build` writes the files to dist/dashboard/ (scripts/build-dashboard.mjs,
// after tsc), and the server builds them in memory when it runs from the TypeScript sources
// (tests, `npm run dev`), so no test or developer ever serves a stale bundle. esbuild is a dev
// dependency: a deployment that ships dist/ never loads this module.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AML_TRANSITIONS, KYC_TRANSITIONS } from '../customers/lifecycle.js';

/** The page's sources (the same path from src/pages and dist/pages). */
export const DASHBOARD_SOURCE_DIR = fileURLToPath(new URL('../../web/dashboard/', import.meta.url));

/** The HTML shell: served at /dashboard, never cached without revalidation. */
export const DASHBOARD_INDEX = 'index.html';

/** The global the page reads the state machines from (declared in web/dashboard/env.d.ts). */
const LIFECYCLE_GLOBAL = '__DASHBOARD_LIFECYCLE__';

/** Placeholders of web/dashboard/index.html, replaced by the hashed asset URLs. */
const PLACEHOLDERS = { script: '%SCRIPT%', stylesheet: '%STYLESHEET%', icon: '%ICON%' } as const;

/** One built file: its name under /dashboard/ and its bytes. */
export interface BundleFile {
  name: string;
  contents: Uint8Array;
}

/** The browsers the page supports: those with native dialog, :focus-visible and ES2022. */
const TARGETS = ['chrome111', 'edge111', 'firefox111', 'safari16.4'];

/** Builds the page: index.html plus the hashed script, stylesheet and icon. */
export async function buildDashboardBundle(): Promise<BundleFile[]> {
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: DASHBOARD_SOURCE_DIR,
    entryPoints: { app: join(DASHBOARD_SOURCE_DIR, 'main.ts') },
    outdir: 'out',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    // The icon, referenced by the stylesheet, is copied under a hashed name.
    loader: { '.svg': 'file' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: TARGETS,
    minify: true,
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
    define: { [LIFECYCLE_GLOBAL]: JSON.stringify({ kyc: KYC_TRANSITIONS, aml: AML_TRANSITIONS }) },
  });
  const files: BundleFile[] = result.outputFiles.map((f) => ({ name: basename(f.path), contents: f.contents }));
  const find = (ext: string) => {
    const file = files.find((f) => f.name.endsWith(ext));
    if (!file) throw new Error(`the dashboard build produced no ${ext} file`);
    return file.name;
  };
  const html = readFileSync(join(DASHBOARD_SOURCE_DIR, DASHBOARD_INDEX), 'utf8')
    .replace(PLACEHOLDERS.script, `/dashboard/${find('.js')}`)
    .replace(PLACEHOLDERS.stylesheet, `/dashboard/${find('.css')}`)
    .replace(PLACEHOLDERS.icon, `/dashboard/${find('.svg')}`);
  files.push({ name: DASHBOARD_INDEX, contents: new TextEncoder().encode(html) });
  return files;
}

/** Builds the page into `dir` (emptied first), as `npm run build` does for dist/dashboard/. */
export async function writeDashboardBundle(dir: string): Promise<BundleFile[]> {
  const files = await buildDashboardBundle();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file.name), file.contents);
  return files;
}
