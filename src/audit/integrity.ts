import type { ManifestEntry } from '../catalog/audit-catalog.js';
import { errorMessage } from '../core/errors.js';
import { mapLimited } from '../core/map-limited.js';
import { pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { isTempName } from '../lake/layout.js';
import { childUri, type LakeStore } from '../lake/store.js';

export type IntegrityKind = 'missing' | 'orphan' | 'hash_mismatch' | 'rows_mismatch' | 'unreadable' | 'leftover';

export interface IntegrityProblem {
  readonly uri: string;
  readonly problem: IntegrityKind;
  readonly detail: string;
}

/**
 * Each manifest entry of a series against its file: there, the same bytes (sha256), readable as
 * Parquet with the rows the manifest records; each Parquet file in the series' folder that the
 * manifest does not name and no newer version superseded (an orphan); and temporary files a
 * write that did not finish left behind (leftovers: the next load of the series removes them).
 * Returns the problems, and the files that can be read: what a query would read, changed or
 * not, is what completeness and quality are judged on.
 */
export async function checkIntegrity(
  duck: DuckSession,
  lake: LakeStore,
  seriesDir: string,
  manifest: readonly ManifestEntry[],
  superseded: readonly string[],
): Promise<{ problems: IntegrityProblem[]; readable: string[] }> {
  const problems: IntegrityProblem[] = [];
  const abs = (uri: string) => lake.locate(uri);
  const present = manifest.filter((m) => {
    if (lake.stat(m.uri) !== null) return true;
    problems.push({ uri: m.uri, problem: 'missing', detail: `the manifest records ${m.rows} rows in a file that is not there` });
    return false;
  });
  const hashed = await mapLimited(present, 4, async (m) => ({ m, ...(await lake.hash(m.uri)) }));
  const readable: string[] = [];
  for (const { m, sha256, bytes } of hashed) {
    let rows: number;
    try {
      const [r] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM read_parquet(${pathLiteral(abs(m.uri))}, hive_partitioning = false)`);
      rows = Number(r!.n);
    } catch (err) {
      problems.push({ uri: m.uri, problem: 'unreadable', detail: errorMessage(err).split('\n')[0]! });
      continue;
    }
    readable.push(abs(m.uri));
    if (sha256 !== m.sha256) {
      problems.push({
        uri: m.uri,
        problem: 'hash_mismatch',
        detail: `sha256 ${sha256.slice(0, 12)}... (${bytes} bytes, ${rows} rows), the manifest has ${m.sha256.slice(0, 12)}... (${m.bytes} bytes, ${m.rows} rows)`,
      });
    } else if (rows !== m.rows) {
      problems.push({ uri: m.uri, problem: 'rows_mismatch', detail: `${rows} rows in the file, ${m.rows} in the manifest` });
    }
  }
  const known = new Set([...manifest.map((m) => m.uri), ...superseded]);
  const { parquet, temps } = filesUnder(lake, seriesDir);
  const size = (uri: string) => lake.stat(uri)?.bytes ?? 0;
  for (const uri of parquet) {
    if (!known.has(uri)) problems.push({ uri, problem: 'orphan', detail: `${size(uri)} bytes the manifest does not know` });
  }
  for (const uri of temps) {
    problems.push({ uri, problem: 'leftover', detail: `${size(uri)} bytes of a write that did not finish; the next load of the series removes it` });
  }
  return { problems, readable };
}

/** Parquet and temporary files under a folder. */
function filesUnder(lake: LakeStore, dir: string): { parquet: string[]; temps: string[] } {
  const out = { parquet: [] as string[], temps: [] as string[] };
  const walk = (d: string) => {
    for (const e of lake.list(d)) {
      const uri = childUri(d, e.name);
      if (e.folder) walk(uri);
      else if (isTempName(e.name)) out.temps.push(uri);
      else if (e.name.endsWith('.parquet')) out.parquet.push(uri);
    }
  };
  walk(dir);
  out.parquet.sort();
  out.temps.sort();
  return out;
}
