import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { PartitionPeriod, PartitionRule } from '../config/types.js';
import { duckdbType, lineageColumns, valueColumns, type DatasetDef } from '../core/datasets.js';
import { ident, literal, pathList, pathLiteral, stringList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { isTempName, partitionDir, partitionUri, type PartitionKey } from '../lake/layout.js';
import { currentDataFile } from '../lake/partition-files.js';
import type { CompiledSeriesRules } from '../validate/series-rules.js';
import { fsyncDir, fsyncFileAsync, hashFile, mapLimited, mkdirDurably, renameDurably } from './file-io.js';

/**
 * The load stage. Input: the table `checked`, one row per record of a chunk of inputs, in read
 * order (its rowid), with the dataset's columns, `_file`, `_period` (the partition period as an
 * integer), `_state` ('ok', 'bad' or 'filtered'), `_rules` (comma-separated), `_detail`,
 * `_raw_json`, `_fold`.
 *
 * It marks repeated keys, compares the rows of partitions that already have a file with that
 * file, and rewrites only the partitions whose content changes: one Parquet file per
 * partition, merged, deduplicated, sorted, written beside the old file and renamed over it.
 * Partitions that are new are written straight from `checked`; rows arrive clustered by input,
 * so a partition's rows sit in a few row groups and each write reads little.
 *
 * `_state` after staging: 'ok' (stored: new or changed), 'dup' and 'same' (already there),
 * 'bad' and 'conflict' (quarantined), 'filtered' (outside the run's scope).
 */

export const checkedTable = 'checked';

const T = {
  dupKeys: 'mdw_dup_keys',
  parts: 'mdw_parts',
  old: 'mdw_old',
  cmp: 'mdw_cmp',
  removed: 'mdw_removed',
  merge: 'mdw_merge',
  ctxParts: 'mdw_ctx_parts',
  context: 'mdw_context',
} as const;

export interface SeriesTarget {
  readonly dataset: DatasetDef;
  /** The dataset columns `checked` carries; the others are NULL in what is written. */
  readonly columns: readonly string[];
  readonly grain: PartitionRule;
  readonly source: string;
  readonly granularity: string;
  readonly lakeRoot: string;
  /** Batches of this run already committed (earlier chunks): a row they stored that a later
   * chunk contradicts is a conflict within the run, not a correction. */
  readonly runBatchIds: readonly string[];
  /** Series rules, computed over each written partition with the bars just before it. */
  readonly series: SeriesWrite | null;
  /**
   * A stored row that differs from the incoming one stays as it is, and the incoming row is
   * marked 'differs' (replays: an old record must not overwrite what a later load stored).
   */
  readonly keepStored?: boolean;
}

/** How the series flags and quality score are written beside the data. */
export interface SeriesWrite {
  readonly rules: CompiledSeriesRules;
  /** A row is validated when its quality is at least this. */
  readonly threshold: number;
  /** Bars before a partition the rules look at, and how far back in time they may lie. */
  readonly bars: number;
  readonly interval: string;
}

export interface PartitionPlan {
  readonly pid: number;
  readonly key: PartitionKey;
  /** The period as `_period` holds it. */
  readonly periodValue: number;
  /** The version this batch writes (the next after the current one), relative to the lake root. */
  readonly uri: string;
  readonly path: string;
  /** The version readers open now, which a write supersedes; null for a new partition. */
  readonly current: { readonly uri: string; readonly path: string } | null;
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
  /** Rows an earlier chunk of this run stored that this one contradicts (quarantined too). */
  readonly removed: number;
  /** Per new partition: the coverage of the rows it will hold. */
  readonly stats: ReadonlyMap<number, readonly SeriesStats[]>;
}

export interface SeriesStats {
  readonly symbol: string | null;
  readonly rows: number;
  readonly firstTs: string;
  readonly lastTs: string;
}

/** A partition's new content, written to a temporary file beside it. */
export interface WrittenPartition {
  readonly plan: PartitionPlan;
  readonly tmpPath: string;
  readonly rows: number;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
  readonly series: readonly SeriesStats[];
}

/** A written partition made durable, with the hash and size the manifest records. */
export interface SealedPartition extends WrittenPartition {
  readonly sha256: string;
  readonly bytes: number;
}

const isoMicros = (col: string) => `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%fZ')`;

const periodScale: Record<PartitionPeriod, (ts: string) => string> = {
  year: (ts) => `year(${ts})`,
  month: (ts) => `(year(${ts}) * 100 + month(${ts}))`,
  day: (ts) => `(year(${ts}) * 10000 + month(${ts}) * 100 + day(${ts}))`,
};

/** The partition period of a timestamp as an integer (2024, 202403, 20240315): cheap to compute and to filter on. */
export function periodSql(period: PartitionPeriod, ts: string): string {
  return periodScale[period](ts);
}

/** The label a period integer has in the lake's paths (2024, 2024-03, 2024-03-15). */
export function periodLabel(period: PartitionPeriod, value: number): string {
  const s = String(value);
  if (period === 'year') return s.padStart(4, '0');
  if (period === 'month') return `${s.slice(0, -2).padStart(4, '0')}-${s.slice(-2)}`;
  return `${s.slice(0, -4).padStart(4, '0')}-${s.slice(-4, -2)}-${s.slice(-2)}`;
}

/** The period before a period integer (2024 -> 2023, 202401 -> 202312, 20240301 -> 20240229). */
export function previousPeriod(period: PartitionPeriod, value: number): number {
  if (period === 'year') return value - 1;
  if (period === 'month') return value % 100 === 1 ? value - 89 : value - 1;
  const label = periodLabel('day', value);
  const d = new Date(Date.parse(`${label}T00:00:00Z`) - 86_400_000);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** The first instant of a period integer, as a SQL timestamp. */
function periodStartSql(period: PartitionPeriod, value: number): string {
  const label = periodLabel(period, value);
  const day = period === 'year' ? `${label}-01-01` : period === 'month' ? `${label}-01` : label;
  return `TIMESTAMP '${day} 00:00:00'`;
}

/** The rows of one partition in `checked`. */
function partitionFilter(def: DatasetDef, grain: PartitionRule, p: PartitionPlan, alias = ''): string {
  const terms = [`${alias}_period = ${p.periodValue}`];
  if (grain.by_symbol && def.symbolColumn) terms.push(`${alias}${ident(def.symbolColumn)} = ${literal(p.key.symbol!)}`);
  return terms.join(' AND ');
}

/**
 * Rows that repeat a key within the chunk: exact repeats keep their first occurrence ('dup'
 * for the others); repeats that disagree are all quarantined ('conflict'), because nothing
 * says which is right.
 */
async function markRepeatedKeys(duck: DuckSession, def: DatasetDef, columns: readonly string[]): Promise<void> {
  const key = def.key.map(ident).join(', ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.dupKeys} AS SELECT ${key} FROM ${checkedTable} WHERE _state = 'ok' GROUP BY ${key} HAVING count(*) > 1`,
  );
  const [{ n }] = (await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${T.dupKeys}`)) as [{ n: number }];
  if (n === 0) return;
  const values = valueColumns(def)
    .filter((c) => columns.includes(c))
    .map((c) => `${ident(c)} := c.${ident(c)}`)
    .join(', ');
  const shown = (k: string) => (k === def.timeColumn ? `strftime(c.${ident(k)}, '%Y-%m-%dT%H:%M:%SZ')` : `CAST(c.${ident(k)} AS VARCHAR)`);
  const keyText = def.key.map((k) => `${literal(`${k} `)} || ${shown(k)}`).join(` || ' ' || `);
  const partition = def.key.map((k) => `c.${ident(k)}`).join(', ');
  await duck.run(
    `UPDATE ${checkedTable} SET _state = x.state, _rules = x.rules, _detail = x.detail FROM (` +
      `SELECT row, CASE WHEN variants > 1 THEN 'conflict' ELSE 'dup' END AS state, ` +
      `CASE WHEN variants > 1 THEN 'duplicate_key' END AS rules, ` +
      `CASE WHEN variants > 1 THEN 'duplicate_key: ' || n || ' rows with different values share ' || key_text END AS detail, k, variants FROM (` +
      `SELECT c.rowid AS row, ${keyText} AS key_text, count(*) OVER w AS n, count(DISTINCT struct_pack(${values})) OVER w AS variants, ` +
      `row_number() OVER (PARTITION BY ${partition} ORDER BY c.rowid) AS k ` +
      `FROM ${checkedTable} c JOIN ${T.dupKeys} d USING (${key}) WHERE c._state = 'ok' WINDOW w AS (PARTITION BY ${partition}))` +
      `) x WHERE ${checkedTable}.rowid = x.row AND (x.variants > 1 OR x.k > 1)`,
  );
}

/**
 * Plans the chunk: which partitions it touches, which of them change, and the lineage counts.
 * Reads the current files of touched partitions that have one; writes nothing.
 */
export async function stageBatch(duck: DuckSession, target: SeriesTarget, rejects: string | null, inputs: readonly string[]): Promise<StagePlan> {
  const { dataset: def, grain } = target;
  await markRepeatedKeys(duck, def, target.columns);

  const symCol = def.symbolColumn ? ident(def.symbolColumn) : 'NULL';
  const sym = grain.by_symbol && def.symbolColumn ? symCol : 'NULL';
  const keys = await duck.all<{ psym: string | null; period: number; rows: number }>(
    `SELECT ${sym} AS psym, _period AS period, count(*) FILTER (WHERE _state = 'ok') AS rows FROM ${checkedTable} ` +
      `WHERE _state IN ('ok', 'dup') GROUP BY ALL ORDER BY ALL`,
  );
  let partitions: PartitionPlan[] = keys.map((k, pid) => {
    const key: PartitionKey = { dataset: def.name, source: target.source, granularity: target.granularity, symbol: k.psym, period: periodLabel(grain.period, k.period) };
    const dir = partitionDir(key, grain);
    const now = currentDataFile(path.join(target.lakeRoot, ...dir.split('/')));
    const uri = partitionUri(key, grain, (now?.version ?? 0) + 1);
    const current = now ? { uri: `${dir}/${path.basename(now.file)}`, path: now.file } : null;
    return { pid, key, periodValue: k.period, uri, path: path.join(target.lakeRoot, ...uri.split('/')), current, existed: current !== null, changes: k.rows };
  });

  let removed = 0;
  const existing = partitions.filter((p) => p.existed);
  for (const t of [T.parts, T.old, T.cmp, T.removed]) await duck.run(`DROP TABLE IF EXISTS ${t}`);
  if (existing.length > 0) {
    removed = await compareWithLake(duck, target, existing);
    const changes = new Map(
      (await duck.all<{ pid: number; n: number }>(`SELECT _pid AS pid, count(*) FILTER (WHERE _status IN ('new', 'changed')) AS n FROM ${T.cmp} GROUP BY ALL`)).map((r) => [r.pid, r.n]),
    );
    const dropped = new Map(
      (await duck.all<{ pid: number; n: number }>(`SELECT _pid AS pid, count(*) AS n FROM ${T.removed} GROUP BY ALL`)).map((r) => [r.pid, r.n]),
    );
    partitions = partitions.map((p) => (p.existed ? { ...p, changes: (changes.get(p.pid) ?? 0) + (dropped.get(p.pid) ?? 0) } : p));
  }

  // One pass over the chunk gives lineage, the stored symbols and the coverage of new partitions.
  const pidOf = new Map(partitions.map((p) => [`${p.key.symbol ?? ''}\u0000${p.periodValue}`, p.pid]));
  const placed = `_state IN ('ok', 'dup', 'same')`;
  const ts = ident(def.timeColumn);
  const groups = await duck.all<BatchCounts & { input: string; psym: string | null; period: number | null; symbol: string | null; firstTs: string | null; lastTs: string | null }>(
    `SELECT _file AS input, CASE WHEN ${placed} THEN ${sym} END AS psym, CASE WHEN ${placed} THEN _period END AS period, ${symCol} AS symbol, ` +
      `count(*) AS recordsIn, count(*) FILTER (WHERE _state = 'ok') AS out, ` +
      `count(*) FILTER (WHERE _state IN ('dup', 'same')) AS deduped, ` +
      `count(*) FILTER (WHERE _state IN ('bad', 'conflict')) AS quarantined, ` +
      `count(*) FILTER (WHERE _state = 'filtered') AS filtered, ` +
      `${isoMicros(`min(${ts}) FILTER (WHERE _state = 'ok')`)} AS firstTs, ${isoMicros(`max(${ts}) FILTER (WHERE _state = 'ok')`)} AS lastTs ` +
      `FROM ${checkedTable} GROUP BY ALL ORDER BY ALL`,
  );
  const lineageByKey = new Map<string, LineageRow>();
  const stats = new Map<number, SeriesStats[]>();
  const symbols = new Set<string>();
  for (const g of groups) {
    const pid = g.period === null ? null : (pidOf.get(`${g.psym ?? ''}\u0000${g.period}`) ?? null);
    const key = `${g.input}\u0000${pid ?? ''}`;
    const prior = lineageByKey.get(key) ?? { input: g.input, pid, recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 };
    lineageByKey.set(key, {
      ...prior,
      recordsIn: prior.recordsIn + g.recordsIn,
      out: prior.out + g.out,
      deduped: prior.deduped + g.deduped,
      quarantined: prior.quarantined + g.quarantined,
      filtered: prior.filtered + g.filtered,
    });
    if (g.out > 0 && g.symbol !== null) symbols.add(g.symbol);
    if (g.out > 0 && pid !== null && !partitions[pid]!.existed) {
      const list = stats.get(pid) ?? [];
      const same = list.find((x) => x.symbol === g.symbol);
      const merged = same
        ? { symbol: g.symbol, rows: same.rows + g.out, firstTs: g.firstTs! < same.firstTs ? g.firstTs! : same.firstTs, lastTs: g.lastTs! > same.lastTs ? g.lastTs! : same.lastTs }
        : { symbol: g.symbol, rows: g.out, firstTs: g.firstTs!, lastTs: g.lastTs! };
      stats.set(pid, [...list.filter((x) => x !== same), merged]);
    }
  }
  const lineage = [...lineageByKey.values()];
  mergeRejects(lineage, rejects ? await duck.all<{ input: string; n: number }>(`SELECT _file AS input, count(*) AS n FROM ${rejects} GROUP BY ALL ORDER BY 1`) : []);
  // An input with no records at all (an empty file) is accounted for too.
  const seen = new Set(lineage.map((l) => l.input));
  for (const input of inputs) if (!seen.has(input)) lineage.push({ input, pid: null, recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 });
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
  return { partitions, counts, lineage, symbols: [...symbols].sort(), removed, stats };
}

/** Unparseable lines reached no partition: they join their input's no-partition row. */
function mergeRejects(lineage: LineageRow[], rejects: readonly { input: string; n: number }[]): void {
  for (const r of rejects) {
    const i = lineage.findIndex((l) => l.input === r.input && l.pid === null);
    const prior = i >= 0 ? lineage[i]! : { input: r.input, pid: null, recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 };
    const merged = { ...prior, recordsIn: prior.recordsIn + r.n, quarantined: prior.quarantined + r.n };
    if (i >= 0) lineage[i] = merged;
    else lineage.push(merged);
  }
}

/**
 * The chunk's rows of partitions that have a file, against that file: 'new', 'same' (marked
 * 'same' in checked), 'changed', or 'conflict' with a row an earlier chunk of this run stored
 * (both are quarantined; the stored one is listed in mdw_removed). Returns how many stored
 * rows are removed that way.
 */
async function compareWithLake(duck: DuckSession, target: SeriesTarget, existing: readonly PartitionPlan[]): Promise<number> {
  const { dataset: def, grain } = target;
  const columns = [...def.columns, ...lineageColumns];
  await duck.run(`CREATE TABLE ${T.parts} (pid INTEGER, psym VARCHAR, period INTEGER, path VARCHAR)`);
  for (let i = 0; i < existing.length; i += 1000) {
    const values = existing.slice(i, i + 1000).map((p) => `(${p.pid}, ${literal(p.key.symbol)}, ${p.periodValue}, ${literal(p.current!.path)})`);
    await duck.run(`INSERT INTO ${T.parts} VALUES ${values.join(', ')}`);
  }
  await duck.run(
    `CREATE TABLE ${T.old} AS SELECT p.pid AS _pid, ` +
      columns.map((c) => `CAST(o.${ident(c.name)} AS ${duckdbType[c.type]}) AS ${ident(c.name)}`).join(', ') +
      ` FROM read_parquet(${pathList(existing.map((p) => p.current!.path))}, filename = true, union_by_name = true, hive_partitioning = false) o ` +
      `JOIN ${T.parts} p ON p.path = o.filename`,
  );
  const sym = grain.by_symbol && def.symbolColumn ? `c.${ident(def.symbolColumn)}` : null;
  const partJoin = [`p.period = c._period`, ...(sym ? [`p.psym = ${sym}`] : [])].join(' AND ');
  const keyJoin = def.key.map((k) => `o.${ident(k)} = c.${ident(k)}`).join(' AND ');
  const same = valueColumns(def)
    .map((v) => `${target.columns.includes(v) ? `c.${ident(v)}` : 'NULL'} IS NOT DISTINCT FROM o.${ident(v)}`)
    .join(' AND ');
  const earlier = target.runBatchIds.length ? `o.batch_id IN (SELECT unnest(${stringList(target.runBatchIds)}))` : 'false';
  await duck.run(
    `CREATE TABLE ${T.cmp} AS SELECT c.rowid AS _row, p.pid AS _pid, ` +
      `CASE WHEN o._pid IS NULL THEN 'new' WHEN ${same} THEN 'same' WHEN ${earlier} THEN 'conflict' ${target.keepStored ? `ELSE 'differs'` : `ELSE 'changed'`} END AS _status ` +
      `FROM ${checkedTable} c JOIN ${T.parts} p ON ${partJoin} LEFT JOIN ${T.old} o ON o._pid = p.pid AND ${keyJoin} WHERE c._state = 'ok'`,
  );
  await duck.run(`UPDATE ${checkedTable} SET _state = 'same' WHERE rowid IN (SELECT _row FROM ${T.cmp} WHERE _status = 'same')`);
  if (target.keepStored) {
    await duck.run(
      `UPDATE ${checkedTable} SET _state = 'differs', _rules = 'stored_differs', ` +
        `_detail = 'stored_differs: the lake holds another row for this ' || ${literal(def.key.join(', '))} || ' (batch ' || o.batch_id || '); it is kept' ` +
        `FROM ${T.cmp} m JOIN ${checkedTable} c ON c.rowid = m._row JOIN ${T.old} o ON o._pid = m._pid AND ${def.key.map((k) => `o.${ident(k)} = c.${ident(k)}`).join(' AND ')} ` +
        `WHERE m._status = 'differs' AND ${checkedTable}.rowid = m._row`,
    );
  }
  await duck.run(
    `CREATE TABLE ${T.removed} AS SELECT o.* FROM ${T.old} o JOIN (SELECT m._pid, ${def.key.map((k) => `c.${ident(k)}`).join(', ')} FROM ${T.cmp} m ` +
      `JOIN ${checkedTable} c ON c.rowid = m._row WHERE m._status = 'conflict') x ON x._pid = o._pid AND ${def.key.map((k) => `x.${ident(k)} = o.${ident(k)}`).join(' AND ')}`,
  );
  await duck.run(
    `UPDATE ${checkedTable} SET _state = 'conflict', _rules = 'duplicate_key', ` +
      `_detail = 'duplicate_key: differs from the row an earlier chunk of this run stored for the same ' || ${literal(def.key.join(', '))} ` +
      `WHERE rowid IN (SELECT _row FROM ${T.cmp} WHERE _status = 'conflict')`,
  );
  const [{ n }] = (await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${T.removed}`)) as [{ n: number }];
  return n;
}

/**
 * Writes the new content of every changed partition to a temporary file beside its target.
 * Nothing is renamed yet: sealPartitions makes the files durable and hashes them, and
 * commitPartitions renames them after the catalog has recorded the intent.
 */
export async function writePartitions(duck: DuckSession, target: SeriesTarget, plan: StagePlan, batchId: string, width: number): Promise<WrittenPartition[]> {
  const { dataset: def, grain } = target;
  const dirty = plan.partitions.filter((p) => p.changes > 0);
  if (dirty.length === 0) return [];
  const canon = def.columns.map((c) => ident(c.name));
  // A column the transform does not produce is written as a typed NULL.
  const fromChecked = (alias: string) =>
    def.columns.map((c) => (target.columns.includes(c.name) ? `${alias}${ident(c.name)}` : `CAST(NULL AS ${duckdbType[c.type]}) AS ${ident(c.name)}`));
  const order = [def.symbolColumn, def.timeColumn].filter((c): c is string => c !== null).map(ident).join(', ');
  const outColumns = [...canon, 'granularity', 'source', 'batch_id'].join(', ');
  const stamped = `${fromChecked('').join(', ')}, ${literal(target.granularity)} AS granularity, ${literal(target.source)} AS source, ${literal(batchId)} AS batch_id`;

  // Partitions that have a file are merged in a small table: their stored rows that stay,
  // and this chunk's new and changed ones.
  const merged = dirty.filter((p) => p.existed);
  if (merged.length > 0) {
    const ids = merged.map((p) => p.pid).join(', ');
    const keyMatch = (a: string, b: string) => def.key.map((k) => `${a}.${ident(k)} = ${b}.${ident(k)}`).join(' AND ');
    // The stored rows that stay are those no changed or conflicting row replaces: an anti join
    // on the key, linear in the partition. (A correlated NOT EXISTS here ran as a nested loop:
    // 75 s to correct 20,000 minute bars that took 1 s to load.)
    await duck.run(
      `CREATE OR REPLACE TABLE ${T.merge} AS ` +
        `SELECT m._pid, ${fromChecked('c.').join(', ')}, ${literal(target.granularity)} AS granularity, ${literal(target.source)} AS source, ${literal(batchId)} AS batch_id ` +
        `FROM ${T.cmp} m JOIN ${checkedTable} c ON c.rowid = m._row WHERE m._status IN ('new', 'changed') AND m._pid IN (${ids}) ` +
        `UNION ALL SELECT o._pid, ${canon.map((c) => `o.${c}`).join(', ')}, o.granularity, o.source, o.batch_id FROM ${T.old} o ` +
        `ANTI JOIN (SELECT m._pid, ${def.key.map((k) => `c.${ident(k)}`).join(', ')} FROM ${T.cmp} m JOIN ${checkedTable} c ON c.rowid = m._row ` +
        `WHERE m._status IN ('changed', 'conflict')) x ON x._pid = o._pid AND ${keyMatch('x', 'o')} WHERE o._pid IN (${ids})`,
    );
  }
  const source = (p: PartitionPlan) =>
    p.existed ? `SELECT ${outColumns} FROM ${T.merge} WHERE _pid = ${p.pid}` : `SELECT ${stamped} FROM ${checkedTable} WHERE _state = 'ok' AND ${partitionFilter(def, grain, p)}`;

  const stats = new Map<number, SeriesStats[]>(plan.stats as Map<number, SeriesStats[]>);
  if (merged.length > 0) {
    const symCol = def.symbolColumn ? ident(def.symbolColumn) : 'NULL';
    const ts = ident(def.timeColumn);
    for (const r of await duck.all<{ pid: number; symbol: string | null; rows: number; firstTs: string; lastTs: string }>(
      `SELECT _pid AS pid, ${symCol} AS symbol, count(*) AS rows, ${isoMicros(`min(${ts})`)} AS firstTs, ${isoMicros(`max(${ts})`)} AS lastTs ` +
        `FROM ${T.merge} GROUP BY ALL ORDER BY ALL`,
    )) {
      stats.set(r.pid, [...(stats.get(r.pid) ?? []), { symbol: r.symbol, rows: r.rows, firstTs: r.firstTs, lastTs: r.lastTs }]);
    }
  }

  const tag = batchId.slice(0, 8);
  const tmpOf = (p: PartitionPlan) => path.join(path.dirname(p.path), `.${path.basename(p.path)}.${tag}.tmp`);
  for (const p of dirty) {
    mkdirDurably(path.dirname(p.path));
    removeStaleTemps(p.path);
  }
  const series = target.series;
  // With series rules, each row's flags come from its bars and the ones before it. New
  // partitions are scored in one pass over the chunk (one window over all of them, a few times
  // cheaper than a window per small partition); a merged partition is scored over its merged
  // content. The bars just before (mdw_context) are read, never written again.
  const fresh = dirty.filter((p) => !p.existed);
  if (series) await buildContext(duck, target, dirty, series);
  if (series && fresh.length > 0) await scoreFresh(duck, target, fresh, series);
  const freshIds = new Set(fresh.map((p) => p.pid));
  const content = (p: PartitionPlan) =>
    !series
      ? source(p)
      : freshIds.has(p.pid)
        ? `SELECT ${stamped}, quality, flags FROM ${checkedTable} WHERE _state = 'ok' AND ${partitionFilter(def, grain, p)}`
        : `SELECT ${outColumns}, ${series.rules.quality} AS quality, ${series.rules.flags} AS flags FROM (` +
          `SELECT *, ${series.rules.helpers} FROM (SELECT *, false AS _ctx FROM (${source(p)}) UNION ALL BY NAME ` +
          `SELECT * EXCLUDE (_pid), true AS _ctx FROM ${T.context} WHERE _pid = ${p.pid}) WINDOW ${series.rules.windows}) WHERE NOT _ctx`;
  await duck.runParallel(
    dirty.map((p) => `COPY (${content(p)} ORDER BY ${order}) TO ${literal(tmpOf(p))} (FORMAT PARQUET, COMPRESSION ZSTD)`),
    width,
  );
  return dirty.map((p) => ({ plan: p, tmpPath: tmpOf(p), ...summarizeSeries([...(stats.get(p.pid) ?? [])]) }));
}

/**
 * The bars just before each dirty partition, per symbol: the last `bars` of them within
 * `interval` of its start, from this chunk's rows of the period before and from that period's
 * file in the lake (this chunk's rows win where both have a bar).
 */
async function buildContext(duck: DuckSession, target: SeriesTarget, dirty: readonly PartitionPlan[], series: SeriesWrite): Promise<void> {
  const { dataset: def, grain } = target;
  await duck.run(`CREATE OR REPLACE TABLE ${T.ctxParts} (pid INTEGER, psym VARCHAR, pred INTEGER, cut TIMESTAMP, path VARCHAR)`);
  const preds = dirty.map((p) => {
    const pred = previousPeriod(grain.period, p.periodValue);
    const key: PartitionKey = { ...p.key, period: periodLabel(grain.period, pred) };
    const file = currentDataFile(path.join(target.lakeRoot, ...partitionDir(key, grain).split('/')))?.file ?? null;
    return { p, pred, file: file ?? '', exists: file !== null };
  });
  for (let i = 0; i < preds.length; i += 1000) {
    const values = preds
      .slice(i, i + 1000)
      .map(({ p, pred, file }) => `(${p.pid}, ${literal(p.key.symbol)}, ${pred}, ${periodStartSql(grain.period, p.periodValue)} - ${series.interval}, ${literal(file)})`);
    await duck.run(`INSERT INTO ${T.ctxParts} VALUES ${values.join(', ')}`);
  }
  const bars = ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume'];
  const pick = (alias: string) => bars.map((c) => `${alias}.${ident(c)}`).join(', ');
  const symMatch = (alias: string) => (grain.by_symbol && def.symbolColumn ? ` AND p.psym = ${alias}.symbol` : '');
  const parts = [
    `SELECT p.pid AS _pid, ${pick('c')}, 0 AS _pref FROM ${checkedTable} c JOIN ${T.ctxParts} p ON c._period = p.pred${symMatch('c')} ` +
      `WHERE c._state IN ('ok', 'same') AND c.ts >= p.cut`,
  ];
  const files = preds.filter((x) => x.exists).map((x) => x.file);
  if (files.length > 0) {
    parts.push(
      `SELECT p.pid AS _pid, ${pick('o')}, 1 AS _pref FROM read_parquet(${pathList([...new Set(files)])}, filename = true, hive_partitioning = false) o ` +
        `JOIN ${T.ctxParts} p ON p.path = o.filename${symMatch('o')} WHERE o.ts >= p.cut`,
    );
  }
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.context} AS SELECT _pid, ${bars.map(ident).join(', ')} FROM (` +
      `SELECT *, row_number() OVER (PARTITION BY _pid, symbol ORDER BY ts DESC) AS _k FROM (` +
      `SELECT DISTINCT ON (_pid, symbol, ts) * FROM (${parts.join(' UNION ALL ')}) ORDER BY _pid, symbol, ts, _pref)) ` +
      `WHERE _k <= ${series.bars}`,
  );
}

/**
 * Scores the rows of new partitions in one window pass over the chunk, with the bars before
 * each run of new partitions of a symbol (context of a partition whose predecessor is not new
 * itself), and stores quality and flags as columns of `checked`.
 */
async function scoreFresh(duck: DuckSession, target: SeriesTarget, fresh: readonly PartitionPlan[], series: SeriesWrite): Promise<void> {
  const { grain } = target;
  const bySymbol = grain.by_symbol && target.dataset.symbolColumn !== null;
  const key = (sym: string | null, period: number) => `${bySymbol ? (sym ?? '') : ''}\u0000${period}`;
  const freshKeys = new Set(fresh.map((p) => key(p.key.symbol, p.periodValue)));
  const leading = fresh.filter((p) => !freshKeys.has(key(p.key.symbol, previousPeriod(grain.period, p.periodValue)))).map((p) => p.pid);
  await duck.run(`CREATE OR REPLACE TABLE mdw_fresh (psym VARCHAR, period INTEGER)`);
  for (let i = 0; i < fresh.length; i += 1000) {
    await duck.run(`INSERT INTO mdw_fresh VALUES ${fresh.slice(i, i + 1000).map((p) => `(${literal(bySymbol ? p.key.symbol : null)}, ${p.periodValue})`).join(', ')}`);
  }
  const inFresh = bySymbol ? `(symbol, _period) IN (SELECT (psym, period) FROM mdw_fresh)` : `_period IN (SELECT period FROM mdw_fresh)`;
  const bars = 'symbol, ts, open, high, low, close, volume';
  await duck.run(
    `CREATE OR REPLACE TABLE mdw_scores AS SELECT _row, ${series.rules.quality} AS quality, ${series.rules.flags} AS flags FROM (` +
      `SELECT *, ${series.rules.helpers} FROM (` +
      `SELECT rowid AS _row, ${bars} FROM ${checkedTable} WHERE _state = 'ok' AND ${inFresh} ` +
      `UNION ALL SELECT NULL, ${bars} FROM ${T.context} WHERE _pid IN (${leading.length ? leading.join(', ') : 'NULL'})` +
      `) WINDOW ${series.rules.windows}) WHERE _row IS NOT NULL`,
  );
  await duck.run(`ALTER TABLE ${checkedTable} ADD COLUMN IF NOT EXISTS quality DOUBLE`);
  await duck.run(`ALTER TABLE ${checkedTable} ADD COLUMN IF NOT EXISTS flags VARCHAR`);
  await duck.run(`UPDATE ${checkedTable} SET quality = s.quality, flags = s.flags FROM mdw_scores s WHERE ${checkedTable}.rowid = s._row`);
  await duck.run('DROP TABLE mdw_scores');
  await duck.run('DROP TABLE mdw_fresh');
}

/** Per series flag (and 'below_threshold'), the rows of this batch in written files that carry it. */
export async function flagCounts(duck: DuckSession, written: readonly WrittenPartition[], batchId: string, threshold: number): Promise<Record<string, number>> {
  if (written.length === 0) return {};
  const rows = await duck.all<{ flag: string; n: number }>(
    `SELECT flag, count(*) AS n FROM (` +
      `SELECT unnest(string_split(flags, ',')) AS flag FROM read_parquet(${pathList(written.map((w) => w.tmpPath))}, hive_partitioning = false) ` +
      `WHERE batch_id = ${literal(batchId)} AND flags IS NOT NULL ` +
      `UNION ALL SELECT 'below_threshold' FROM read_parquet(${pathList(written.map((w) => w.tmpPath))}, hive_partitioning = false) ` +
      `WHERE batch_id = ${literal(batchId)} AND quality < ${literal(threshold)}) GROUP BY ALL ORDER BY ALL`,
  );
  return Object.fromEntries(rows.map((r) => [r.flag, Number(r.n)]));
}

/**
 * Before the catalog records written files they must survive a power loss: the files and the
 * folders that name them are fsynced, and each file is hashed. Needs no DuckDB, so it can run
 * while DuckDB reads the next chunk.
 */
export async function sealPartitions(written: readonly WrittenPartition[]): Promise<SealedPartition[]> {
  const sealed = await mapLimited(written, 8, async (w): Promise<SealedPartition> => {
    await fsyncFileAsync(w.tmpPath);
    return { ...w, ...(await hashFile(w.tmpPath)) };
  });
  for (const dir of new Set(written.map((w) => path.dirname(w.tmpPath)))) fsyncDir(dir);
  return sealed;
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

/** Drops the tables of a chunk. */
export async function releaseStage(duck: DuckSession): Promise<void> {
  for (const t of [checkedTable, ...Object.values(T)]) await duck.run(`DROP TABLE IF EXISTS ${t}`);
}

/** Stored rows that this chunk's conflicts removed, for the quarantine. */
export const removedTable = T.removed;

/**
 * Temp files that a run killed before its catalog commit left beside a partition's files.
 * Pending writes are recovered before any staging, so whatever is left here is garbage.
 */
function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  for (const name of readdirSync(dir)) if (isTempName(name)) rmSync(path.join(dir, name), { force: true });
}
