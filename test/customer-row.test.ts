// The one column list of hand-written customer SQL (customers/row.ts), held against the Prisma
// model and the table the migrations build: a new column cannot be forgotten, and a misnamed or
// swapped one cannot go unnoticed, because rows written with the list are read back by Prisma.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CUSTOMER_COLUMNS,
  INITIAL_STATUS,
  insertCustomer,
  lockCustomers,
  lockCustomersStatement,
  updateCustomer,
  type Customer,
} from '../src/customers/row.js';
import { sendTogether, WriteStatement } from '../src/db/write-statements.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { rowsRead } from './helpers/plan.js';

const ctx = useGateway();

/** information_schema's name for each SQL type of the list. */
const SQL_TYPES: Record<string, string> = {
  uuid: 'uuid',
  text: 'character varying|character',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
};

describe(`the customer column list (${dbKind})`, () => {
  it('names every field of the Prisma model, and nothing else', () => {
    expect(Object.keys(CUSTOMER_COLUMNS).sort()).toEqual(Object.keys(Prisma.CustomerScalarFieldEnum).sort());
  });

  it('names every column of the customers table, with its type', async () => {
    const columns = await ctx.db.prisma.$queryRaw<{ column_name: string; data_type: string; udt_name: string }[]>`
      SELECT column_name, data_type, udt_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'customers'`;
    expect(columns.map((c) => c.column_name).sort()).toEqual(
      Object.values(CUSTOMER_COLUMNS)
        .map((c) => c.column)
        .sort(),
    );
    for (const { column, type } of Object.values(CUSTOMER_COLUMNS)) {
      const found = columns.find((c) => c.column_name === column)!;
      if (type.startsWith('"')) expect([column, found.data_type, `"${found.udt_name}"`]).toEqual([column, 'USER-DEFINED', type]);
      else expect(found.data_type, column).toMatch(new RegExp(`^(${SQL_TYPES[type]})$`));
    }
  });

  it('a row inserted and changed through the list reads back the same through Prisma', async () => {
    const { orgId } = await ctx.org();
    const now = new Date('2026-03-01T10:00:00.123Z');
    // Every column set to a value of its own, so that two swapped columns would show.
    const row: Customer = {
      ...INITIAL_STATUS,
      id: randomUUID(),
      orgId,
      externalId: 'row-1',
      type: 'SOLE_TRADER',
      fullName: 'Row Test',
      email: 'Row@Example.com',
      emailKey: 'row@example.com',
      phone: '+44 20 7946 0001',
      riskIsNewCustomer: true,
      riskIsDesignatedService: false,
      riskHandlesCashOrCrypto: null,
      kycStatus: 'VERIFIED',
      kycStartedAt: new Date('2026-01-01T00:00:00.001Z'),
      kycCompletedAt: new Date('2026-01-02T00:00:00.002Z'),
      verifiedLegalName: 'Row Legal',
      verifiedCountry: 'GBR',
      amlStatus: 'NEEDS_REVIEW',
      amlScreenedAt: new Date('2026-01-03T00:00:00.003Z'),
      amlLastReviewedAt: new Date('2026-01-04T00:00:00.004Z'),
      amlPep: true,
      amlSanctions: false,
      amlAdverseMedia: true,
      amlTerrorism: false,
      addedVia: 'BULK_IMPORT',
      createdAt: now,
      updatedAt: now,
    };
    const inserted = insertCustomer(row);
    await ctx.db.prisma.$transaction((tx) => sendTogether(tx, [inserted.statement]));
    expect(await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
    const read = await ctx.db.prisma.$transaction((tx) => lockCustomers(tx, orgId, { externalIds: ['row-1'] }));
    expect(read).toEqual([row]);

    // A change of every changeable column (and updatedAt) is stored as the row it says it leaves.
    const changed = updateCustomer(
      row,
      {
        externalId: 'row-2',
        type: 'INDIVIDUAL',
        fullName: 'Row Changed',
        email: 'row2@example.com',
        emailKey: 'row2@example.com',
        phone: null,
        riskIsNewCustomer: null,
        riskIsDesignatedService: true,
        riskHandlesCashOrCrypto: false,
        kycStatus: 'FAILED',
        kycStartedAt: null,
        kycCompletedAt: new Date('2026-02-02T00:00:00.000Z'),
        verifiedLegalName: null,
        verifiedCountry: null,
        amlStatus: 'RESOLVED',
        amlScreenedAt: null,
        amlLastReviewedAt: null,
        amlPep: false,
        amlSanctions: true,
        amlAdverseMedia: false,
        amlTerrorism: true,
        addedVia: 'SYSTEM',
      },
      now,
    );
    // The clock did not move: updatedAt still does, by 1 ms.
    expect(changed.after.updatedAt).toEqual(new Date(now.getTime() + 1));
    await ctx.db.prisma.$transaction((tx) => sendTogether(tx, [changed.statement]));
    expect(await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: row.id } })).toEqual(changed.after);
  });

  it('a write statement is one INSERT, UPDATE or DELETE: PostgreSQL takes data-modifying CTEs at the top level only', () => {
    expect(() => WriteStatement.of(Prisma.sql`WITH x AS (DELETE FROM customers) SELECT 1`)).toThrow(/one INSERT, UPDATE or DELETE/);
    expect(() => WriteStatement.of(Prisma.sql`SELECT 1`)).toThrow(/one INSERT, UPDATE or DELETE/);
    expect(WriteStatement.of(Prisma.sql`  update customers SET phone = NULL WHERE false`)).toBeInstanceOf(WriteStatement);
  });

  // Every write locks its customers by their keys first. The planner's statistics of a tenant
  // that is importing lag behind it (autovacuum analyzes after 10 % of the table changed; the
  // embedded database never does): it takes the organisation for a handful of rows, and a
  // statement that leaves it a cheap-looking plan on org_id alone then reads all of the
  // organisation's customers on every write: an import of n customers reads n²/2 rows.
  it('the lock reads only the rows its keys name, even with statistics taken before the organisation had customers', async () => {
    const insert = (orgId: string, prefix: string, n: number) => ctx.db.prisma.$executeRaw`
      INSERT INTO customers (id, org_id, external_id, full_name, email, email_key)
      SELECT gen_random_uuid(), ${orgId}::uuid, ${prefix} || i, 'Imported ' || i, ${prefix} || i || '@example.com', ${prefix} || i || '@example.com'
      FROM generate_series(1, ${n}) i`;
    // Statistics taken while four tenants had 25 customers each and this one none; then its import.
    for (let i = 0; i < 4; i++) await insert((await ctx.org()).orgId, `early-${i}-`, 25);
    const { orgId } = await ctx.org();
    await ctx.db.prisma.$executeRawUnsafe('ANALYZE customers');
    await insert(orgId, 'imp-', 3000);
    const [byId] = await ctx.db.prisma.$queryRaw<
      { id: string }[]
    >`SELECT id::text FROM customers WHERE org_id = ${orgId}::uuid AND external_id = 'imp-10'`;
    const other = await ctx.org();
    const matches = [
      { externalIds: ['imp-1500'], emailKeys: ['imp-2500@example.com'], expected: ['imp-1500', 'imp-2500'] },
      { ids: [byId!.id], externalIds: [byId!.id], expected: ['imp-10'] },
      { emailKeys: ['nobody@example.com'], expected: [] },
    ];
    for (const { expected, ...match } of matches) {
      const statement = lockCustomersStatement(orgId, match);
      const [explained] = await ctx.db.prisma.$queryRawUnsafe<{ 'QUERY PLAN': unknown }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
        ...statement.values,
      );
      expect(rowsRead(explained!['QUERY PLAN'], 'customers'), JSON.stringify(match)).toBeLessThanOrEqual(2 * expected.length + 2);
      const locked = await ctx.db.prisma.$transaction((tx) => lockCustomers(tx, orgId, match));
      expect(locked.map((c) => c.externalId).sort()).toEqual(expected);
      // Another organisation names the same keys and locks nothing of this one.
      expect(await ctx.db.prisma.$transaction((tx) => lockCustomers(tx, other.orgId, match))).toEqual([]);
    }
  });
});
