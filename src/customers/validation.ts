// Validation of the customer write input (SPEC sections 3, 4 and the PATCH row of section 6),
// driven by one declarative field spec. The same spec produces the JSON Schema used to document
// the REST route (`customerInputJsonSchema`), so validation and documentation cannot drift.
import { CustomerType } from '../generated/prisma/enums.js';
import type { FieldError } from '../lib/error-codes.js';
import { textLength, unstorableTextReason } from '../lib/text.js';

/** Which write the input is for: the upsert (POST / upsertCustomer) or the partial update (PATCH / updateCustomer). */
export type InputMode = 'upsert' | 'patch';

type Presence = 'required' | 'optional' | 'rejected';

interface BaseSpec {
  description: string;
  /** Per mode: must be sent, may be sent, or is refused with a field error. */
  presence: Record<InputMode, Presence>;
  /** `null` is accepted (its meaning is in the description). */
  nullable?: boolean;
}
interface StringSpec extends BaseSpec {
  kind: 'string';
  minLength: number;
  maxLength: number;
  format?: 'email';
  /** Surrounding whitespace is removed before checking and storing. */
  trim?: boolean;
}
interface EnumSpec extends BaseSpec {
  kind: 'enum';
  values: readonly string[];
}
interface BooleanSpec extends BaseSpec {
  kind: 'boolean';
}
interface ObjectSpec extends BaseSpec {
  kind: 'object';
  fields: Record<string, FieldSpec>;
}
export type FieldSpec = StringSpec | EnumSpec | BooleanSpec | ObjectSpec;

const ANY_MODE: Record<InputMode, Presence> = { upsert: 'optional', patch: 'optional' };
const UPSERT_ONLY: Record<InputMode, Presence> = { upsert: 'optional', patch: 'rejected' };

const RISK_FIELDS: Record<string, FieldSpec> = {
  isNewCustomer: {
    kind: 'boolean',
    presence: ANY_MODE,
    nullable: true,
    description: 'The customer is new to the business; null clears the answer.',
  },
  isDesignatedService: {
    kind: 'boolean',
    presence: ANY_MODE,
    nullable: true,
    description: 'The customer receives a designated service; null clears the answer.',
  },
  handlesCashOrCrypto: {
    kind: 'boolean',
    presence: ANY_MODE,
    nullable: true,
    description: 'The customer handles cash or crypto-assets; null clears the answer.',
  },
};

/** External ids are at most this long (the column is varchar(255)); nothing longer names a customer. */
export const EXTERNAL_ID_MAX_LENGTH = 255;

/** The write input of a customer, field by field (camelCase, as in REST bodies and GraphQL inputs). */
export const CUSTOMER_INPUT_SPEC: Record<string, FieldSpec> = {
  externalId: {
    kind: 'string',
    minLength: 1,
    maxLength: EXTERNAL_ID_MAX_LENGTH,
    presence: UPSERT_ONLY,
    nullable: true,
    description: "The caller's CRM id: unique per organisation, immutable once set; null is the same as leaving it out.",
  },
  type: {
    kind: 'enum',
    values: Object.values(CustomerType),
    presence: UPSERT_ONLY,
    nullable: true,
    description: 'INDIVIDUAL (default) or SOLE_TRADER; only used on creation, ignored on update.',
  },
  fullName: {
    kind: 'string',
    minLength: 1,
    maxLength: 255,
    trim: true,
    presence: { upsert: 'required', patch: 'optional' },
    description: 'Full name; frozen once KYC is VERIFIED (sending the same value is allowed).',
  },
  email: {
    kind: 'string',
    minLength: 3,
    maxLength: 255,
    format: 'email',
    trim: true,
    presence: { upsert: 'required', patch: 'optional' },
    description: 'Email; unique per organisation, compared case-insensitively; frozen once KYC is VERIFIED.',
  },
  phone: {
    kind: 'string',
    minLength: 1,
    maxLength: 32,
    trim: true,
    presence: ANY_MODE,
    nullable: true,
    description: 'Phone number (write-only, never returned); null clears it.',
  },
  risk: {
    kind: 'object',
    fields: RISK_FIELDS,
    presence: ANY_MODE,
    nullable: true,
    description: 'Risk answers (write-only, never returned); answers left out stay as they were.',
  },
};

/** Fields a client may read but never write: named in errors as read-only rather than unknown. */
const READ_ONLY_FIELDS = new Set([
  'id',
  'kycStatus',
  'kycStartedAt',
  'kycCompletedAt',
  'identity',
  'aml',
  'amlStatus',
  'addedVia',
  'createdAt',
  'updatedAt',
]);

export interface RiskInput {
  isNewCustomer?: boolean | null;
  isDesignatedService?: boolean | null;
  handlesCashOrCrypto?: boolean | null;
}

/** A valid upsert input, normalised (trimmed; null optional fields folded as described in the spec). */
export interface UpsertInput {
  externalId?: string;
  type?: CustomerType;
  fullName: string;
  email: string;
  /** null clears the phone. */
  phone?: string | null;
  risk?: RiskInput;
}

/** A valid partial update; fields left out stay unchanged. */
export interface PatchInput {
  fullName?: string;
  email?: string;
  phone?: string | null;
  risk?: RiskInput;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; fieldErrors: FieldError[] };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one value against its spec; returns the normalised value or pushes errors. */
function checkValue(spec: FieldSpec, path: string, value: unknown, mode: InputMode, errors: FieldError[]): unknown {
  if (value === null) {
    if (spec.nullable) return null;
    errors.push({ field: path, message: 'must not be null' });
    return undefined;
  }
  switch (spec.kind) {
    case 'string': {
      if (typeof value !== 'string') {
        errors.push({ field: path, message: 'must be a string' });
        return undefined;
      }
      const unstorable = unstorableTextReason(value);
      if (unstorable) {
        errors.push({ field: path, message: unstorable });
        return undefined;
      }
      const s = spec.trim ? value.trim() : value;
      const length = textLength(s);
      if (length < spec.minLength) {
        errors.push({ field: path, message: spec.minLength === 1 ? 'must not be empty' : `must be at least ${spec.minLength} characters` });
      } else if (length > spec.maxLength) {
        errors.push({ field: path, message: `must be at most ${spec.maxLength} characters` });
      } else if (spec.format === 'email' && !EMAIL.test(s)) {
        errors.push({ field: path, message: 'must be an email address' });
      } else {
        return s;
      }
      return undefined;
    }
    case 'enum':
      if (typeof value === 'string' && spec.values.includes(value)) return value;
      errors.push({ field: path, message: `must be one of ${spec.values.join(', ')}` });
      return undefined;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      errors.push({ field: path, message: 'must be a boolean' });
      return undefined;
    case 'object':
      if (!isPlainObject(value)) {
        errors.push({ field: path, message: 'must be an object' });
        return undefined;
      }
      return checkObject(spec.fields, value, mode, errors, `${path}.`);
  }
}

function checkObject(
  fields: Record<string, FieldSpec>,
  raw: Record<string, unknown>,
  mode: InputMode,
  errors: FieldError[],
  prefix = '',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    // Own properties only: a body key such as `constructor` or `__proto__` must not find
    // Object.prototype's members through the spec object.
    const spec = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!spec) {
      const readOnly = prefix === '' && READ_ONLY_FIELDS.has(key);
      errors.push({ field: prefix + key, message: readOnly ? 'is read-only' : 'is not a known field' });
    } else if (spec.presence[mode] === 'rejected') {
      errors.push({ field: prefix + key, message: 'cannot be changed after creation' });
    }
  }
  for (const [key, spec] of Object.entries(fields)) {
    const presence = spec.presence[mode];
    if (presence === 'rejected') continue;
    const value = Object.hasOwn(raw, key) ? raw[key] : undefined;
    if (value === undefined) {
      if (presence === 'required') errors.push({ field: prefix + key, message: 'is required' });
      continue;
    }
    const checked = checkValue(spec, prefix + key, value, mode, errors);
    if (checked !== undefined) out[key] = checked;
  }
  return out;
}

function validate(raw: unknown, mode: InputMode): Validated<Record<string, unknown>> {
  if (!isPlainObject(raw)) return { ok: false, fieldErrors: [{ field: 'input', message: 'must be an object' }] };
  const errors: FieldError[] = [];
  const value = checkObject(CUSTOMER_INPUT_SPEC, raw, mode, errors);
  if (errors.length > 0) return { ok: false, fieldErrors: errors };
  // externalId, type and risk: null means "not given".
  for (const key of ['externalId', 'type', 'risk']) if (value[key] === null) delete value[key];
  return { ok: true, value };
}

/** Validates an upsert body; returns the normalised input or every field error at once. */
export function validateUpsertInput(raw: unknown): Validated<UpsertInput> {
  return validate(raw, 'upsert') as Validated<UpsertInput>;
}

/** Validates a PATCH body (fullName, email, phone, risk); type, externalId and status fields are field errors. */
export function validatePatchInput(raw: unknown): Validated<PatchInput> {
  return validate(raw, 'patch');
}

type JsonSchema = Record<string, unknown>;

function fieldJsonSchema(spec: FieldSpec, mode: InputMode): JsonSchema {
  let schema: JsonSchema;
  let type: string;
  switch (spec.kind) {
    case 'string':
      type = 'string';
      schema = { minLength: spec.minLength, maxLength: spec.maxLength, ...(spec.format ? { format: spec.format } : {}) };
      break;
    case 'enum':
      type = 'string';
      schema = { enum: spec.nullable ? [...spec.values, null] : [...spec.values] };
      break;
    case 'boolean':
      type = 'boolean';
      schema = {};
      break;
    case 'object':
      type = 'object';
      schema = objectJsonSchema(spec.fields, mode);
      delete schema.type;
      break;
  }
  return { type: spec.nullable ? [type, 'null'] : type, ...schema, description: spec.description };
}

function objectJsonSchema(fields: Record<string, FieldSpec>, mode: InputMode): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, spec] of Object.entries(fields)) {
    if (spec.presence[mode] === 'rejected') continue;
    properties[key] = fieldJsonSchema(spec, mode);
    if (spec.presence[mode] === 'required') required.push(key);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/**
 * JSON Schema (the 2020-12 dialect of OpenAPI 3.1; no `$schema` key, so it drops into an
 * OpenAPI document or Ajv as is) of the customer write body, generated from the same spec the
 * validators run. Strings marked `trim` are trimmed before their checks, so the validators
 * accept surrounding spaces that a strict schema validator would count.
 */
export function customerInputJsonSchema(mode: InputMode): JsonSchema {
  return {
    title: mode === 'upsert' ? 'UpsertCustomerInput' : 'UpdateCustomerInput',
    ...objectJsonSchema(CUSTOMER_INPUT_SPEC, mode),
  };
}
