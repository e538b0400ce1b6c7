// `npm run build`, after tsc: writes the dashboard page (web/dashboard/, bundled with esbuild,
// the state machines compiled in from the just-built customers/lifecycle.js) to dist/dashboard/,
// where the compiled gateway serves it from. Run by scripts/build.mjs in a child process,
// because its build steps are synchronous.
import { writeDashboardBundle } from '../dist/pages/dashboard-bundle.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/build-dashboard.mjs <output directory>\n');
  process.exit(2);
}
try {
  const files = await writeDashboardBundle(dir);
  const bytes = files.reduce((sum, f) => sum + f.contents.length, 0);
  process.stderr.write(`dashboard: ${files.length} files, ${(bytes / 1024).toFixed(1)} KiB in ${dir}\n`);
} catch (error) {
  process.stderr.write(`the dashboard build failed: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
