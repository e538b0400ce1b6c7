/** The API key scopes of SPEC section 2, named once. */
export const Scope = {
  CustomersWrite: 'customers:write',
  CustomersRead: 'customers:read',
  AmlRead: 'aml:read',
  ComplianceWrite: 'compliance:write',
  /** Create, change, rotate, delete and inspect the organisation's webhook endpoints; never given by default. */
  WebhooksManage: 'webhooks:manage',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

export const ALL_SCOPES: readonly Scope[] = Object.values(Scope);

/** Scopes an integrator key gets when none are named; never compliance:write (back office only) nor webhooks:manage. */
export const DEFAULT_INTEGRATOR_SCOPES: readonly Scope[] = [Scope.CustomersRead, Scope.CustomersWrite];

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}
