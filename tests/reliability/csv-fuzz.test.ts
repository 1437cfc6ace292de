import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { MdwError } from '../../src/core/errors.js';
import { runIngest, type IngestOptions, type IngestResult } from '../../src/pipeline/run-ingest.js';
import { csvCorpus, referenceRecords, type CorpusCase } from '../support/csv-corpus.js';
import { runMdw, testContext } from '../support/helpers.js';
import { cases, fullReliability, fuzzBench, Hang, within, type FuzzBench } from '../support/reliability.js';

/**
 * The fuzz corpus of malformed CSV inputs (tests/support/csv-corpus.ts): every case must end
 * stored, quarantined with a reason, or refused with exit 2; never a crash (any other error),
 * never a hang (a generous limit), never a record unaccounted for (each input's records, as
 * the test counts them itself, are all stored, repeated, quarantined or filtered). A sample in
 * make test; the whole corpus with MDW_RELIABILITY=full. Every tenth case also runs through
 * bin/mdw, as a user runs it.
 */

const seed = 20_251_203;
const corpus = csvCorpus(seed, cases(40, 330));
const throughCli = corpus.filter((c) => c.id % 10 === 3);
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
/** No case of a few small files may take anywhere near this, however loaded the machine. */
const hangLimitMs = 180_000;

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let cli: FuzzBench['cli'];
let bench: FuzzBench | undefined;
const outcomes = { stored: 0, quarantined: 0, refused: 0, crashes: 0, hangs: 0, unaccounted: 0 };
const cliOutcomes: { id: number; code: number }[] = [];

beforeAll(async () => {
  bench = await fuzzBench('mdw-fuzz-');
  ({ root, configs, ctx, cli } = bench);
  catalog = await ctx.catalog();
});

afterAll(async () => {
  await bench?.close();
  // The figures for the issue's closing note.
  console.info(
    `csv fuzz corpus (seed ${seed}, ${fullReliability ? 'full' : 'sample'}): ${corpus.length} cases: ` +
      `${outcomes.stored} stored, ${outcomes.quarantined} quarantined, ${outcomes.refused} refused; ` +
      `${outcomes.crashes} crashes, ${outcomes.hangs} hangs, ${outcomes.unaccounted} records unaccounted for; ${cliOutcomes.length} also through bin/mdw`,
  );
});

/** Writes a case's files and its job; returns the job's name. */
function stage(c: CorpusCase): string {
  const dir = path.join(root, 'fuzz', String(c.id));
  mkdirSync(dir, { recursive: true });
  for (const f of c.files) writeFileSync(path.join(dir, f.name), f.bytes);
  const name = `fuzz-${c.id}`;
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: 1d\n${c.calendar ? 'calendar: XNYS\n' : ''}` +
      `source: { name: ${name}, adapter: file, files: ['../../fuzz/${c.id}/*'] }\ntransform: ${c.layout}\n`,
  );
  return name;
}

describe('the CSV fuzz corpus', () => {
  for (const c of corpus) {
    const title = c.damage.join('; ');
    test(`case ${c.id} (${c.layout}${c.calendar ? ', XNYS' : ''}): ${title.length > 160 ? `${title.slice(0, 160)}…` : title}`, async () => {
      const name = stage(c);
      let result: IngestResult;
      try {
        result = await within(runIngest(ctx, loadJob(configs, name, ctx.env), all), hangLimitMs, `case ${c.id}`);
      } catch (err) {
        if (err instanceof Hang) {
          outcomes.hangs++;
          throw err;
        }
        // Refused: a typed error of bad input, exit 2, one line. Anything else is a crash.
        if (!(err instanceof MdwError) || err.exitCode !== 2) {
          outcomes.crashes++;
          throw new Error(`case ${c.id} crashed (${title}): ${(err as Error).stack}`);
        }
        expect(err.message).not.toContain('\n');
        expect({ refused: true, expected: c.refused }).toEqual({ refused: true, expected: true });
        outcomes.refused++;
        return;
      }
      expect({ refused: false, expected: c.refused }).toEqual({ refused: false, expected: false });
      const batches = result.batchIds as string[];
      // Every record of every input, counted here from the file's bytes, is accounted for.
      const lineage = await catalog.sql<{ raw_uri: string; n: number; q: number }[]>`
        select raw_uri, sum(records_out + deduped + quarantined + filtered)::int as n, sum(quarantined)::int as q
        from mdw.lineage_item where batch_id = any(${batches}::uuid[]) group by 1 order by 1`;
      const dir = path.join(root, 'fuzz', String(c.id));
      const accounted = Object.fromEntries(lineage.map((l) => [path.basename(l.raw_uri), l.n]));
      const counted = Object.fromEntries(c.files.map((f) => [f.name, referenceRecords(f.bytes, f.name)]));
      for (const f of c.files) outcomes.unaccounted += Math.abs((counted[f.name] ?? 0) - (accounted[f.name] ?? 0));
      expect(accounted).toEqual(counted);
      expect(lineage.map((l) => path.dirname(l.raw_uri))).toEqual(c.files.map(() => dir));
      // Each quarantined record is in the catalog, with rules and a reason.
      const [q] = await catalog.sql<{ n: number; unexplained: number }[]>`
        select count(*)::int as n, count(*) filter (where reason = '' or cardinality(rules) = 0)::int as unexplained
        from mdw.quarantine_record where batch_id = any(${batches}::uuid[])`;
      expect(q).toEqual({ n: result.counts.quarantined, unexplained: 0 });
      // What the lake holds of these batches is what they say they stored, under sane symbols.
      if (result.writes.length > 0) {
        const duck = await ctx.duck();
        const files = result.writes.map((w) => `'${path.join(ctx.paths.lake, w.uri)}'`).join(', ');
        const [lake] = await duck.all<{ n: number; odd: number }>(
          `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE NOT regexp_full_match(symbol, '[!-~]+( +[!-~]+)*') OR length(symbol) > 32)::INTEGER AS odd ` +
            `FROM read_parquet([${files}]) WHERE batch_id IN (SELECT unnest([${batches.map((b) => `'${b}'`).join(', ')}]))`,
        );
        expect(lake).toEqual({ n: result.counts.out, odd: 0 });
      } else expect(result.counts.out).toBe(0);
      if (result.counts.quarantined > 0) outcomes.quarantined++;
      else outcomes.stored++;
    });
  }
});

describe('a sample of the corpus through bin/mdw', () => {
  for (const c of throughCli) {
    test(`case ${c.id}: exit 0 or 2, one line on error, no stack trace`, async () => {
      const name = stage(c);
      const env = { MDW_HOME: cli.home, MDW_CONFIG_DIR: configs, MDW_DATABASE_URL: cli.url };
      if (cliOutcomes.length === 0) expect((await runMdw(['init', '--yes'], { env })).code).toBe(0);
      const r = await runMdw(['ingest', name, '--format', 'json'], { env });
      cliOutcomes.push({ id: c.id, code: r.code });
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect({ code: r.code }).toEqual({ code: c.refused ? 2 : 0 });
      if (r.code === 2) {
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('mdw: '));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toContain(path.join(root, 'fuzz', String(c.id)));
      }
    });
  }

  test('every run the CLI made ended with a status and its exit code', async () => {
    const cliCtx = testContext({ home: cli.home, databaseUrl: cli.url, configDir: configs });
    try {
      const runs = await (await cliCtx.catalog()).sql<{ job: string; status: string; exit_code: number }[]>`
        select job, status, exit_code from mdw.ingest_run where command = 'ingest' order by started_at`;
      expect(runs.map((r) => [r.job, r.status, r.exit_code])).toEqual(
        cliOutcomes.map((o) => [`fuzz-${o.id}`, o.code === 0 ? 'ok' : 'failed', o.code]),
      );
    } finally {
      await cliCtx.close();
    }
  });
});
