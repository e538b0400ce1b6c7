// A REST client for tests, and a validator of responses against the served OpenAPI document.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { default as addFormatsModule } from 'ajv-formats';
import { expect } from 'vitest';

export interface RestResult {
  status: number;
  body: any;
  headers: Headers;
}

export async function rest(
  baseUrl: string,
  key: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RestResult> {
  const h: Record<string, string> = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: kept as text so the assertion shows it */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Validates REST responses against the OpenAPI document the server itself serves. */
export class OpenApiValidator {
  private readonly ajv: InstanceType<typeof Ajv2020>;
  constructor(private readonly doc: any) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: unknown) => void;
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
  }

  static async load(baseUrl: string): Promise<OpenApiValidator> {
    const res = await fetch(`${baseUrl}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    return new OpenApiValidator(await res.json());
  }

  /** Asserts that a response matches the documented schema of (method, path template, status). */
  check(method: string, pathTemplate: string, res: RestResult): void {
    const op = this.doc.paths[`/api/v1${pathTemplate}`]?.[method.toLowerCase()];
    expect(op, `${method} ${pathTemplate} is documented`).toBeDefined();
    const response = op.responses[String(res.status)];
    expect(response, `${method} ${pathTemplate} documents status ${res.status}`).toBeDefined();
    const schema = JSON.parse(
      JSON.stringify(response.content['application/json'].schema).replaceAll('"#/components', '"openapi#/components'),
    );
    const validate = this.ajv.compile(schema);
    const valid = validate(res.body);
    expect(valid ? [] : validate.errors, `${method} ${pathTemplate} ${res.status} matches the OpenAPI schema`).toEqual([]);
    expect(res.headers.get('x-request-id')).toMatch(/\S+/);
  }
}
