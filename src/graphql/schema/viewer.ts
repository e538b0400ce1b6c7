// `viewer`: who the caller is (its organisation and its key's scopes).
import type { Principal } from '../../auth/api-keys.js';
import { builder } from '../builder.js';
import { principalOf } from '../context.js';

const Organization = builder.objectRef<{ id: string; name: string }>('Organization').implement({
  description: 'The organisation of the API key; every record the key can reach belongs to it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Identifies the organisation.' }),
    name: t.exposeString('name', { description: 'The organisation name given when its first API key was created.' }),
  }),
});

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'The caller: the organisation of its API key and the scopes the key grants.',
  fields: (t) => ({
    organization: t.field({
      type: Organization,
      description: 'The organisation the API key acts for.',
      resolve: (p) => ({ id: p.orgId, name: p.orgName }),
    }),
    scopes: t.stringList({
      description:
        'The scopes the key grants: customers:read, customers:write, aml:read, compliance:write. A field that needs a scope the key lacks fails with FORBIDDEN.',
      resolve: (p) => [...p.scopes],
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    nullable: true,
    description: 'The caller: its organisation and the scopes of its key. Requires any valid API key.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => principalOf(ctx),
  }),
);
