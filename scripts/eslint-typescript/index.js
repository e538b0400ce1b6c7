// typescript-eslint for the project's TypeScript (`npm run lint`, eslint.config.js).
//
// This folder is a local package (package.json beside this file) so that typescript-eslint gets
// the TypeScript 5 compiler API its type-aware rules are built on: the project's TypeScript 7
// ships none yet. Node resolves `typescript` from here, so the parser loads this package's
// TypeScript 5 while `tsc` (typecheck, build) stays on 7.
import tseslint from 'typescript-eslint';

export default tseslint;
