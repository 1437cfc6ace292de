import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { PartitionRule } from '../config/types.js';
import { duckdbType, lineageColumns, valueColumns, type DatasetDef } from '../core/datasets.js';
import { ident, literal, pathList, pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { partitionUri, periodFormat, type PartitionKey } from '../lake/layout.js';
import { fsyncDir, fsyncFile, hashFile, mkdirDurably, renameDurably } from './file-io.js';

/**
 * The load stage. Input: a DuckDB table of checked rows, each with `_state` 'ok', 'bad' or
 * 'filtered'. It removes repeated keys, assigns partitions, compares with what the lake holds,
 * and rewrites only the partitions whose content changes: one Parquet file per partition,
 * merged, deduplicated, sorted, written beside the old file and renamed over it.
 */

export interface SeriesTarget {
  readonly dataset: DatasetDef;
  readonly grain: PartitionRule;
  readonly source: string;
  readonly granularity: string;
  readonly lakeRoot: string;
}

export interface PartitionPlan {
  readonly pid: number;
  readonly key: PartitionKey;
  /** Relative to the lake root. */
  readonly uri: string;
  readonly path: string;
  readonly existed: boolean;
  /** Rows of this batch that are new or differ from the stored ones; 0 means no rewrite. */
  readonly changes: number;
}

export interface BatchCounts {
  readonly recordsIn: number;
  readonly out: number;
  readonly deduped: number;
  readonly quarantined: number;
  readonly filtered: number;
}

export interface LineageRow extends BatchCounts {
  readonly input: string;
  readonly pid: number | null;
}

export interface StagePlan {
  readonly partitions: readonly PartitionPlan[];
  readonly counts: BatchCounts;
  readonly lineage: readonly LineageRow[];
  /** Symbols with at least one stored row in this batch. */
  readonly symbols: readonly string[];
}

export interface SeriesStats {
  readonly symbol: string | null;
  readonly rows: number;
  readonly firstTs: string;
  readonly lastTs: string;
}

export interface WrittenPartition {
  readonly plan: PartitionPlan;
  readonly tmpPath: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly rows: number;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
  readonly series: readonly SeriesStats[];
}

const T = {
  checked: 'checked',
  dupKeys: 'mdw_dup_keys',
  parts: 'mdw_parts',
  old: 'mdw_old',
  staged: 'mdw_staged',
  final: 'mdw_final',
} as const;

const isoMicros = (col: string) => `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%fZ')`;

/** Rows that repeat a key: exact repeats are counted once, conflicting ones are quarantined. */
async function markRepeatedKeys(duck: DuckSession, def: DatasetDef): Promise<void> {
  const key = def.key.map(ident).join(', ');
  const values = valueColumns(def).map((c) => `${ident(c)} := ${ident(c)}`).join(', ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.dupKeys} AS SELECT ${key}, count(*) AS n, count(DISTINCT struct_pack(${values})) AS variants ` +
      `FROM ${T.checked} WHERE _state = 'ok' GROUP BY ${key} HAVING count(*) > 1`,
  );
  const [{ n }] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${T.dupKeys}`) as [{ n: number }];
  if (n > 0) {
    const shown = (k: string) =>
      k === def.timeColumn ? `strftime(c.${ident(k)}, '%Y-%m-%dT%H:%M:%SZ')` : `CAST(c.${ident(k)} AS VARCHAR)`;
    const keyText = def.key.map((k) => `${literal(`${k} `)} || ${shown(k)}`).join(` || ' ' || `);
    await duck.run(
      `UPDATE ${T.checked} SET _state = x.state, _rules = x.rules, _detail = x.detail FROM (` +
        `SELECT c._rn, CASE WHEN d.variants > 1 THEN 'conflict' ELSE 'dup' END AS state, ` +
        `CASE WHEN d.variants > 1 THEN ['duplicate_key'] ELSE [] END AS rules, ` +
        `CASE WHEN d.variants > 1 THEN 'duplicate_key: ' || d.n || ' rows with different values share ' || ${keyText} END AS detail, ` +
        `d.variants, row_number() OVER (PARTITION BY ${def.key.map((k) => `c.${ident(k)}`).join(', ')} ORDER BY c._rn) AS k ` +
        `FROM ${T.checked} c JOIN ${T.dupKeys} d USING (${key}) WHERE c._state = 'ok'` +
        `) x WHERE ${T.checked}._rn = x._rn AND (x.variants > 1 OR x.k > 1)`,
    );
  }
}

/**
 * Plans the batch: which partitions it touches, which of them change, and the lineage counts.
 * Reads the touched partitions' current files; writes nothing.
 */
export async function stageBatch(duck: DuckSession, target: SeriesTarget, rejects: string | null, inputs: readonly string[]): Promise<StagePlan> {
  const { dataset: def, grain } = target;
  await markRepeatedKeys(duck, def);

  const sym = def.symbolColumn && grain.by_symbol ? `c.${ident(def.symbolColumn)}` : 'NULL';
  const period = `strftime(c.${ident(def.timeColumn)}, ${literal(periodFormat(grain.period))})`;
  const keys = await duck.all<{ psym: string | null; period: string }>(
    `SELECT DISTINCT ${sym} AS psym, ${period} AS period FROM ${T.checked} c WHERE _state = 'ok' ORDER BY ALL`,
  );
  const partitions: PartitionPlan[] = keys.map((k, pid) => {
    const key: PartitionKey = { dataset: def.name, source: target.source, granularity: target.granularity, symbol: k.psym, period: k.period };
    const uri = partitionUri(key, grain);
    const file = path.join(target.lakeRoot, ...uri.split('/'));
    return { pid, key, uri, path: file, existed: existsSync(file), changes: 0 };
  });
  await duck.run(`CREATE OR REPLACE TABLE ${T.parts} (pid INTEGER, psym VARCHAR, period VARCHAR, path VARCHAR)`);
  for (let i = 0; i < partitions.length; i += 1000) {
    const values = partitions
      .slice(i, i + 1000)
      .map((p) => `(${p.pid}, ${literal(p.key.symbol)}, ${literal(p.key.period)}, ${literal(p.path)})`);
    await duck.run(`INSERT INTO ${T.parts} VALUES ${values.join(', ')}`);
  }

  const existing = partitions.filter((p) => p.existed).map((p) => p.path);
  const columns = [...def.columns, ...lineageColumns];
  if (existing.length > 0) {
    await duck.run(
      `CREATE OR REPLACE TABLE ${T.old} AS SELECT p.pid AS _pid, ` +
        columns.map((c) => `CAST(o.${ident(c.name)} AS ${duckdbType[c.type]}) AS ${ident(c.name)}`).join(', ') +
        ` FROM read_parquet(${pathList(existing)}, filename = true, union_by_name = true, hive_partitioning = false) o JOIN ${T.parts} p ON p.path = o.filename`,
    );
  } else {
    await duck.run(
      `CREATE OR REPLACE TABLE ${T.old} (_pid INTEGER, ${columns.map((c) => `${ident(c.name)} ${duckdbType[c.type]}`).join(', ')})`,
    );
  }

  const keyJoin = def.key.map((k) => `o.${ident(k)} = c.${ident(k)}`).join(' AND ');
  const same = valueColumns(def).map((v) => `c.${ident(v)} IS NOT DISTINCT FROM o.${ident(v)}`).join(' AND ');
  const partJoin = [`p.period = ${period}`, ...(sym === 'NULL' ? [] : [`p.psym = ${sym}`])].join(' AND ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.staged} AS SELECT c.*, p.pid AS _pid, ` +
      `CASE WHEN c._state <> 'ok' THEN NULL WHEN o._pid IS NULL THEN 'new' WHEN ${same} THEN 'same' ELSE 'changed' END AS _status ` +
      `FROM ${T.checked} c LEFT JOIN ${T.parts} p ON c._state IN ('ok', 'dup') AND ${partJoin} ` +
      `LEFT JOIN ${T.old} o ON o._pid = p.pid AND ${keyJoin}`,
  );
  await duck.run(`DROP TABLE ${T.checked}`);

  for (const row of await duck.all<{ pid: number; changes: number }>(
    `SELECT _pid AS pid, count(*) AS changes FROM ${T.staged} WHERE _status IN ('new', 'changed') GROUP BY _pid`,
  )) {
    const p = partitions[row.pid]!;
    partitions[row.pid] = { ...p, changes: row.changes };
  }

  const fate = (alias: string) =>
    `count(*) AS recordsIn, ` +
    `count(*) FILTER (WHERE ${alias}_status IN ('new', 'changed')) AS out, ` +
    `count(*) FILTER (WHERE ${alias}_state = 'dup' OR ${alias}_status = 'same') AS deduped, ` +
    `count(*) FILTER (WHERE ${alias}_state IN ('bad', 'conflict')) AS quarantined, ` +
    `count(*) FILTER (WHERE ${alias}_state = 'filtered') AS filtered`;
  const lineage = await duck.all<LineageRow>(
    `SELECT _file AS input, _pid AS pid, ${fate('')} FROM ${T.staged} GROUP BY ALL ORDER BY input, pid NULLS FIRST`,
  );
  if (rejects) {
    // Unparseable lines reached no partition: they join their file's no-partition row.
    for (const r of await duck.all<{ input: string; n: number }>(`SELECT _file AS input, count(*) AS n FROM ${rejects} GROUP BY ALL ORDER BY 1`)) {
      const i = lineage.findIndex((l) => l.input === r.input && l.pid === null);
      const prior = i >= 0 ? lineage[i]! : { input: r.input, pid: null, recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 };
      const merged = { ...prior, recordsIn: prior.recordsIn + r.n, quarantined: prior.quarantined + r.n };
      if (i >= 0) lineage[i] = merged;
      else lineage.push(merged);
    }
  }
  // An input with no records at all (an empty file) is accounted for too.
  const seen = new Set(lineage.map((l) => l.input));
  for (const input of inputs) {
    if (!seen.has(input)) lineage.push({ input, pid: null, recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 });
  }
  const counts = lineage.reduce<BatchCounts>(
    (a, r) => ({
      recordsIn: a.recordsIn + r.recordsIn,
      out: a.out + r.out,
      deduped: a.deduped + r.deduped,
      quarantined: a.quarantined + r.quarantined,
      filtered: a.filtered + r.filtered,
    }),
    { recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 },
  );
  const symbols = def.symbolColumn
    ? (await duck.all<{ s: string }>(`SELECT DISTINCT ${ident(def.symbolColumn)} AS s FROM ${T.staged} WHERE _state = 'ok' ORDER BY 1`)).map((r) => r.s)
    : [];
  return { partitions, counts, lineage, symbols };
}

/**
 * Writes the new content of every changed partition to a temporary file beside its target,
 * fsynced and hashed. Nothing is renamed yet: commitPartitions does that after the catalog
 * has recorded the intent.
 */
export async function writePartitions(
  duck: DuckSession,
  target: SeriesTarget,
  plan: StagePlan,
  batchId: string,
  width: number,
): Promise<WrittenPartition[]> {
  const { dataset: def } = target;
  const dirty = plan.partitions.filter((p) => p.changes > 0);
  if (dirty.length === 0) return [];
  const canon = def.columns.map((c) => ident(c.name));
  const order = [def.symbolColumn, def.timeColumn].filter((c): c is string => c !== null).map(ident).join(', ');
  const keyMatch = def.key.map((k) => `s.${ident(k)} = o.${ident(k)}`).join(' AND ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.final} AS SELECT * FROM (` +
      `SELECT _pid, ${canon.join(', ')}, ${literal(target.granularity)} AS granularity, ${literal(target.source)} AS source, ${literal(batchId)} AS batch_id ` +
      `FROM ${T.staged} WHERE _status IN ('new', 'changed') ` +
      `UNION ALL SELECT o._pid, ${canon.map((c) => `o.${c}`).join(', ')}, o.granularity, o.source, o.batch_id FROM ${T.old} o ` +
      `WHERE o._pid IN (${dirty.map((p) => p.pid).join(', ')}) ` +
      `AND NOT EXISTS (SELECT 1 FROM ${T.staged} s WHERE s._status = 'changed' AND s._pid = o._pid AND ${keyMatch})` +
      `) ORDER BY _pid, ${order}`,
  );
  const symCol = def.symbolColumn ? ident(def.symbolColumn) : 'NULL';
  const stats = await duck.all<{ pid: number; symbol: string | null; rows: number; firstTs: string; lastTs: string }>(
    `SELECT _pid AS pid, ${symCol} AS symbol, count(*) AS rows, ${isoMicros(`min(${ident(def.timeColumn)})`)} AS firstTs, ` +
      `${isoMicros(`max(${ident(def.timeColumn)})`)} AS lastTs FROM ${T.final} GROUP BY ALL ORDER BY ALL`,
  );
  const tag = batchId.slice(0, 8);
  const tmpOf = (p: PartitionPlan) => path.join(path.dirname(p.path), `.${path.basename(p.path)}.${tag}.tmp`);
  for (const p of dirty) {
    mkdirDurably(path.dirname(p.path));
    removeStaleTemps(p.path);
  }
  const outColumns = [...canon, 'granularity', 'source', 'batch_id'].join(', ');
  await duck.runParallel(
    dirty.map(
      (p) =>
        `COPY (SELECT ${outColumns} FROM ${T.final} WHERE _pid = ${p.pid} ORDER BY ${order}) ` +
        `TO ${literal(tmpOf(p))} (FORMAT PARQUET, COMPRESSION ZSTD)`,
    ),
    width,
  );
  const written: WrittenPartition[] = [];
  // Before the catalog records these files they must survive a power loss: the files and the
  // folders that name them.
  for (const dir of new Set(dirty.map((p) => path.dirname(p.path)))) fsyncDir(dir);
  for (const p of dirty) {
    const tmpPath = tmpOf(p);
    fsyncFile(tmpPath);
    const { sha256, bytes } = await hashFile(tmpPath);
    const series = stats.filter((s) => s.pid === p.pid).map(({ symbol, rows, firstTs, lastTs }) => ({ symbol, rows, firstTs, lastTs }));
    written.push({ plan: p, tmpPath, sha256, bytes, ...summarizeSeries(series) });
  }
  await duck.run(`DROP TABLE ${T.final}`);
  return written;
}

/** Rows, first and last ts and per-symbol coverage of a partition file as it is on disk. */
export async function partitionFileStats(
  duck: DuckSession,
  def: DatasetDef,
  file: string,
): Promise<{ rows: number; firstTs: string | null; lastTs: string | null; series: SeriesStats[] }> {
  const sym = def.symbolColumn ? ident(def.symbolColumn) : 'NULL';
  const ts = ident(def.timeColumn);
  const series = await duck.all<SeriesStats>(
    `SELECT ${sym} AS symbol, count(*) AS rows, ${isoMicros(`min(${ts})`)} AS firstTs, ${isoMicros(`max(${ts})`)} AS lastTs ` +
      `FROM read_parquet(${pathLiteral(file)}, hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
  );
  return summarizeSeries(series);
}

/** A partition's totals from its per-symbol coverage. */
function summarizeSeries(series: SeriesStats[]): { rows: number; firstTs: string | null; lastTs: string | null; series: SeriesStats[] } {
  return {
    rows: series.reduce((n, s) => n + s.rows, 0),
    firstTs: series.reduce<string | null>((m, s) => (m === null || s.firstTs < m ? s.firstTs : m), null),
    lastTs: series.reduce<string | null>((m, s) => (m === null || s.lastTs > m ? s.lastTs : m), null),
    series,
  };
}

/** Moves every written file over its partition's old file. Each rename is atomic. */
export function commitPartitions(written: readonly { tmpPath: string; plan: { path: string } }[]): void {
  for (const w of written) renameDurably(w.tmpPath, w.plan.path);
}

/** Drops the temp tables of a batch. */
export async function releaseStage(duck: DuckSession): Promise<void> {
  for (const t of [T.checked, T.dupKeys, T.parts, T.old, T.staged, T.final]) await duck.run(`DROP TABLE IF EXISTS ${t}`);
}

/**
 * Temp files that a run killed before its catalog commit left beside a partition file. Pending
 * writes are recovered before any staging, so whatever is left here is garbage.
 */
function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) rmSync(path.join(dir, name), { force: true });
  }
}

/** The staged table's name, for the quarantine writer. */
export const stagedTable = T.staged;
export const checkedTable = T.checked;
