import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { keyVariables, loadEndpoints } from '../../src/config/endpoints.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { datasets } from '../../src/core/datasets.js';
import { parseWindow } from '../../src/core/time-window.js';
import { runIngest } from '../../src/pipeline/run-ingest.js';
import { adapterNames, endpointNames, fetchers, vendorNames, type FetcherId } from '../../src/sources/index.js';
import { landingKey } from '../../src/sources/fetcher.js';
import { rawReader } from '../../src/sources/raw-reader.js';
import { sourceReadTypes } from '../../src/transform/compile-transform.js';
import { landedPages, requestKey, vendorClient } from '../../src/sources/landing.js';
import type { ExtractRequest } from '../../src/sources/source.js';
import { copyConfigs, currentFiles, freshCatalog, removeDir, repoRoot, tempDir, testContext } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';

/**
 * One contract for every fetcher in the registry (src/sources/index.ts), each proven on its
 * fixture (tests/fixtures/sources/<vendor>/<endpoint>.json: recorded or documented answers,
 * the requests a run makes, and the rows it must store) and on its simulator route
 * (tests/support/sim/<vendor>.ts). A new vendor adds a fixture and a route, not a test.
 */
interface Fixture {
  /** Where the answers come from: a capture, or the vendor's documentation (named). */
  readonly _source: string;
  /** A shipped job (configs/jobs), or a job's YAML. */
  readonly job: string;
  readonly jobYaml?: string;
  readonly run: { readonly from: string; readonly to: string; readonly symbols: readonly string[]; readonly now: string };
  /** The requests the run makes, in order (path?query, as the landing names them). */
  readonly requests: readonly string[];
  readonly responses: readonly { readonly request: string; readonly status?: number; readonly body: unknown }[];
  /** The rows stored, by the named columns (timestamps as ISO text), in key order. */
  readonly stored: { readonly columns: readonly string[]; readonly rows: readonly (readonly unknown[])[] };
}

const fixtureDir = path.join(repoRoot, 'tests', 'fixtures', 'sources');
const ids = Object.keys(fetchers) as FetcherId[];
const fixtureOf = (id: FetcherId): Fixture => JSON.parse(readFileSync(path.join(fixtureDir, `${id}.json`), 'utf8')) as Fixture;

let root: string;
let configs: string;
let url: string | undefined;
let drop: () => Promise<void>;
let sim: VendorSim;
let n = 0;
const contexts: Context[] = [];

beforeAll(async () => {
  root = tempDir();
  configs = copyConfigs(root);
  ({ url, drop } = await freshCatalog());
  sim = await new VendorSim().start();
  // The simulator's answers take milliseconds; a loaded machine may stall for seconds, so no timeout is near.
  const endpoints = path.join(configs, 'endpoints.yml');
  writeFileSync(endpoints, readFileSync(endpoints, 'utf8').replace(/(\n    rpm: )\d+/g, '$160000').replace(/(\n    daily_budget: \d+)/g, '$1\n    timeout_ms: 120000'));
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await sim.stop();
  await drop();
  removeDir(root);
});

/** Every vendor at the simulator, with a key for each variable endpoints.yml names. */
function vendorEnv(): NodeJS.ProcessEnv {
  const providers = loadEndpoints(configs, {}).value.providers;
  const env: NodeJS.ProcessEnv = {};
  for (const [name, spec] of Object.entries(providers)) {
    // A base URL's path (Finnhub's /api/v1) is kept: the simulator serves under it.
    env[`MDW_${name.toUpperCase()}_URL`] = `${sim.url}${new URL(spec.base_url).pathname.replace(/\/$/, '')}`;
    for (const variable of keyVariables(spec.auth)) env[variable] = `sim-key-${variable}`;
  }
  return env;
}

function jobOf(fixture: Fixture, home: string) {
  if (fixture.jobYaml) writeFileSync(path.join(configs, 'jobs', `${fixture.job}.yml`), fixture.jobYaml);
  return loadJob(configs, path.join(configs, 'jobs', `${fixture.job}.yml`), { HOME: home });
}

function requestOf(fixture: Fixture, home: string): ExtractRequest {
  const job = jobOf(fixture, home);
  const window = parseWindow(fixture.run.from, fixture.run.to);
  return { job, from: window.from, toExclusive: window.toExclusive, symbols: fixture.run.symbols, columns: sourceReadTypes(job.transform.value, job.dataset) };
}

describe('the fetcher registry', () => {
  test('every fetcher has a fixture, and every fixture a fetcher', () => {
    const found = readdirSync(fixtureDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, '').split(path.sep).join('/'))
      .sort();
    expect(found).toEqual([...ids].sort());
  });

  test('the job schema, endpoints.yml and the fetchers name the same vendors and endpoints', () => {
    const job = JSON.parse(readFileSync(path.join(repoRoot, 'configs', 'schema', 'job.schema.json'), 'utf8')) as { properties: { source: { properties: Record<string, { enum?: unknown }> } } };
    // The committed schema lists none: the loader adds the registry's names.
    expect(job.properties.source.properties['adapter']!.enum).toBeUndefined();
    expect(job.properties.source.properties['endpoint']!.enum).toBeUndefined();
    // Nor dataset names: src/core/datasets.ts is their one list.
    for (const name of ['job', 'transform', 'validation']) {
      const schema = JSON.parse(readFileSync(path.join(repoRoot, 'configs', 'schema', `${name}.schema.json`), 'utf8')) as { properties: { dataset: { enum?: unknown } } };
      expect(schema.properties.dataset.enum).toBeUndefined();
    }
    expect(adapterNames).toEqual(['file', ...vendorNames]);
    expect([...endpointNames].sort()).toEqual([...new Set(Object.values(fetchers).map((f) => f.endpoint))].sort());
    expect(Object.keys(loadEndpoints(path.join(repoRoot, 'configs'), {}).value.providers).sort()).toEqual([...vendorNames].sort());
    for (const id of ids) {
      const f = fetchers[id];
      expect(`${f.vendor}/${f.endpoint}`).toBe(id);
      expect(Object.keys(datasets)).toContain(f.dataset);
    }
    // Each dataset a vendor serves from several endpoints has at most one default.
    for (const v of vendorNames) {
      for (const d of Object.keys(datasets)) expect(Object.values(fetchers).filter((f) => f.vendor === v && f.dataset === d && f.default).length).toBeLessThanOrEqual(1);
    }
  });
});

describe.each(ids)('%s', (id) => {
  const fetcher = fetchers[id];
  const fixture = fixtureOf(id);

  test('plan is pure: the same requests for the same clock, the ones the fixture lists', () => {
    const request = requestOf(fixture, root);
    const now = new Date(fixture.run.now);
    const plan = fetcher.plan(request, now);
    expect(fetcher.plan(request, new Date(fixture.run.now))).toEqual(plan);
    expect(plan.map((r) => requestKey(r.path, r.query))).toEqual(fixture.requests);
    expect(fixture.responses.map((r) => r.request).sort()).toEqual([...fixture.requests].sort());
  });

  test('its simulator route answers pages the fetcher accepts and reads into the columns its transform reads', async () => {
    const home = path.join(root, `sim-${++n}`);
    const ctx = testContext({ home, databaseUrl: url, configDir: configs, now: fixture.run.now, env: vendorEnv() });
    contexts.push(ctx);
    const request = requestOf(fixture, home);
    const first = fetcher.plan(request, ctx.clock.now())[0]!;
    const adapterCtx = { logger: ctx.logger, env: ctx.env, lakeRoot: ctx.paths.lake, configDir: configs, tmpDir: home, now: ctx.clock.now(), budget: null, pages: null, plan: null, refetch: false };
    const target = { source: request.job.spec.source.name, dataset: request.job.dataset.name, vendor: fetcher.vendor };
    const findings: unknown[] = [];
    const pages = await landedPages(adapterCtx, target, { key: landingKey(first), closed: false }, () => fetcher.pages(vendorClient(adapterCtx, fetcher.vendor), first), (page) => {
      const f = fetcher.check(page, first);
      findings.push(...f);
      return f;
    });
    expect(pages.length).toBeGreaterThan(0);
    expect(findings).toEqual([]);
    const batch = await fetcher.read(rawReader({ logger: ctx.logger, tmpDir: home }, request), first.fields ? pages.map((p) => ({ ...p, fields: first.fields })) : pages, request);
    const duck = await ctx.duck();
    for (const sql of batch.prepare) await duck.run(sql);
    const rows = await duck.all<Record<string, unknown>>(`SELECT * FROM ${batch.relation} LIMIT 5`);
    expect(rows.length).toBeGreaterThan(0);
    // Every source column the transform reads is there, and holds a value in some record.
    for (const column of Object.keys(request.columns)) {
      const name = batch.columns.find((c) => c.name === column)?.sql ?? column;
      // As a key, not a path: Alpha Vantage's fields have dots ("1. open").
      expect(rows[0]).toHaveProperty([name]);
    }
    // The pages landed in this warehouse's raw landing.
    for (const p of pages) expect(p.uri.startsWith(path.join(ctx.paths.lake, 'raw'))).toBe(true);
  });

  test('an ingest of its fixture stores the documented values', async () => {
    const home = path.join(root, `fixture-${++n}`);
    const ctx = testContext({ home, databaseUrl: url, configDir: configs, now: fixture.run.now, env: vendorEnv() });
    contexts.push(ctx);
    const job = jobOf(fixture, home);
    sim.recorded = fixture.responses;
    sim.requests.length = 0;
    try {
      const window = parseWindow(fixture.run.from, fixture.run.to);
      const result = await runIngest(ctx, job, { window, symbols: fixture.run.symbols, dryRun: false, runId: null });
      expect(result.quarantine).toBeNull();
      expect(result.counts.out).toBe(fixture.stored.rows.length);
    } finally {
      sim.recorded = [];
    }
    // Each planned request was asked once, and nothing else.
    expect(sim.requests.length).toBe(fixture.requests.length);
    const duck = await ctx.duck();
    const def = job.dataset;
    const cols = fixture.stored.columns.map((c) => (def.columns.find((d) => d.name === c)?.type === 'timestamp' ? `strftime(${c}, '%Y-%m-%dT%H:%M:%SZ') AS ${c}` : c));
    const stored = await duck.all<Record<string, unknown>>(
      `SELECT ${cols.join(', ')} FROM read_parquet(${currentFiles(`${ctx.paths.lake}/${def.name}/source=${job.spec.source.name}`)}) ORDER BY ${def.key.join(', ')}`,
    );
    expect(stored.map((r) => fixture.stored.columns.map((c) => (typeof r[c] === 'bigint' ? Number(r[c]) : r[c])))).toEqual(fixture.stored.rows);
  });
});
