// Values compiled into the bundle by src/pages/dashboard-bundle.ts (esbuild `define`).
import type { AmlStatus, KycStatus } from './types.js';

declare global {
  /** The server's state machines (src/customers/lifecycle.ts KYC_TRANSITIONS / AML_TRANSITIONS). */
  const __DASHBOARD_LIFECYCLE__: {
    kyc: Readonly<Record<KycStatus, readonly KycStatus[]>>;
    aml: Readonly<Record<AmlStatus, readonly AmlStatus[]>>;
  };
}
