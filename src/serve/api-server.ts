import { createHash, timingSafeEqual } from 'node:crypto';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { readLedger } from '../catalog/audit-catalog.js';
import { coverage, lastRuns } from '../catalog/coverage.js';
import type { Clock } from '../core/clock.js';
import { datasets, datasetNames, kindOf, type DatasetName } from '../core/datasets.js';
import { CatalogError, LockError, MdwError, UsageError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HomePaths, Settings } from '../core/settings.js';
import { literal, pathList } from '../core/sql.js';
import { writeResultFile, type FileFormat } from '../cli/write-result.js';
import type { DuckSession, ResultColumn } from '../lake/duckdb.js';
import { planDatasetQuery } from '../query/dataset-query.js';
import { heldSymbols, nearestSymbols, type HeldSymbols } from '../query/held-symbols.js';
import { allSeriesFiles, listSeries } from '../query/lake-files.js';
import { symbolVariants } from '../query/ohlcv-query.js';
import { resolveBars } from '../query/resampled-ohlcv.js';
import { defaultQualityThreshold } from '../validate/series-rules.js';
import { ApiError, formatNames, mediaTypes, negotiateFormat, parseApiWindow, parseAsOf, parseBarsRequest, parseLimit, parseSymbol, parseSymbols, symbolPatternText, type Query } from './api-request.js';
import { CatalogAccess } from './catalog-access.js';
import { docsPage } from './docs-page.js';
import { SessionPool } from './session-pool.js';

/**
 * `mdw serve`: the lake and catalog over HTTP, read-only. Bars are read by the same code as
 * `mdw query ohlcv` and the library (resolveBars), written by the same writer as the CLI's
 * outputs (writeResultFile) to a file of this server's, then streamed from it: a large answer
 * is never one string in memory, and its row count is known before the status line is sent.
 */
export interface ApiOptions {
  readonly settings: Settings;
  readonly paths: HomePaths;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The database the server reads with; it makes its connections and then confines it to the lake. */
  readonly duck: DuckSession;
  /** When set, every route but /health wants `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** DuckDB connections that answer at once (default 4). */
  readonly connections?: number | undefined;
}

export interface ApiServer {
  readonly app: FastifyInstance;
  /** Starts listening; returns the address (http://host:port). */
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

const text = { type: 'string' } as const;
const dateText = { type: 'string', description: 'a date (YYYY-MM-DD, a whole UTC day; both ends inclusive) or an ISO 8601 date-time with its offset' } as const;
const boolText = { type: 'string', enum: ['true', 'false', '1', '0', ''], description: 'true or false' } as const;
const formatParam = { type: 'string', enum: formatNames, description: 'the answer\'s format; else by Accept (application/json, text/csv, application/x-ndjson, application/vnd.apache.arrow.stream, application/vnd.apache.parquet); JSON by default' } as const;
const barParams = {
  start: { ...dateText, description: `first day or instant. ${dateText.description}` },
  end: { ...dateText, description: 'last day (inclusive) or instant' },
  granularity: { type: 'string', default: '1d', description: 'bar size: 1m, 5m, 1h, 1d, 1w, 1mo ...; resampled from finer stored bars when not stored' },
  source: { ...text, description: 'one source; without it, bars of several sources come with a source column' },
  adjust: { type: 'string', enum: ['none', 'splits', 'all'], default: 'none', description: "none: as stored; splits; all: splits and dividends (the source's adjustment log, built by mdw curate)" },
  gold: { ...boolText, description: 'the gold series a gold curate job chose from several sources' },
  min_quality: { ...text, description: 'only rows whose quality score (0-1) is at least this' },
  validated_only: { ...boolText, description: `only validated rows (quality at least ${defaultQualityThreshold})` },
  columns: { ...text, description: 'columns, comma-separated (symbol,ts,open,high,low,close,volume,vwap,trades,adj_close,source,granularity,batch_id,quality,flags,total_return,tr_index)' },
  limit: { ...text, description: 'at most this many rows' },
  calendar: { type: 'string', enum: ['XNYS', '24/7', '24/5'], description: 'the trading calendar of resampled bars (default XNYS)' },
  extended_hours: { ...boolText, description: 'resampled intraday bars keep the pre- and post-market' },
  format: formatParam,
} as const;
const resultResponses = {
  200: { description: 'the rows, in the format asked for; the header X-Mdw-Rows says how many', content: Object.fromEntries(Object.values(mediaTypes).map((m) => [m.split(';')[0]!, { schema: {} }])) },
  400: { description: 'a bad parameter: {error, parameter}' },
  401: { description: 'MDW_API_TOKEN is set and the request has no or another bearer token' },
  404: { description: 'a symbol the lake does not hold: {error, parameter, missing: [{symbol, nearest}]}' },
};

export async function createApiServer(options: ApiOptions): Promise<ApiServer> {
  const { settings, paths, logger, clock } = options;
  const lake = paths.lake;
  const scratch = path.join(paths.tmp, `serve-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  // The connections first: a confined database refuses the SET each new connection makes.
  const pool = await SessionPool.open(options.duck, options.connections ?? 4);
  // DuckDB may open the lake and write this server's answers, nothing else.
  await options.duck.confine({ directories: [lake, scratch] });
  const catalogs = new CatalogAccess(settings, logger);
  const tokenDigest = options.token ? digest(options.token) : null;
  let answers = 0;

  const app = Fastify({
    logger: false,
    // A parameter the API does not know is refused, not dropped: a typo (strat=) must not widen a query.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    routerOptions: { maxParamLength: 200 },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'mdw HTTP API',
        version: '1',
        description:
          'Read-only access to an mdw market-data warehouse: bars (stored, resampled, adjusted, gold), the other datasets, status, health and the completeness ledger. Times are UTC.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'required on every route but /health when the server runs with MDW_API_TOKEN' } } },
      security: options.token ? [{ bearer: [] }] : [],
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    (request as { started?: bigint }).started = process.hrtime.bigint();
    if (!tokenDigest || request.routeOptions.url === '/health') return;
    const header = request.headers.authorization ?? '';
    const given = /^Bearer (.+)$/i.exec(header)?.[1];
    // Both sides hashed to 32 bytes: the comparison takes the same time whatever the token's length or its first wrong byte.
    if (!given || !timingSafeEqual(digest(given), tokenDigest)) {
      reply.header('www-authenticate', 'Bearer realm="mdw"');
      throw new ApiError(401, given ? 'the bearer token is not the one this server was started with' : 'this server wants Authorization: Bearer <MDW_API_TOKEN>');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const started = (request as { started?: bigint }).started;
    const ms = started === undefined ? 0 : Number(process.hrtime.bigint() - started) / 1e6;
    // The path and query as asked; headers (and so the token) are never logged.
    logger.info(`${request.method} ${request.url} ${reply.statusCode} ${ms.toFixed(1)} ms`, { status: reply.statusCode, ms: Math.round(ms * 10) / 10 });
  });
  app.setErrorHandler(async (err: unknown, request, reply) => {
    const body = errorBody(err);
    if (body.status === 503) reply.header('retry-after', '5');
    if (body.status >= 500 && body.status !== 503) logger.error(`${request.method} ${request.url}: ${errorMessage(err)}`, { stack: err instanceof Error ? err.stack : undefined });
    return reply.status(body.status).type('application/json').send(body.json);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.status(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}: see /openapi.json or /docs` }),
  );

  /** Writes a query's result in a format to a file of this server's, and sends it from there. */
  const answer = async (reply: FastifyReply, duck: DuckSession, sql: string, columns: readonly ResultColumn[], format: FileFormat, check?: (rows: number) => Promise<void>) => {
    const file = path.join(scratch, `answer-${++answers}.${format}`);
    try {
      const rows = await writeResultFile(duck, sql, format, file, columns);
      await check?.(rows);
      // Opened, then unlinked: the open file streams to the client and is gone once sent or abandoned.
      const handle = await open(file, 'r');
      const size = (await handle.stat()).size;
      reply.header('content-type', mediaTypes[format]).header('content-length', size).header('x-mdw-rows', rows);
      return handle.createReadStream();
    } finally {
      rmSync(file, { force: true });
    }
  };

  /** A read of bars, /historical and /prices alike: the CLI's query ohlcv. */
  const bars = async (request: FastifyRequest, reply: FastifyReply, symbols: string[], everySymbol: boolean) => {
    const query = request.query as Query;
    const format = negotiateFormat(query, request.headers.accept);
    const { request: req, calendar, extendedHours } = parseBarsRequest(query, symbols);
    return pool.with(async (duck) => {
      const plan = await resolveBars(duck, lake, req, { calendar, extendedHours });
      if (plan.resampled) reply.header('x-mdw-resampled-from', `${plan.resampled.from} ${plan.resampled.calendar}${plan.resampled.stored ? ' stored' : ''}`);
      if (plan.sources.length > 0) reply.header('x-mdw-sources', plan.sources.join(','));
      const dataset = req.gold ? 'ohlcv_gold' : 'ohlcv';
      return answer(reply, duck, plan.sql, plan.columns, format, async (rows) => {
        if (rows > 0 && !everySymbol) return;
        // The files this read opened usually hold every asked symbol; only those they lack are
        // looked for in the whole lake (which reads the symbols of every series).
        const unseen = rows === 0 ? symbols : await absentFrom(duck, plan.files, symbols);
        if (unseen.length > 0) refuseUnheld(unseen, await heldSymbols(duck, lake, dataset), everySymbol ? 'symbols' : 'symbol', dataset);
      });
    });
  };

  app.get('/health', {
    schema: {
      summary: 'whether the catalog and the lake answer, and the last run of each job',
      description:
        '200 when both answer, 503 when either does not. Needs no token. A job whose last run failed is listed with its status; the server still answers. While a run holds the embedded catalog, catalog.busy says so and jobs is empty.',
      security: [],
      response: { 200: { description: 'healthy', type: 'object', additionalProperties: true }, 503: { description: 'the catalog or the lake does not answer', type: 'object', additionalProperties: true } },
    },
  }, async (_request, reply) => {
    let lakeOk = true;
    try {
      accessSync(lake, constants.R_OK);
    } catch {
      lakeOk = false;
    }
    let catalog: { ok: boolean; kind?: string; busy?: string; error?: string };
    let jobs: Awaited<ReturnType<typeof lastRuns>> = [];
    try {
      catalog = await catalogs.with(async (c) => {
        jobs = await lastRuns(c.sql);
        return { ok: true, kind: c.kind };
      });
    } catch (err) {
      // A run holding the embedded catalog is the catalog at work, not down: healthy, runs unknown for now.
      catalog = err instanceof LockError ? { ok: true, kind: 'embedded', busy: err.message } : { ok: false, error: errorMessage(err) };
    }
    const healthy = lakeOk && catalog.ok;
    return reply.status(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : 'unavailable',
      checked_at: clock.now().toISOString(),
      lake: { ok: lakeOk },
      catalog,
      jobs: jobs.map((j) => ({ job: j.job, command: j.command, status: j.status, started_at: j.started_at, finished_at: j.finished_at, error: j.error })),
    });
  });

  app.get('/api/v1/status', {
    schema: {
      summary: 'what mdw status shows, with validation rates and staleness',
      description:
        'series: per dataset, source, granularity and symbol, the rows, first and last bar, lag, last run, backfill and score (as `mdw status`). validation: per series of scored bars, the rows a validation passed. stale: the symbols whose last session trails the calendar.',
      querystring: { type: 'object', additionalProperties: false, properties: { dataset: { type: 'string', enum: datasetNames }, source: text } },
    },
  }, async (request) => {
    const q = request.query as Query;
    const source = q.source === undefined ? null : parseSymbol(q.source, 'source');
    const series = await catalogs.with((c) => coverage(c.sql, { dataset: q.dataset ?? null, source }, clock.now()));
    const validation = await pool.with((duck) => validationRates(duck, lake, q.dataset as DatasetName | undefined, source));
    return {
      as_of: clock.now().toISOString(),
      series,
      validation,
      stale: series.filter((s) => (s.sessions_behind ?? 0) > 0).map((s) => ({ dataset: s.dataset, source: s.source, granularity: s.granularity, symbol: s.symbol, last_ts: s.last_ts, sessions_behind: s.sessions_behind, lag: s.lag })),
    };
  });

  app.get('/api/v1/historical/:symbol', {
    schema: {
      summary: 'bars of one symbol (as mdw query ohlcv SYMBOL)',
      description: 'Stored bars, or resampled from finer stored ones when the size is not stored; adjusted by the adjustment log with adjust; the gold series with gold=true. 404 when the lake holds no bars of the symbol at all, with the nearest symbols it holds.',
      params: { type: 'object', properties: { symbol: { type: 'string', description: `a symbol (${symbolPatternText})` } }, required: ['symbol'] },
      querystring: { type: 'object', additionalProperties: false, properties: barParams },
      response: resultResponses,
    },
  }, async (request, reply) => bars(request, reply, [parseSymbol((request.params as { symbol: string }).symbol, 'symbol')], false));

  app.get('/api/v1/prices', {
    schema: {
      summary: 'bars of several symbols (as mdw query ohlcv A B ...), ordered by symbol and time',
      description: '404 when the lake holds no bars at all of one of the symbols, naming it with the nearest symbols it holds.',
      querystring: {
        type: 'object',
        additionalProperties: false,
        required: ['symbols'],
        properties: { symbols: { ...text, description: 'symbols, comma-separated: AAPL,MSFT' }, ...barParams },
      },
      response: resultResponses,
    },
  }, async (request, reply) => bars(request, reply, parseSymbols((request.query as Query).symbols, 'symbols'), true));

  app.get('/api/v1/audit', {
    schema: {
      summary: 'the completeness ledger: a summary per series and its holes',
      description:
        'As the last `mdw audit` left it (the API only reads): per dataset, source and granularity, sessions GREEN, AMBER, RED and KNOWN (explained), and each run of AMBER or RED sessions per symbol.',
      querystring: { type: 'object', additionalProperties: false, properties: { dataset: { type: 'string', enum: datasetNames }, source: text } },
    },
  }, async (request) => {
    const q = request.query as Query;
    const source = q.source === undefined ? null : parseSymbol(q.source, 'source');
    const ledger = await catalogs.with((c) => readLedger(c.sql, { dataset: q.dataset ?? null, source }));
    return { as_of: clock.now().toISOString(), ...ledger };
  });

  for (const dataset of datasetNames.filter((d) => datasets[d].kind !== 'bars')) {
    const def = datasets[dataset];
    const reference = def.kind === 'reference';
    app.get(`/api/v1/${dataset}`, {
      schema: {
        summary: `${dataset}: ${def.description}`,
        description: `Columns: ${def.columns.map((c) => c.name).join(', ')}, source. Filters on ${def.timeColumn}; ordered by symbol, ${def.timeColumn} and source.`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            symbols: { ...text, description: 'symbols, comma-separated (all when absent)' },
            start: { ...dateText, description: `first ${def.timeColumn}. ${dateText.description}` },
            end: { ...dateText, description: `last ${def.timeColumn} (inclusive)` },
            source: { ...text, description: 'one source' },
            ...(reference ? { as_of: { ...dateText, description: "each symbol's newest record at or before this date" } } : {}),
            limit: barParams.limit,
            format: formatParam,
          },
        },
        response: resultResponses,
      },
    }, async (request, reply) => {
      const q = request.query as Query;
      const format = negotiateFormat(q, request.headers.accept);
      const symbols = q.symbols === undefined ? undefined : parseSymbols(q.symbols, 'symbols');
      const plan = planDatasetQuery(lake, {
        dataset,
        symbols,
        window: parseApiWindow(q),
        source: q.source === undefined ? undefined : parseSymbol(q.source, 'source'),
        asOf: q.as_of === undefined ? undefined : parseAsOf(q.as_of, 'as_of'),
        limit: q.limit === undefined ? undefined : parseLimit(q.limit, 'limit'),
      });
      return pool.with((duck) => answer(reply, duck, plan.sql, plan.columns, format));
    });
  }

  app.get('/openapi.json', { schema: { summary: 'this API as an OpenAPI 3 document' } }, async () => app.swagger());
  app.get('/docs', { schema: { summary: 'this API for people: every route and parameter' } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(docsPage(app.swagger() as Parameters<typeof docsPage>[0])),
  );

  await app.ready();
  return {
    app,
    async listen(host, port) {
      return app.listen({ host, port });
    },
    async close() {
      await app.close();
      await catalogs.close();
      pool.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The asked symbols (as typed or in capitals) no row of these files has. */
async function absentFrom(duck: DuckSession, files: readonly string[], symbols: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [...symbols];
  const variants = symbolVariants(symbols);
  const present = new Set(
    (await duck.all<{ symbol: string }>(`SELECT DISTINCT symbol FROM read_parquet(${pathList(files)}, hive_partitioning = false) WHERE symbol IN (${variants.map((v) => literal(v)).join(', ')})`)).map((r) => r.symbol),
  );
  return symbols.filter((s) => !present.has(s) && !present.has(s.toUpperCase()));
}

/** 404 for the asked symbols the lake holds no bars of at all, each with the nearest it holds. */
function refuseUnheld(symbols: readonly string[], held: HeldSymbols, parameter: string, dataset: DatasetName): void {
  const missing = symbols.filter((s) => !held.has(s) && !held.has(s.toUpperCase()));
  if (missing.length === 0) return;
  const all = [...held.keys()];
  const notes = missing.map((symbol) => ({ symbol, nearest: nearestSymbols(symbol, all) }));
  throw new ApiError(
    404,
    notes.map((n) => `the lake has no ${dataset} bars of ${n.symbol}${n.nearest.length ? ` (nearest: ${n.nearest.join(', ')})` : ''}`).join('; '),
    parameter,
    { missing: notes },
  );
}

/** Rows and validated rows (quality at least the default threshold) of each series of scored bars. */
async function validationRates(duck: DuckSession, lake: string, dataset: DatasetName | undefined, source: string | null) {
  const out: { dataset: string; source: string; granularity: string; rows: number; scored: number; validated: number; validated_pct: number | null; threshold: number }[] = [];
  for (const name of datasetNames.filter((d) => kindOf(datasets[d]).scored && (dataset === undefined || d === dataset))) {
    for (const series of listSeries(lake, name).filter((s) => source === null || s.source === source)) {
      const files = allSeriesFiles(lake, name, series.source, series.granularity);
      if (files.length === 0) continue;
      const [r] = await duck.all<{ rows: number; scored: number; validated: number }>(
        `SELECT count(*) AS rows, count(quality) AS scored, count(*) FILTER (WHERE quality >= ${literal(defaultQualityThreshold)}) AS validated ` +
          `FROM read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)`,
      );
      const rows = Number(r?.rows ?? 0);
      const validated = Number(r?.validated ?? 0);
      out.push({
        dataset: name,
        source: series.source,
        granularity: series.granularity,
        rows,
        scored: Number(r?.scored ?? 0),
        validated,
        validated_pct: rows > 0 ? Math.round((10000 * validated) / rows) / 100 : null,
        threshold: defaultQualityThreshold,
      });
    }
  }
  return out;
}

/** The CLI flags the query code names in its refusals, as the API's parameters. */
const cliFlags: Readonly<Record<string, string>> = {
  from: 'start',
  to: 'end',
  granularity: 'granularity',
  source: 'source',
  columns: 'columns',
  limit: 'limit',
  'min-quality': 'min_quality',
  adjust: 'adjust',
  gold: 'gold',
  calendar: 'calendar',
  'extended-hours': 'extended_hours',
};

/** An error as the client sees it: a status and one message, never a stack. */
function errorBody(err: unknown): { status: number; json: Record<string, unknown> } {
  if (err instanceof ApiError) return { status: err.status, json: { error: err.message, ...(err.parameter ? { parameter: err.parameter } : {}), ...err.detail } };
  // Fastify's own refusals: a parameter the route's schema does not allow, a malformed URL.
  const fastify = err as { statusCode?: number; validation?: { instancePath?: string; params?: Record<string, unknown>; message?: string }[]; validationContext?: string; message?: string };
  if (fastify.validation?.length) {
    const v = fastify.validation[0]!;
    const parameter = String(v.params?.additionalProperty ?? v.params?.missingProperty ?? v.instancePath?.replace(/^\//, '') ?? '');
    const why = v.params?.additionalProperty
      ? `${parameter} is not a parameter of this route (see /docs)`
      : v.params?.missingProperty
        ? `${parameter} is required`
        : `${parameter} ${v.message ?? 'is not valid'}${Array.isArray(v.params?.allowedValues) ? `: ${(v.params.allowedValues as unknown[]).join(', ')}` : ''}`;
    return { status: 400, json: { error: why, parameter } };
  }
  if (err instanceof UsageError) {
    // The query code speaks in the CLI's flags: --columns is the columns parameter, --from is start.
    const named = (flag: string) => cliFlags[flag] ?? flag;
    const parameter = /^--([a-z-]+)/.exec(err.message)?.[1];
    const message = err.message.replace(/--([a-z-]+)/g, (m, f: string) => (f in cliFlags ? cliFlags[f]! : m));
    return { status: 400, json: { error: message, ...(parameter && parameter in cliFlags ? { parameter: named(parameter) } : {}) } };
  }
  if (err instanceof LockError) return { status: 503, json: { error: `the catalog is busy, try again shortly: ${err.message}` } };
  if (err instanceof CatalogError) return { status: 503, json: { error: `the catalog does not answer: ${err.message}` } };
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) return { status: fastify.statusCode, json: { error: fastify.message ?? 'bad request' } };
  if (err instanceof MdwError) return { status: 500, json: { error: err.message } };
  return { status: 500, json: { error: 'the server failed to answer; its log has the detail' } };
}

