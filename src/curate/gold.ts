import type { GoldSpec } from '../config/curate.js';
import type { Context } from '../context.js';
import { ident, literal, pathList, stringList } from '../core/sql.js';
import { datasets } from '../core/datasets.js';
import type { DuckSession } from '../lake/duckdb.js';
import { seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentObjectsUnder } from '../lake/partition-files.js';
import { curatedLandingDir } from '../lake/raw-landing.js';
import { docKey, landDocuments, type DocPlan, type Landed, type LandOptions } from './landing.js';
import { seriesSettings } from '../validate/series-rules.js';

/** One gold partition's inputs: each source's current file of that partition, by priority. */
interface GoldInputs {
  /** The partition below the series folder: year=2024, or symbol=AAPL/month=2024-03. */
  readonly partition: string;
  readonly files: readonly { readonly source: string; readonly priority: number; readonly threshold: number; readonly path: string; readonly uri: string }[];
}

export interface LandedGold extends Landed {
  /** Partitions of the sources read. */
  readonly partitions: number;
}

/**
 * Chooses the gold series partition by partition and lands each as an NDJSON document named by
 * the partition and a key of the source files it was chosen from (their versions, the symbols,
 * the rules): a partition none of whose sources changed keeps its document and is not computed
 * again. For each (symbol, ts), the bar is the first source's (by priority) whose quality passes
 * that source's validation threshold, else the first source's that has it: one vendor's bar,
 * never an average. It keeps where it came from, how many sources had the bar, and how far the
 * others' closes are from it.
 */
export async function landGold(ctx: Context, gold: GoldSpec, options: LandOptions): Promise<LandedGold> {
  const granularity = gold.sources[0]!.granularity.text;
  const groups = goldInputs(ctx, gold, options.symbols);
  const duck = await ctx.duck();
  const plans = groups.map((group): DocPlan => {
    const stem = group.partition.replaceAll('/', '~');
    const key = docKey([group.files.map((f) => [f.source, f.uri, f.threshold]), options.symbols, gold.tolerance]);
    return { stem, name: `${stem}.${key}.ndjson`, partitions: group.files.map((f) => f.uri), sql: () => goldSql(duck, group, gold.tolerance, options.symbols) };
  });
  const landed = await landDocuments(ctx, curatedLandingDir(gold.name, 'ohlcv_gold', granularity), plans, options.dryRun, options.record);
  return { ...landed, partitions: groups.length };
}

/** Each partition of the gold sources' series, with every source's current file of it. */
function goldInputs(ctx: Context, gold: GoldSpec, symbols: readonly string[] | null): GoldInputs[] {
  const store = localStore(ctx.paths.lake);
  const groups = new Map<string, GoldInputs['files'][number][]>();
  gold.sources.forEach((job, priority) => {
    const base = seriesDir('ohlcv', job.spec.source.name, job.granularity.text);
    const threshold = seriesSettings(job.validation.value).threshold;
    for (const uri of currentObjectsUnder(store, base)) {
      const partition = uri.slice(base.length + 1, uri.lastIndexOf('/'));
      const symbol = /^symbol=([^/]+)\//.exec(partition)?.[1];
      if (symbols && symbol !== undefined && !symbols.includes(decodeURIComponent(symbol))) continue;
      groups.set(partition, [...(groups.get(partition) ?? []), { source: job.spec.source.name, priority, threshold, path: store.locate(uri), uri }]);
    }
  });
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([partition, files]) => ({ partition, files }));
}

const optional = ['vwap', 'trades', 'adj_close'] as const;

/** The gold bars of one partition, as NDJSON rows named as ohlcv_gold's columns (ts as ISO 8601 UTC). */
async function goldSql(duck: DuckSession, group: GoldInputs, tolerance: number, symbols: readonly string[] | null): Promise<string> {
  const only = symbols ? ` WHERE symbol IN (SELECT unnest(${stringList([...symbols])}))` : '';
  const parts: string[] = [];
  for (const f of group.files) {
    const from = `read_parquet(${pathList([f.path])}, hive_partitioning = false)`;
    const has = new Set((await duck.describe(`SELECT * FROM ${from}`)).map((c) => c.name));
    const value = (c: string) => (has.has(c) ? ident(c) : 'NULL');
    parts.push(
      `SELECT symbol, ts, open, high, low, close, volume, ${optional.map((c) => `${value(c)} AS ${c}`).join(', ')}, ${literal(f.source)} AS gold_source, ${f.priority} AS _priority, ` +
        `coalesce(${value('quality')}, 1.0) >= ${literal(f.threshold)} AS _passed FROM ${from}${only}`,
    );
  }
  // The bar columns gold bars have (ohlcv's crypto quote_volume is not one of them).
  const bar = datasets.ohlcv.columns.map((c) => c.name).filter((c) => c !== 'ts' && datasets.ohlcv_gold.columns.some((g) => g.name === c));
  return (
    `WITH c AS (${parts.join(' UNION ALL ')}), ` +
    `r AS (SELECT *, row_number() OVER (PARTITION BY symbol, ts ORDER BY _passed DESC, _priority) AS _rank, count(*) OVER (PARTITION BY symbol, ts) AS sources FROM c), ` +
    `s AS (SELECT g.symbol, g.ts, max(abs(o.close / g.close - 1)) AS spread FROM r g JOIN r o ON o.symbol = g.symbol AND o.ts = g.ts AND o._rank > 1 WHERE g._rank = 1 GROUP BY ALL) ` +
    `SELECT ${bar.map((c) => `r.${ident(c)}`).join(', ')}, strftime(r.ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, r.gold_source, r.sources, ` +
    `coalesce(s.spread > ${literal(tolerance)}, false) AS disagree, s.spread ` +
    `FROM r LEFT JOIN s ON s.symbol = r.symbol AND s.ts = r.ts WHERE r._rank = 1 ORDER BY r.symbol, r.ts`
  );
}
