// Per-request DataLoaders. Created by the context factory for each request (HTTP) or each
// operation (WebSocket) so that nothing cached leaks between callers.
import type { Principal } from '../auth/api-keys.js';
import type { Services } from '../services.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Loaders {}

export function createLoaders(_services: Services, _principal: Principal | null): Loaders {
  return {};
}
