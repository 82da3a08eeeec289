// The schema as the migrations leave it, on a database whose default collation is not byte order.
import { Client } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { createDataSource, migrateDatabase } from '../../libs/event-store/src/database';
import { EventStore } from '../../libs/event-store/src';
import { ShareRepository } from '../../libs/filesystem/src';
import { KeysCollateC1765200000000 } from '../../migrations/1765200000000-KeysCollateC';
import { AuditIndexesStayHot1765300000000 } from '../../migrations/1765300000000-AuditIndexesStayHot';

jest.setTimeout(120_000);

const server = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const name = `leasehold_schema_${process.pid}_${Date.now().toString(36)}`;
const url = `${server}/${name}`;

/** Runs `run` on a connection of its own to `database`. */
async function connected<T>(database: string, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${server}/${database}` });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Every text column an index of the service's tables names directly, and every tenant column, with its collation. */
async function keyColumns(): Promise<string[]> {
  const { rows } = await connected(name, (c) =>
    c.query<{ column: string }>(
      `SELECT format('%s.%s %s', t.relname, a.attname, co.collname) AS column
       FROM pg_attribute a
       JOIN pg_class t ON t.oid = a.attrelid AND t.relkind = 'r'
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
       JOIN pg_collation co ON co.oid = a.attcollation
       WHERE a.atttypid = 'text'::regtype AND a.attnum > 0 AND NOT a.attisdropped AND t.relname <> 'schema_migrations'
         AND (a.attname = 'tenant' OR EXISTS (SELECT FROM pg_index x WHERE x.indrelid = t.oid AND a.attnum = ANY (x.indkey::int2[])))
       ORDER BY 1`,
    ),
  );
  return rows.map((r) => r.column);
}

/** Runs `run` with a query runner on the test database, as the migrations get one. */
async function withRunner(run: (runner: QueryRunner, db: DataSource) => Promise<void>): Promise<void> {
  const db = await createDataSource(url, 1).initialize();
  const runner = db.createQueryRunner();
  try {
    await run(runner, db);
  } finally {
    await runner.release();
    await db.destroy();
  }
}

beforeAll(async () => {
  // ICU's en-US puts "B" between "a" and "c", as a cluster initialised in en_US.UTF-8 does; every
  // machine's PostgreSQL has ICU, not every machine has that locale.
  await connected('postgres', (c) =>
    c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'
             LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'`),
  );
  await migrateDatabase(url);
});

afterAll(() => connected('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));

test('every indexed text column and every tenant column compares as bytes, whatever the database default (reverting undoes it)', async () => {
  const migrated = await keyColumns();
  expect(migrated).toEqual(expect.arrayContaining(['events.tenant C', 'audit_log.tenant C', 'handles.tenant C']));
  expect(migrated.filter((c) => !c.endsWith(' C'))).toEqual([]);

  // This migration's own down and up, whichever migrations come after it.
  await withRunner(async (runner) => {
    await new KeysCollateC1765200000000().down(runner);
    expect((await keyColumns()).filter((c) => !c.endsWith(' C'))).toEqual(
      migrated.map((c) => c.replace(/ C$/, ' default')),
    );
    await new KeysCollateC1765200000000().up(runner);
  });
  expect(await keyColumns()).toEqual(migrated);
});

test('share listing pages in byte order where the database default would not', async () => {
  const names = ['b', 'A', 'a', 'B'];
  const byDefault = await connected(name, async (c) => {
    await c.query(
      `INSERT INTO shares (tenant, name, share_id, quota, metadata, etag, last_modified, version)
       SELECT 'collation', n, 900000 + i, 1, '{}', 'x', now(), 1 FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i)`,
      [names],
    );
    const { rows } = await c.query<{ name: string }>(
      `SELECT name FROM shares WHERE tenant = 'collation' ORDER BY name COLLATE "default"`,
    );
    return rows.map((r) => r.name);
  });
  // The database's own order differs, so the listing's is not byte order by accident.
  expect(byDefault).toEqual(['a', 'A', 'b', 'B']);

  await withRunner(async (_runner, db) => {
    const shares = new ShareRepository(new EventStore(db));
    const listed = async (after: string, limit: number) =>
      (await shares.list('collation', '', after, limit)).map((s) => s.name);
    expect(await listed('', 10)).toEqual(['A', 'B', 'a', 'b']);
    // The marker is the last name of a page: the next page starts after it in the same order.
    expect(await listed('B', 10)).toEqual(['a', 'b']);
  });
});

test('the audit indexes whose keys come in no order are kept small or bucketed by seq (reverting undoes it)', async () => {
  const defs = () =>
    connected(name, async (c) => {
      const { rows } = await c.query<{ def: string }>(
        `SELECT indexdef AS def FROM pg_indexes
         WHERE tablename = 'audit_log' AND indexname IN ('audit_by_path', 'audit_by_stream', 'audit_by_client_request')
         ORDER BY indexname`,
      );
      return rows.map((r) => r.def.replace('CREATE INDEX ', '').replace(' ON public.audit_log USING btree', ''));
    });
  const migrated = [
    'audit_by_client_request (tenant, ((seq / 1048576)), client_request_id) WHERE (client_request_id IS NOT NULL)',
    'audit_by_path (tenant, share, path_key text_pattern_ops)',
    'audit_by_stream (tenant, stream_id)',
  ];
  expect(await defs()).toEqual(migrated);

  await withRunner(async (runner) => {
    await new AuditIndexesStayHot1765300000000().down(runner);
    expect(await defs()).toEqual([
      'audit_by_client_request (tenant, client_request_id, seq) WHERE (client_request_id IS NOT NULL)',
      'audit_by_path (tenant, share, path_key text_pattern_ops, seq)',
      'audit_by_stream (tenant, stream_id, seq)',
    ]);
    await new AuditIndexesStayHot1765300000000().up(runner);
  });
  expect(await defs()).toEqual(migrated);
});
