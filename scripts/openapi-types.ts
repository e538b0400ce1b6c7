// `npm run openapi:types`: regenerates test/generated/rest-api.ts, the TypeScript types of the
// REST API, from the OpenAPI document the gateway serves (built from the route table exactly as
// the server builds it). Run it after changing src/rest/openapi.ts or src/rest/routes.ts.
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/rest/routes.js';
import { REST_API_TYPES_FILE, restApiTypes, type OpenAPI3 } from './openapi-typegen/index.js';

// The served JSON (GET /api/v1/openapi.json), not the in-memory object.
const served = JSON.parse(JSON.stringify(openApiDocument)) as OpenAPI3;
writeFileSync(REST_API_TYPES_FILE, await restApiTypes(served));
console.log(`wrote ${REST_API_TYPES_FILE}`);
