// Building blocks of the request schemas. Objects use `additionalProperties: false` together
// with ajv's `removeAdditional`: unknown fields (the docker CLI sends several we do not
// model) are dropped silently, as Go's JSON decoder ignores them, instead of reaching the
// store; the fields we do model are type-checked.

/** JSON Schema as plain data; fastify hands it to ajv. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export function object(properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema {
  return {
    type: 'object',
    properties,
    additionalProperties: false,
    ...(required.length > 0 ? { required: [...required] } : {}),
  };
}

export const string: JsonSchema = { type: 'string' };
export const boolean: JsonSchema = { type: 'boolean' };
/** Go int64: any integer (some, like TaskHistoryRetentionLimit, are meaningful when negative). */
export const int64: JsonSchema = { type: 'integer' };
/** Go uint32 / uint64: Go's decoder rejects negative numbers for these. */
export const uint32: JsonSchema = { type: 'integer', minimum: 0, maximum: 4294967295 };
export const uint64: JsonSchema = { type: 'integer', minimum: 0 };
export const stringList: JsonSchema = { type: 'array', items: string };
/** `map[string]string`: user labels, driver options. */
export const labels: JsonSchema = { type: 'object', additionalProperties: string };

export function oneOf(values: readonly string[]): JsonSchema {
  return { type: 'string', enum: [...values] };
}

/**
 * Query strings: every parameter we read must be a single value (a repeated parameter
 * arrives as an array and is refused); unknown parameters are ignored, as dockerd does.
 */
export function query(names: readonly string[]): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(names.map((n) => [n, string])),
    additionalProperties: true,
  };
}

/** Path parameter `{id}`: the ID, ID prefix or name of an object. */
export const idParams: JsonSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1 } },
  required: ['id'],
};
