import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { loadMigrations, migrate, migrationStatus } from '../../src/catalog/migrate.js';
import type { Context } from '../../src/context.js';
import { freshCatalog, removeDir, tempDir, testContext } from '../support/helpers.js';

let root: string;
let ctx: Context;
let catalog: Catalog;
let drop: () => Promise<void>;

beforeAll(async () => {
  root = tempDir();
  const target = await freshCatalog();
  drop = target.drop;
  ctx = testContext({ home: path.join(root, 'home'), databaseUrl: target.url });
  catalog = await ctx.catalog();
});

afterAll(async () => {
  await ctx.close();
  await drop();
  removeDir(root);
});

describe(`catalog schema (${process.env.MDW_TEST_DATABASE_URL ? 'Postgres server' : 'embedded PGlite'})`, () => {
  test('opening applies every numbered migration once and records it', async () => {
    const files = loadMigrations();
    expect(files.map((m) => m.name)).toEqual(['001_catalog', '002_input_fingerprints', '003_lake_binding', '004_quality', '005_vendor_budget', '006_raw_page', '007_quarantine_keys', '008_partition_versions', '009_quarantine_superseded', '010_backfill', '011_known_status', '012_adjustment_change', '013_retention', '014_curate_input']);
    const status = await migrationStatus(catalog.sql);
    expect(status.map((m) => [m.version, m.appliedAt instanceof Date])).toEqual([[1, true], [2, true], [3, true], [4, true], [5, true], [6, true], [7, true], [8, true], [9, true], [10, true], [11, true], [12, true], [13, true], [14, true]]);
    expect(await migrate(catalog.sql)).toEqual([]);
    const n = (await catalog.sql<{ n: number }[]>`select count(*)::int as n from mdw.schema_migration`)[0]!.n;
    expect(n).toBe(14);
  });

  test('a migration edited after it was applied is refused', async () => {
    const [m] = loadMigrations();
    await expect(migrate(catalog.sql, [{ ...m!, checksum: 'x'.repeat(64) }])).rejects.toThrow(/001_catalog was applied with different contents/);
  });

  test('the tables, keys and indexes the lookups need exist', async () => {
    const tables = await catalog.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'mdw' order by 1`;
    expect(tables.map((t) => t.table_name)).toEqual([
      'adjustment_change', 'backfill_chunk', 'batch', 'completeness', 'curate_input', 'data_source', 'dataset', 'dataset_binding', 'ingest_log', 'ingest_run', 'instrument', 'known_hole', 'lake',
      'lineage_item', 'partition_manifest', 'partition_series', 'pending_write', 'quarantine_record', 'raw_page', 'request_budget', 'retired_partition', 'retired_range', 'schema_migration', 'superseded_file',
      'symbol_status', 'validation_summary', 'vendor_credential',
    ]);
    const uuids = await catalog.sql<{ table_name: string }[]>`
      select table_name from information_schema.columns
      where table_schema = 'mdw' and column_name = 'id' and data_type = 'uuid' order by 1`;
    expect(uuids.map((t) => t.table_name)).toEqual([
      'batch', 'data_source', 'dataset', 'dataset_binding', 'ingest_log', 'ingest_run', 'instrument', 'lake', 'lineage_item', 'partition_manifest',
      'quarantine_record', 'retired_partition', 'vendor_credential',
    ]);
    const indexes = await catalog.sql<{ indexname: string }[]>`select indexname from pg_indexes where schemaname = 'mdw'`;
    const names = indexes.map((i) => i.indexname);
    for (const idx of ['partition_manifest_series_idx', 'lineage_item_batch_idx', 'lineage_item_manifest_idx', 'ingest_log_run_idx', 'batch_series_idx', 'partition_series_symbol_idx', 'quarantine_record_series_idx', 'quarantine_record_batch_idx']) {
      expect(names).toContain(idx);
    }
  });

  test('constraints keep the catalog honest', async () => {
    const sql = catalog.sql;
    const [src] = await sql<{ id: string }[]>`insert into mdw.data_source (name, adapter) values ('c-test', 'file') returning id`;
    // Credentials are names of environment variables, never values.
    await expect(sql`insert into mdw.vendor_credential (source_id, purpose, env_var) values (${src!.id}, 'api_key', 'sk-live-123')`).rejects.toThrow(/check/i);
    await sql`insert into mdw.vendor_credential (source_id, purpose, env_var) values (${src!.id}, 'api_key', 'POLYGON_API_KEY')`;
    await expect(sql`insert into mdw.data_source (name, adapter) values ('Bad Name', 'file')`).rejects.toThrow(/check/i);
    const [ds] = await sql<{ id: string }[]>`insert into mdw.dataset (name) values ('c-test') returning id`;
    const [b] = await sql<{ id: string }[]>`
      insert into mdw.batch (id, dataset_id, source_id, granularity, status, created_at)
      values (gen_random_uuid(), ${ds!.id}, ${src!.id}, '1d', 'committed', now()) returning id`;
    // Lineage must account for every record it takes in.
    await expect(
      sql`insert into mdw.lineage_item (batch_id, raw_uri, records_in, records_out) values (${b!.id}, 'x.csv', 10, 9)`,
    ).rejects.toThrow(/check/i);
    const manifest = (symbol: string | null, uri: string) => sql`
      insert into mdw.partition_manifest (dataset_id, source_id, granularity, symbol, period, uri, rows, bytes, sha256, created_at, updated_at)
      values (${ds!.id}, ${src!.id}, '1d', ${symbol}, '2024', ${uri}, 1, 1, ${'a'.repeat(64)}, now(), now())`;
    await manifest(null, 'a.parquet');
    // One file per partition, also when the partition has no symbol.
    await expect(manifest(null, 'b.parquet')).rejects.toThrow(/unique|duplicate/i);
    await expect(sql`insert into mdw.lineage_item (batch_id, raw_uri) values (gen_random_uuid(), 'x')`).rejects.toThrow(/foreign key/i);
  });
});
