// `viewer`: who the caller is (its organisation and its key's scopes).
import type { Principal } from '../../auth/api-keys.js';
import { builder } from '../builder.js';

const Organization = builder.objectRef<{ id: string; name: string }>('Organization').implement({
  description: 'The organisation of the API key; every record the key can reach belongs to it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
  }),
});

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'The caller: the organisation of its API key and the scopes the key grants.',
  fields: (t) => ({
    organization: t.field({ type: Organization, resolve: (p) => ({ id: p.orgId, name: p.orgName }) }),
    scopes: t.stringList({ resolve: (p) => [...p.scopes] }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'The caller. Requires any valid API key.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.principal!,
  }),
);
