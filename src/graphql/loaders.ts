// Per-request DataLoaders. Created by the context factory for each request (HTTP) or each
// operation (WebSocket) so that nothing cached leaks between callers.
import DataLoader from 'dataloader';
import type { Principal } from '../auth/api-keys.js';
import { loadHistories, type HistoryPage } from '../events/history.js';
import type { Services } from '../services.js';

/** One customer's history slice; loads with the same (first, before) batch into one statement. */
export interface HistoryKey {
  customerId: string;
  first: number;
  beforeId: bigint | null;
}

export interface Loaders {
  statusHistory: DataLoader<HistoryKey, HistoryPage, string>;
}

export function createLoaders(services: Services, principal: Principal | null): Loaders {
  return {
    statusHistory: new DataLoader<HistoryKey, HistoryPage, string>(
      async (keys) => {
        if (!principal) throw new Error('statusHistory needs an authenticated caller');
        // Group by the page arguments: one statement per distinct (first, before).
        const groups = new Map<string, HistoryKey[]>();
        for (const k of keys) {
          const g = `${k.first}:${k.beforeId ?? ''}`;
          groups.set(g, [...(groups.get(g) ?? []), k]);
        }
        const results = new Map<string, HistoryPage>();
        await Promise.all(
          [...groups.values()].map(async (ks) => {
            const { first, beforeId } = ks[0]!;
            const pages = await loadHistories(
              services.db.prisma,
              principal.orgId,
              [...new Set(ks.map((k) => k.customerId))],
              first,
              beforeId,
            );
            for (const k of ks) results.set(historyKey(k), pages.get(k.customerId)!);
          }),
        );
        return keys.map((k) => results.get(historyKey(k))!);
      },
      { cacheKeyFn: historyKey },
    ),
  };
}

function historyKey(k: HistoryKey): string {
  return `${k.customerId}:${k.first}:${k.beforeId ?? ''}`;
}
