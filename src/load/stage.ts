import { lineageColumns, valueColumns, duckdbType, type DatasetDef } from '../core/datasets.js';
import { ident, literal, pathList, stringList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { partitionDir, partitionUri, type PartitionKey } from '../lake/layout.js';
import { currentDataFile } from '../lake/partition-files.js';
import { periodLabel } from './periods.js';
import { checkedTable, isoMicros, workTables as T, type BatchCounts, type LineageRow, type PartitionPlan, type SeriesStats, type SeriesTarget, type StagePlan, targetStore } from './staged-chunk.js';
import { placedStates, quarantinedStates, repeatedStates, stateIs, stateSql } from '../core/row-state.js';

/**
 * Rows that repeat a key within the chunk: exact repeats keep their first occurrence ('dup'
 * for the others); repeats that disagree are all quarantined ('conflict'), because nothing
 * says which is right.
 */
async function markRepeatedKeys(duck: DuckSession, def: DatasetDef, columns: readonly string[]): Promise<void> {
  const key = def.key.map(ident).join(', ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.dupKeys} AS SELECT ${key} FROM ${checkedTable} WHERE ${stateIs('ok')} GROUP BY ${key} HAVING count(*) > 1`,
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
      `SELECT row, CASE WHEN variants > 1 THEN ${stateSql('conflict')} ELSE ${stateSql('dup')} END AS state, ` +
      `CASE WHEN variants > 1 THEN 'duplicate_key' END AS rules, ` +
      `CASE WHEN variants > 1 THEN 'duplicate_key: ' || n || ' rows with different values share ' || key_text END AS detail, k, variants FROM (` +
      `SELECT c.rowid AS row, ${keyText} AS key_text, count(*) OVER w AS n, count(DISTINCT struct_pack(${values})) OVER w AS variants, ` +
      `row_number() OVER (PARTITION BY ${partition} ORDER BY c.rowid) AS k ` +
      `FROM ${checkedTable} c JOIN ${T.dupKeys} d USING (${key}) WHERE ${stateIs('ok', 'c')} WINDOW w AS (PARTITION BY ${partition}))` +
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
    `SELECT ${sym} AS psym, _period AS period, count(*) FILTER (WHERE ${stateIs('ok')}) AS rows FROM ${checkedTable} ` +
      `WHERE ${stateIs(['ok', 'dup'])} GROUP BY ALL ORDER BY ALL`,
  );
  const store = targetStore(target);
  let partitions: PartitionPlan[] = keys.map((k, pid) => {
    const key: PartitionKey = { dataset: def.name, source: target.source, granularity: target.granularity, symbol: k.psym, period: periodLabel(k.period) };
    const now = currentDataFile(store, partitionDir(key, grain));
    const uri = partitionUri(key, grain, (now?.version ?? 0) + 1);
    const current = now ? { uri: now.uri, path: store.locate(now.uri) } : null;
    return { pid, key, periodValue: k.period, uri, path: store.locate(uri), current, existed: current !== null, changes: k.rows };
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
  const placed = stateIs(placedStates);
  const ts = ident(def.timeColumn);
  const groups = await duck.all<BatchCounts & { input: string; psym: string | null; period: number | null; symbol: string | null; firstTs: string | null; lastTs: string | null }>(
    `SELECT _file AS input, CASE WHEN ${placed} THEN ${sym} END AS psym, CASE WHEN ${placed} THEN _period END AS period, ${symCol} AS symbol, ` +
      `count(*) AS recordsIn, count(*) FILTER (WHERE ${stateIs('ok')}) AS out, ` +
      `count(*) FILTER (WHERE ${stateIs(repeatedStates)}) AS deduped, ` +
      `count(*) FILTER (WHERE ${stateIs(quarantinedStates)}) AS quarantined, ` +
      `count(*) FILTER (WHERE ${stateIs('filtered')}) AS filtered, ` +
      `${isoMicros(`min(${ts}) FILTER (WHERE ${stateIs('ok')})`)} AS firstTs, ${isoMicros(`max(${ts}) FILTER (WHERE ${stateIs('ok')})`)} AS lastTs ` +
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
  const stored = `read_parquet(${pathList(existing.map((p) => p.current!.path))}, filename = true, union_by_name = true, hive_partitioning = false)`;
  // Files written before a column joined the dataset do not have it: NULL there.
  const has = new Set((await duck.describe(`SELECT * FROM ${stored}`)).map((c) => c.name));
  await duck.run(
    `CREATE TABLE ${T.old} AS SELECT p.pid AS _pid, ` +
      columns.map((c) => `CAST(${has.has(c.name) ? `o.${ident(c.name)}` : 'NULL'} AS ${duckdbType[c.type]}) AS ${ident(c.name)}`).join(', ') +
      ` FROM ${stored} o JOIN ${T.parts} p ON p.path = o.filename`,
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
      `FROM ${checkedTable} c JOIN ${T.parts} p ON ${partJoin} LEFT JOIN ${T.old} o ON o._pid = p.pid AND ${keyJoin} WHERE ${stateIs('ok', 'c')}`,
  );
  await duck.run(`UPDATE ${checkedTable} SET _state = ${stateSql('same')} WHERE rowid IN (SELECT _row FROM ${T.cmp} WHERE _status = 'same')`);
  if (target.keepStored) {
    await duck.run(
      `UPDATE ${checkedTable} SET _state = ${stateSql('differs')}, _rules = 'stored_differs', ` +
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
    `UPDATE ${checkedTable} SET _state = ${stateSql('conflict')}, _rules = 'duplicate_key', ` +
      `_detail = 'duplicate_key: differs from the row an earlier chunk of this run stored for the same ' || ${literal(def.key.join(', '))} ` +
      `WHERE rowid IN (SELECT _row FROM ${T.cmp} WHERE _status = 'conflict')`,
  );
  const [{ n }] = (await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${T.removed}`)) as [{ n: number }];
  return n;
}

