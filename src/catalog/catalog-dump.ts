import { CatalogError } from '../core/errors.js';
import type { Sql } from './catalog.js';
import { loadMigrations, migrate, type Migration } from './migrate.js';

/**
 * The catalog as data: every table of the mdw schema read as JSON rows inside one read-only
 * repeatable-read transaction (one snapshot, so a backup never holds half a batch), and written
 * back by running this package's migrations up to the snapshot's version, loading the rows, and
 * migrating the rest of the way. Rows as JSON are the same for PGlite and a Postgres server, so
 * a dump of either loads into either.
 */
export interface DumpedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
}

export interface CatalogSnapshot {
  readonly migrations: readonly DumpedMigration[];
  /** Tables in an order that loads without breaking a foreign key (referenced first). */
  readonly tables: readonly string[];
}

/** The table the migrations keep their own record in: written by migrate, never loaded. */
const migrationTable = 'schema_migration';

/**
 * Runs `read` inside one snapshot of the catalog: what it reads (the tables through `rows`, the
 * manifest through `sql`) is the catalog at one instant, whatever commits meanwhile.
 */
export async function withSnapshot<T>(
  sql: Sql,
  read: (snapshot: CatalogSnapshot, tx: Sql, rows: (table: string, each: (jsonLines: string[]) => Promise<void>) => Promise<number>) => Promise<T>,
): Promise<T> {
  return (await sql.begin('isolation level repeatable read read only', async (tx) => {
    const q = tx as unknown as Sql;
    const migrations = await q<DumpedMigration[]>`select version, name, checksum from mdw.schema_migration order by version`;
    const tables = await loadOrder(q);
    const rows = async (table: string, each: (jsonLines: string[]) => Promise<void>) => {
      let n = 0;
      await q.unsafe(`select row_to_json(t)::text as j from ${ident(table)} t`).cursor(2000, async (batch) => {
        n += batch.length;
        await each(batch.map((r) => String((r as unknown as { j: string }).j)));
      });
      return n;
    };
    return read({ migrations: [...migrations], tables }, q, rows);
  })) as T;
}

/**
 * Loads dumped rows into a database that has no mdw schema yet: the migrations the dump was
 * taken at, then each table's rows (`rowsOf` yields them in batches of JSON lines), then the
 * sequences set past the loaded ids, then the migrations this mdw has since. Refuses a database
 * that already holds an mdw schema, and a dump this mdw's migrations do not explain.
 */
export async function loadSnapshot(
  sql: Sql,
  snapshot: CatalogSnapshot,
  rowsOf: (table: string) => AsyncIterable<string[]>,
  onTable: (table: string, rows: number) => void = () => {},
): Promise<void> {
  await requireNoCatalog(sql);
  const known = new Map(loadMigrations().map((m) => [m.version, m]));
  const upTo: Migration[] = [];
  for (const m of snapshot.migrations) {
    const mine = known.get(m.version);
    if (!mine) throw new CatalogError(`the backup's catalog has migration ${m.name}, which this mdw does not know: restore it with the mdw that made it (or a newer one)`);
    if (mine.checksum !== m.checksum) throw new CatalogError(`the backup's migration ${m.name} differs from this mdw's (checksum ${m.checksum.slice(0, 12)}): restore it with the mdw that made it`);
    upTo.push(mine);
  }
  await migrate(sql, upTo);
  const tables = snapshot.tables.filter((t) => t !== migrationTable);
  const present = new Set(await loadOrder(sql));
  for (const t of tables) if (!present.has(t)) throw new CatalogError(`the backup has a table mdw.${t} that its migrations do not create`);
  await sql.begin(async (tx) => {
    for (const table of tables) {
      let n = 0;
      for await (const lines of rowsOf(table)) {
        if (lines.length === 0) continue;
        // OVERRIDING SYSTEM VALUE keeps the ids of identity columns as they were.
        await tx.unsafe(`insert into ${ident(table)} overriding system value select * from json_populate_recordset(null::${ident(table)}, $1::text::json)`, [`[${lines.join(',')}]`]);
        n += lines.length;
      }
      onTable(table, n);
    }
    const sequenced = await tx<{ table_name: string; column_name: string }[]>`
      select table_name, column_name from information_schema.columns
      where table_schema = 'mdw' and (is_identity = 'YES' or column_default like 'nextval(%')`;
    for (const { table_name: t, column_name: c } of sequenced) {
      await tx.unsafe(`select setval(pg_get_serial_sequence($1, $2), coalesce(max(${quote(c)}), 0) + 1, false) from ${ident(t)}`, [`mdw.${quote(t)}`, c]);
    }
  });
  await migrate(sql);
}

/** Refuses a database that already has an mdw schema: a restore never writes over a catalog. */
export async function requireNoCatalog(sql: Sql): Promise<void> {
  const [existing] = await sql<{ n: number }[]>`select count(*)::int as n from pg_namespace where nspname = 'mdw'`;
  if (existing!.n > 0) throw new CatalogError('the target database already holds an mdw catalog (schema mdw): restore into a new, empty database');
}

/** The mdw tables, each after those its foreign keys reference. */
async function loadOrder(sql: Sql): Promise<string[]> {
  const tables = (await sql<{ name: string }[]>`select tablename as name from pg_tables where schemaname = 'mdw' order by tablename`).map((r) => r.name);
  const edges = await sql<{ child: string; parent: string }[]>`
    select c.relname as child, p.relname as parent from pg_constraint k
    join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
    join pg_namespace n on n.oid = c.relnamespace
    where k.contype = 'f' and n.nspname = 'mdw' and c.oid <> p.oid`;
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const e of edges) parents.get(e.child)?.add(e.parent);
  const out: string[] = [];
  const placed = new Set<string>();
  const place = (t: string, path: readonly string[]) => {
    if (placed.has(t)) return;
    if (path.includes(t)) throw new CatalogError(`the foreign keys of mdw.${t} form a cycle; its rows cannot be loaded in order`);
    for (const p of parents.get(t) ?? []) place(p, [...path, t]);
    placed.add(t);
    out.push(t);
  };
  for (const t of tables) place(t, []);
  return out;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function ident(table: string): string {
  return `mdw.${quote(table)}`;
}
