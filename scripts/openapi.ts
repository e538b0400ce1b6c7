// `tsx scripts/openapi.ts [file]`: writes the OpenAPI document that GET /api/v1/openapi.json
// serves, built from the route table exactly as the server builds it, to `file` (or stdout).
// `npm run lint:api` lints what it writes; nothing else reads it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { openApiDocument } from '../src/rest/routes.js';

const json = `${JSON.stringify(openApiDocument, null, 2)}\n`;
const file = process.argv[2];
if (file) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, json);
} else {
  process.stdout.write(json);
}
