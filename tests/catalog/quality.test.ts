import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { listQuarantine } from '../../src/catalog/quarantine-catalog.js';
import { calendars } from '../../src/calendar/registry.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { replayQuarantine } from '../../src/pipeline/replay.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { copyConfigs, freshCatalog, removeDir, runMdw, tempDir, testContext, currentFiles, openWarehouse } from '../support/helpers.js';

/**
 * Data quality on the load path: the session rule, series flags and quality scores written
 * beside the data, the quarantine kept in the catalog, and a replay after a rule change.
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ root, configs, ctx, catalog, close } = await openWarehouse());
});

afterAll(() => close());

interface Bar {
  day: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Writes a Yahoo-layout file and a daily job over it (XNYS, the given validation). */
function dailyJob(name: string, symbol: string, bars: readonly Bar[], validation = 'default'): string {
  const dir = path.join(root, 'data', name);
  mkdirSync(dir, { recursive: true });
  const lines = bars.map((b) => `${b.day},${b.open},${b.high},${b.low},${b.close},${b.close},${b.volume}`);
  writeFileSync(path.join(dir, `${symbol}.csv`), ['Date,Open,High,Low,Close,Adj Close,Volume', ...lines].join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nvalidation: ${validation}\nsource: { name: ${name}, adapter: file, files: ['${dir}/*.csv'] }\ntransform: yahoo\n`,
  );
  return name;
}

/** Flat bars, one per XNYS session, at `price` (varying a little so nothing is stale). */
function sessions(from: string, to: string, price: (i: number, day: string) => number, volume = (_i: number) => 1000): Bar[] {
  return calendars.XNYS.sessions(from, to).map((s, i) => {
    const p = price(i, s.date);
    const wiggle = (i % 3) * 0.01 * p;
    return { day: s.date, open: p, high: p + wiggle + 0.02 * p, low: p - 0.02 * p, close: p + wiggle, volume: volume(i) };
  });
}

async function stored(source: string, where = 'true') {
  const duck = await ctx.duck();
  return duck.all<{ day: string; close: number; quality: number; flags: string | null }>(
    `SELECT strftime(ts, '%Y-%m-%d') AS day, close, quality, flags FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=${source}`)}) WHERE ${where} ORDER BY ts`,
  );
}

describe('series flags and quality scores', () => {
  test('a 7:1 split is a flagged gap in raw prices, also across a year boundary, and none once adjusted', async () => {
    // Raw prices fall from ~600 to ~86 at the split (2014-06-09) and at the first session of 2015.
    const raw = sessions('2014-05-01', '2015-01-31', (_i, d) => (d >= '2015-01-01' ? 12 : d >= '2014-06-09' ? 86 : 600));
    await runIngest(ctx, loadJob(configs, dailyJob('raw', 'AAPL', raw), ctx.env), all);
    const flagged = await stored('raw', 'flags IS NOT NULL');
    const close = (day: string) => raw.find((b) => b.day === day)!.close;
    expect(flagged).toEqual([
      { day: '2014-06-09', close: close('2014-06-09'), quality: 0.5, flags: 'gap' },
      // The first bar of the 2015 file is judged against the last bars of the 2014 file.
      { day: '2015-01-02', close: close('2015-01-02'), quality: 0.5, flags: 'gap' },
    ]);
    // Queries show the score and flags, and --min-quality keeps the validated rows only.
    const query = (...extra: string[]) =>
      runMdw(['--home', ctx.settings.home, 'query', 'ohlcv', 'AAPL', '--source', 'raw', '--from', '2014-06-05', '--to', '2014-06-10', '--columns', 'ts,quality,flags', ...extra]);
    expect((await query()).stdout).toBe(
      'ts,quality,flags\n2014-06-05T00:00:00Z,1,\n2014-06-06T00:00:00Z,1,\n2014-06-09T00:00:00Z,0.5,gap\n2014-06-10T00:00:00Z,1,\n',
    );
    expect((await query('--min-quality', '0.85')).stdout).toBe('ts,quality,flags\n2014-06-05T00:00:00Z,1,\n2014-06-06T00:00:00Z,1,\n2014-06-10T00:00:00Z,1,\n');
    const bad = await query('--min-quality', '85');
    expect([bad.code, bad.stderr]).toEqual([2, "error: option '--min-quality <score>' argument '85' is invalid. expected a score from 0 to 1, e.g. 0.85\n(run with --help for usage)\n"]);
    const adjusted = sessions('2014-05-01', '2015-01-31', () => 86);
    await runIngest(ctx, loadJob(configs, dailyJob('adjusted', 'AAPL', adjusted), ctx.env), all);
    expect(await stored('adjusted', 'flags IS NOT NULL')).toEqual([]);
    expect((await stored('adjusted', 'quality = 1')).length).toBe(adjusted.length);
  });

  test('volume spikes and droughts against the rolling median, and stale prices, are flagged and scored', async () => {
    const bars = sessions('2024-01-02', '2024-03-28', () => 50, (i) => (i === 30 ? 50_000 : i === 40 ? 10 : 1000));
    // Five sessions in a row at one unchanged price (high = low = close).
    for (let i = 50; i < 55; i++) bars[i] = { ...bars[i]!, open: 51, high: 51, low: 51, close: 51 };
    const job = loadJob(configs, dailyJob('anomalies', 'ACME', bars), ctx.env);
    const result = await runIngest(ctx, job, all);
    const flagged = await stored('anomalies', 'flags IS NOT NULL');
    expect(flagged.map((r) => [r.day, r.flags, r.quality])).toEqual([
      [bars[30]!.day, 'volume_spike', 0.9],
      [bars[40]!.day, 'volume_low', 0.9],
      [bars[54]!.day, 'stale', 0.8],
    ]);
    // The batch's validation summary counts them, and the rows below the 0.85 threshold (the stale one).
    const summary = await catalog.sql<{ kind: string; rule: string; rows: number }[]>`
      select kind, rule, rows::int as rows from mdw.validation_summary where batch_id = ${result.batchIds[0]!} order by kind, rule`;
    expect(summary).toEqual([
      { kind: 'series', rule: 'below_threshold', rows: 1 },
      { kind: 'series', rule: 'stale', rows: 1 },
      { kind: 'series', rule: 'volume_low', rows: 1 },
      { kind: 'series', rule: 'volume_spike', rows: 1 },
    ]);
  });
});

describe('the in_session rule', () => {
  test('a daily bar on a holiday or a weekend is quarantined with its reason', async () => {
    const bars = [
      ...sessions('2024-07-01', '2024-07-03', () => 10),
      { day: '2024-07-04', open: 10, high: 10.5, low: 9.5, close: 10, volume: 5 }, // Independence Day
      { day: '2024-07-06', open: 10, high: 10.5, low: 9.5, close: 10, volume: 5 }, // a Saturday
      ...sessions('2024-07-05', '2024-07-05', () => 10),
    ];
    const result = await runIngest(ctx, loadJob(configs, dailyJob('holiday', 'HOL', bars), ctx.env), all);
    expect(result.counts).toMatchObject({ recordsIn: 6, out: 4, quarantined: 2 });
    const { records } = await listQuarantine(catalog.sql, { source: 'holiday' });
    expect(records.map((r) => [r.record_no, r.rules, r.reason])).toEqual([
      [4, ['in_session'], 'in_session: 2024-07-04 is not a XNYS session'],
      [5, ['in_session'], 'in_session: 2024-07-06 is not a XNYS session'],
    ]);
    // The raw form is the line as the file had it, found again after the transform.
    expect(JSON.parse(records[0]!.raw)).toEqual({ Date: '2024-07-04', Open: '10', High: '10.5', Low: '9.5', Close: '10', 'Adj Close': '10', Volume: '5' });
  });

  test('a minute bar in the pre- or post-market is left out of a regular-hours job and kept with extended_hours; one outside every session is quarantined', async () => {
    const dir = path.join(root, 'data', 'minute');
    mkdirSync(dir, { recursive: true });
    // 2024-03-08: regular hours 09:30-16:00 New York, extended 04:00-20:00; 08:00 and 09:29 are
    // pre-market, 16:00 post-market; 03:00 is before any of it, and 2024-03-09 is a Saturday.
    const rows = [
      ...['09:29', '09:30', '15:59', '16:00', '08:00', '03:00'].map((t) => `acme;2024/03/08;${t};1000;1001;999;1000;10`),
      'acme;2024/03/09;10:00;1000;1001;999;1000;10',
    ];
    writeFileSync(path.join(dir, 'bars.csv'), ['ticker;day;time;o;h;l;c;qty', ...rows].join('\n') + '\n');
    const write = (name: string, extended: boolean) =>
      writeFileSync(
        path.join(configs, 'jobs', `${name}.yml`),
        `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nextended_hours: ${extended}\nsource: { name: ${name}, adapter: file, files: ['${dir}/bars.csv'] }\ntransform: custom-minute\n`,
      );
    write('regular', false);
    write('extended', true);
    const regular = await runIngest(ctx, loadJob(configs, 'regular', ctx.env), all);
    expect(regular.counts).toMatchObject({ recordsIn: 7, out: 2, filtered: 3, quarantined: 2 });
    const { records } = await listQuarantine(catalog.sql, { source: 'regular' });
    expect(records.map((r) => r.reason)).toEqual([
      "in_session: 2024-03-08T08:00:00Z (a 1m bar) overlaps no XNYS session, pre- and post-market included; that day's: 14:30-21:00Z",
      'in_session: 2024-03-09T15:00:00Z (a 1m bar) overlaps no XNYS session; no session that day',
    ]);
    const extended = await runIngest(ctx, loadJob(configs, 'extended', ctx.env), all);
    expect(extended.counts).toMatchObject({ recordsIn: 7, out: 5, filtered: 0, quarantined: 2 });
  });

  test('a clock-aligned hourly bar that starts before the open belongs to the session: 09:00-10:00 holds the 09:30 open', async () => {
    const dir = path.join(root, 'data', 'hourly');
    mkdirSync(dir, { recursive: true });
    // A full day (2024-07-05) and the 13:00 early close before Independence Day (2024-07-03),
    // with the vendor's pre- and post-market hours as Polygon sends them (to 20:00, or 17:00
    // after an early close).
    const hours = (day: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `hrly;${day};${String(from + i).padStart(2, '0')}:00;100;101;99;100;10`);
    writeFileSync(
      path.join(dir, 'bars.csv'),
      ['ticker;day;time;o;h;l;c;qty', ...hours('2024/07/03', 4, 16), ...hours('2024/07/05', 4, 19)].join('\n') + '\n',
    );
    writeFileSync(
      path.join(configs, 'jobs', 'hourly.yml'),
      `dataset: ohlcv\ngranularity: 1h\ncalendar: XNYS\nsource: { name: hourly, adapter: file, files: ['${dir}/bars.csv'] }\ntransform: custom-minute\n`,
    );
    const job = loadJob(configs, 'hourly', ctx.env);
    const result = await runIngest(ctx, job, all);
    // 09:00-15:00 on the full day (7 bars), 09:00-12:00 before the early close (4); the rest is pre- or post-market.
    expect(result.counts).toMatchObject({ recordsIn: 29, out: 11, filtered: 18, quarantined: 0 });
    const duck = await ctx.duck();
    const kept = await duck.all<{ day: string; hours: string }>(
      `SELECT strftime(ts, '%Y-%m-%d') AS day, string_agg(strftime(timezone('America/New_York', ts::TIMESTAMPTZ), '%H'), ',' ORDER BY ts) AS hours ` +
        `FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=hourly`)}) GROUP BY 1 ORDER BY 1`,
    );
    expect(kept).toEqual([
      { day: '2024-07-03', hours: '09,10,11,12' },
      { day: '2024-07-05', hours: '09,10,11,12,13,14,15' },
    ]);
    // The ledger expects the same bars by the same rule: both sessions GREEN.
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([
      { symbol: 'HRLY', firstSession: '2024-07-03', lastSession: '2024-07-05', status: 'GREEN', sessions: 2, expectedBars: 11, presentBars: 11, quarantined: 0 },
    ]);
  });
});

describe('the ledger shows the sessions whose rows were quarantined', () => {
  test('a rejected first bar, a rejected bar inside the series and a symbol rejected whole are not GREEN', async () => {
    const good = sessions('2024-04-01', '2024-04-12', () => 30);
    const first = good.map((b, i) => (i === 0 ? { ...b, high: 1 } : b)); // high below low: ohlc_bracket
    const inside = good.map((b, i) => (i === 5 ? { ...b, open: -3 } : b)); // positive_prices
    const whole = good.map((b) => ({ ...b, volume: -1 })); // non_negative_volume, every bar
    const name = 'held';
    const dir = path.join(root, 'data', name);
    mkdirSync(dir, { recursive: true });
    const write = (symbol: string, bars: readonly Bar[]) =>
      writeFileSync(path.join(dir, `${symbol}.csv`), ['Date,Open,High,Low,Close,Adj Close,Volume', ...bars.map((b) => `${b.day},${b.open},${b.high},${b.low},${b.close},${b.close},${b.volume}`)].join('\n') + '\n');
    write('FRST', first);
    write('INSD', inside);
    write('WHLE', whole);
    dailyJob(name, 'OKAY', good);
    const job = loadJob(configs, name, ctx.env);
    const result = await runIngest(ctx, job, all);
    expect(result.counts).toMatchObject({ recordsIn: 40, out: 28, quarantined: 12 });
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger.map((r) => [r.symbol, r.status, r.firstSession, r.lastSession, r.sessions, r.presentBars, r.quarantined])).toEqual([
      ['FRST', 'RED', '2024-04-01', '2024-04-01', 1, 0, 1],
      ['FRST', 'GREEN', '2024-04-02', '2024-04-12', 9, 9, 0],
      ['INSD', 'GREEN', '2024-04-01', '2024-04-05', 5, 5, 0],
      ['INSD', 'RED', '2024-04-08', '2024-04-08', 1, 0, 1],
      ['INSD', 'GREEN', '2024-04-09', '2024-04-12', 4, 4, 0],
      ['OKAY', 'GREEN', '2024-04-01', '2024-04-12', 10, 10, 0],
      ['WHLE', 'RED', '2024-04-01', '2024-04-12', 10, 0, 10],
    ]);
    expect(audit.symbols.find((x) => x.symbol === 'WHLE')).toMatchObject({ sessions: 10, red: 10, quarantined: 10 });
    // Replayed after a fix, a record no longer counts: the session is whole again.
    writeFileSync(path.join(configs, 'validation', 'no-bracket.yml'), 'dataset: ohlcv\nrules:\n  - rule: positive_prices\n');
    writeFileSync(path.join(configs, 'jobs', `${name}.yml`), readFileSync(path.join(configs, 'jobs', `${name}.yml`), 'utf8').replace('validation: default', 'validation: no-bracket'));
    const fixed = loadJob(configs, name, ctx.env);
    await replayQuarantine(ctx, fixed, { rule: 'ohlc_bracket' }, { dryRun: false, runId: null });
    const after = (await auditSeries(ctx, fixed, { tolerance: 0.005 }))!;
    expect(after.ledger.filter((r) => r.symbol === 'FRST').map((r) => [r.status, r.sessions, r.quarantined])).toEqual([['GREEN', 10, 0]]);
  });

  test('an intraday session with a quarantined bar is AMBER with the count, even when the vendor sent the bar twice', async () => {
    const dir = path.join(root, 'data', 'amber');
    mkdirSync(dir, { recursive: true });
    // 2024-07-03 closes at 13:00: 210 one-minute bars 09:30-12:59, each once, and 10:00 a second time with other values.
    const minutes = Array.from({ length: 210 }, (_, i) => {
      const t = 9 * 60 + 30 + i;
      return `amb;2024/07/03;${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')};1000;1001;999;1000;10`;
    });
    writeFileSync(path.join(dir, 'bars.csv'), ['ticker;day;time;o;h;l;c;qty', ...minutes, 'amb;2024/07/03;10:00;1000;1002;999;1001;11'].join('\n') + '\n');
    writeFileSync(path.join(configs, 'jobs', 'amber.yml'), `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: amber, adapter: file, files: ['${dir}/bars.csv'] }\ntransform: custom-minute\n`);
    const job = loadJob(configs, 'amber', ctx.env);
    expect((await runIngest(ctx, job, all)).counts).toMatchObject({ recordsIn: 211, out: 209, quarantined: 2 });
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([
      { symbol: 'AMB', firstSession: '2024-07-03', lastSession: '2024-07-03', status: 'AMBER', sessions: 1, expectedBars: 210, presentBars: 209, quarantined: 2 },
    ]);
  });
});

describe('a record read again is judged again, once', () => {
  test('--full, a corrected file and a narrower window: the newest judgement counts, the older one is superseded', async () => {
    const good = sessions('2024-05-01', '2024-05-14', () => 40);
    const bad = good.map((b, i) => (i === 2 ? { ...b, high: 1 } : i === 7 ? { ...b, open: -4 } : b)); // 05-03, 05-10
    const name = dailyJob('again', 'AGN', bad);
    const file = path.join(root, 'data', name, 'AGN.csv');
    writeFileSync(file, readFileSync(file, 'utf8') + '2024-05-15,broken\n'); // a line that does not parse
    const job = loadJob(configs, name, ctx.env);
    const open = async () =>
      (await listQuarantine(catalog.sql, { job: name })).records.map((r) => [r.rules.join(','), r.line_no ?? r.record_no]).sort();
    const ledger = async () => (await auditSeries(ctx, job, { tolerance: 0.005 }))!.symbols.map((x) => [x.symbol, x.red, x.quarantined]);

    const first = await runIngest(ctx, job, all);
    expect(first.counts).toMatchObject({ recordsIn: 11, out: 8, quarantined: 3 });
    const firstOpen = await open();
    expect(firstOpen).toEqual([['ohlc_bracket', 3], ['ohlc_bracket,positive_prices', 8], ['parse', 12]]);

    // Read again in full: the same three records, quarantined once more, are the open ones.
    const again = await runIngest(ctx, job, { ...all, full: true });
    expect(again.counts).toMatchObject({ quarantined: 3 });
    expect(await open()).toEqual(firstOpen);
    expect(await ledger()).toEqual([['AGN', 2, 2]]);
    const everything = (await listQuarantine(catalog.sql, { job: name, all: true })).records;
    expect(everything.map((r) => [r.state, r.batch_id === again.batchIds[0] ? 'second' : 'first', r.superseded_by === again.batchIds[0]]).sort()).toEqual([
      ...Array(3).fill(['open', 'second', false]),
      ...Array(3).fill(['superseded', 'first', true]),
    ]);

    // A narrower window re-reads the file; the unparseable line and the 05-10 bar are judged
    // again, the 05-03 bar is out of scope and stays as it was.
    await runIngest(ctx, job, { ...all, full: true, window: { from: new Date('2024-05-06T00:00:00Z'), toExclusive: null } });
    expect(await open()).toEqual(firstOpen);
    expect((await listQuarantine(catalog.sql, { job: name, all: true })).records.filter((r) => r.state === 'open' && r.batch_id === again.batchIds[0]).map((r) => r.rules.join(','))).toEqual([
      'ohlc_bracket',
    ]);

    // The vendor corrects the 05-10 bar: it is stored, and no longer open in the quarantine.
    writeFileSync(file, readFileSync(file, 'utf8').replace('2024-05-10,-4,', '2024-05-10,40,'));
    await runIngest(ctx, job, all);
    expect(await open()).toEqual([['ohlc_bracket', 3], ['parse', 12]]);
    expect(await ledger()).toEqual([['AGN', 1, 1]]);
    expect((await stored(name, "ts = '2024-05-10'")).map((r) => [r.day, r.close])).toEqual([['2024-05-10', 40.4]]);
  });
});

describe('quarantine in the catalog, and replay after a rule change', () => {
  test('records rejected by a rule that was too strict load once after the fix, and a second replay loads nothing', async () => {
    writeFileSync(
      path.join(configs, 'validation', 'strict.yml'),
      'dataset: ohlcv\nrules:\n  - rule: ohlc_bracket\n  - rule: max_move\n    limit: 0.03\n',
    );
    const demoFiles = path.join(configs, '..', 'fixtures', 'csv', 'yahoo');
    writeFileSync(
      path.join(configs, 'jobs', 'strict.yml'),
      `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nvalidation: strict\nsource: { name: strict, adapter: file, files: ['${demoFiles}/*.csv'] }\ntransform: yahoo\n`,
    );
    const first = await runIngest(ctx, loadJob(configs, 'strict', ctx.env), all);
    const { records: rejected } = await listQuarantine(catalog.sql, { source: 'strict', rule: 'max_move' });
    expect(rejected.length).toBeGreaterThan(50);
    expect(first.counts.quarantined).toBe((await listQuarantine(catalog.sql, { source: 'strict' })).total);
    // Every record keeps its batch, job, input, number, rule, reason and raw form.
    const r0 = rejected[rejected.length - 1]!;
    expect(r0).toMatchObject({ job: 'strict', batch_id: first.batchIds[0], state: 'open', rules: ['max_move'] });
    expect(r0.input_uri).toMatch(/fixtures\/csv\/yahoo\/[A-Z]+\.csv$/);
    expect(r0.reason).toMatch(/^max_move: open [\d.]+ close [\d.]+: a move of [\d.]+% is over 3%$/);
    const line = readFileSync(r0.input_uri!, 'utf8').split('\n')[r0.record_no!]!;
    expect(Object.values(JSON.parse(r0.raw) as Record<string, string>).join(',')).toBe(line);

    // The fix: a limit that suits daily bars. The rejected records replay into the lake once.
    writeFileSync(path.join(configs, 'validation', 'strict.yml'), 'dataset: ohlcv\nrules:\n  - rule: ohlc_bracket\n  - rule: max_move\n    limit: 0.5\n');
    const job = loadJob(configs, 'strict', ctx.env);
    const dry = await replayQuarantine(ctx, job, { rule: 'max_move' }, { dryRun: true, runId: null });
    expect(dry.outcomes.every((o) => o.outcome === 'would_load')).toBe(true);
    const replay = await replayQuarantine(ctx, job, { rule: 'max_move' }, { dryRun: false, runId: null });
    const loaded = replay.outcomes.filter((o) => o.outcome === 'loaded');
    expect(loaded.length).toBe(rejected.length);
    const [lineage] = await catalog.sql<{ records_in: number; records_out: number; quarantined: number }[]>`
      select sum(records_in)::int as records_in, sum(records_out)::int as records_out, sum(quarantined)::int as quarantined
      from mdw.lineage_item where batch_id = ${replay.batchId!}`;
    expect(lineage).toEqual({ records_in: rejected.length, records_out: rejected.length, quarantined: 0 });
    const states = await catalog.sql<{ state: string; replay_batch_id: string }[]>`
      select distinct state, replay_batch_id from mdw.quarantine_record q join mdw.data_source s on s.id = q.source_id
      where s.name = 'strict' and 'max_move' = any(q.rules)`;
    expect(states).toEqual([{ state: 'replayed', replay_batch_id: replay.batchId }]);

    // In queries each bar is there exactly once, as a plain ingest under the fixed rule stores it.
    const duck = await ctx.duck();
    const [counts] = await duck.all<{ n: number; keys: number }>(
      `SELECT count(*) AS n, count(DISTINCT (symbol, ts)) AS keys FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=strict`)})`,
    );
    expect(counts).toEqual({ n: first.counts.out + rejected.length, keys: first.counts.out + rejected.length });
    const again = await replayQuarantine(ctx, job, {}, { dryRun: false, runId: null });
    expect(again.outcomes.filter((o) => o.outcome === 'loaded')).toEqual([]);
    const [after] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=strict`)})`);
    expect(after!.n).toBe(counts!.n);
  });

  test('a replayed record does not overwrite a bar the lake holds with other values', async () => {
    const bars = sessions('2024-02-01', '2024-02-09', () => 20);
    bars[2] = { ...bars[2]!, high: 21, close: 20.5 };
    const name = dailyJob('keep', 'KEEP', bars);
    await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    // The source then sends a broken version of a stored bar (high below low: rejected, the lake
    // keeps its bar); an operator replays it under a rule set without ohlc_bracket.
    const broken = bars.map((b, i) => (i === 2 ? { ...b, high: 1, close: 19 } : b));
    dailyJob('keep', 'KEEP', broken);
    expect((await runIngest(ctx, loadJob(configs, name, ctx.env), all)).counts).toMatchObject({ quarantined: 1 });
    dailyJob('keep', 'KEEP', broken, 'loose');
    writeFileSync(path.join(configs, 'validation', 'loose.yml'), 'dataset: ohlcv\nrules:\n  - rule: positive_prices\n');
    const replay = await replayQuarantine(ctx, loadJob(configs, name, ctx.env), {}, { dryRun: false, runId: null });
    expect(replay.outcomes.map((o) => o.outcome)).toEqual(['stored_differs']);
    expect(replay.outcomes[0]!.reason).toMatch(/^stored_differs: the lake holds another row for this symbol, ts \(batch [0-9a-f-]{36}\); it is kept$/);
    expect((await stored('keep', `ts = TIMESTAMP '${bars[2]!.day}'`)).map((r) => r.close)).toEqual([20.5]);
  });
});
