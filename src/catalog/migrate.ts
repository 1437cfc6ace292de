import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CatalogError } from '../core/errors.js';
import { packageRoot } from '../core/settings.js';
import type { Sql } from './catalog.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

/** The numbered files in sql/: 001_name.sql, 002_name.sql, ... */
export function loadMigrations(dir: string = path.join(packageRoot, 'sql')): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 3)),
        name: file.replace(/\.sql$/, ''),
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock so that two
 * processes starting together against one server do not race. Returns the names applied.
 * A migration already applied whose file has since changed is an error, not a silent skip.
 */
export async function migrate(sql: Sql, migrations: Migration[] = loadMigrations()): Promise<string[]> {
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('mdw:migrate'))`;
    await tx`create schema if not exists mdw`;
    await tx`
      create table if not exists mdw.schema_migration (
        version    integer primary key,
        name       text not null,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`;
    const done = new Map<number, { name: string; checksum: string }>();
    for (const row of await tx<{ version: number; name: string; checksum: string }[]>`
      select version, name, checksum from mdw.schema_migration`) {
      done.set(row.version, row);
    }
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new CatalogError(
            `migration ${m.name} was applied with different contents (checksum ${prior.checksum.slice(0, 12)}); ` +
              `add a new numbered migration instead of editing an applied one`,
          );
        }
        continue;
      }
      await tx.unsafe(m.sql);
      await tx`insert into mdw.schema_migration (version, name, checksum) values (${m.version}, ${m.name}, ${m.checksum})`;
      applied.push(m.name);
    }
  });
  return applied;
}

export async function migrationStatus(sql: Sql): Promise<{ version: number; name: string; appliedAt: Date | null }[]> {
  const all = loadMigrations();
  const rows = await sql<{ version: number; applied_at: Date }[]>`
    select version, applied_at from mdw.schema_migration`.catch(() => []);
  const at = new Map(rows.map((r) => [r.version, r.applied_at]));
  return all.map((m) => ({ version: m.version, name: m.name, appliedAt: at.get(m.version) ?? null }));
}
