const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID; `{id}` parameters are UUIDs or external ids, told apart by this. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
