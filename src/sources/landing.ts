import { loadEndpoints, provider, providerAuth } from '../config/endpoints.js';
import { HttpClient, type JsonResponse } from '../http/http-client.js';
import { landPage, landedRequest, pageFingerprint, recordRequest, type ResponseFinding } from '../lake/raw-landing.js';
import { UsageError } from '../core/errors.js';
import type { AdapterContext, ExtractRequest, InputRef } from './source.js';

/**
 * The pages of one vendor request as landed inputs: fetched and landed page by page, or, for
 * a window that has closed and was fetched whole before, the pages already landed (a re-run,
 * or a run resuming after a spent budget, does not ask again). `check` refuses a page that is
 * no page of this vendor (it throws), and returns where a page contradicts its request: each
 * finding, and each page that held a key, is logged as a warning with the request, kept with
 * the landed request, and handed on with its input to the batch that loads it.
 */
export async function landedPages(
  ctx: AdapterContext,
  target: { readonly source: string; readonly dataset: string; readonly vendor: string },
  request: { readonly key: string; readonly closed: boolean },
  fetch: () => AsyncGenerator<JsonResponse>,
  check: (page: JsonResponse) => readonly ResponseFinding[] = () => [],
): Promise<InputRef[]> {
  const earlier = request.closed && !ctx.refetch ? landedRequest(ctx.lakeRoot, target.source, target.dataset, request.key) : null;
  let files: readonly string[];
  let findings: Readonly<Record<string, readonly ResponseFinding[]>> = {};
  if (earlier) {
    files = earlier.pages;
    findings = earlier.findings ?? {};
  } else if (ctx.plan) {
    ctx.plan(request.key);
    files = [];
  } else {
    const day = ctx.now.toISOString().slice(0, 10);
    const landed: string[] = [];
    const found: Record<string, readonly ResponseFinding[]> = {};
    for await (const page of fetch()) {
      const wrong = [...check(page), ...secretFindings(target.vendor, page)];
      const n = landed.length;
      const stored = landPage(ctx.lakeRoot, { source: target.source, dataset: target.dataset, day, request: request.key, n, text: page.text });
      await ctx.pages?.({ uri: stored.file, source: target.source, dataset: target.dataset, request: request.key, pageNo: n, bytes: stored.bytes, sha256: stored.sha256, fetchedAt: ctx.now });
      landed.push(stored.file);
      if (wrong.length > 0) {
        found[stored.file] = wrong;
        for (const f of wrong) ctx.logger.warn(`${target.vendor} ${request.key} (page ${n + 1}): ${f.detail}`);
      }
    }
    if (request.closed) {
      recordRequest(ctx.lakeRoot, target.source, target.dataset, { request: request.key, pages: landed, fetchedAt: ctx.now.toISOString(), ...(landed.some((f) => found[f]) ? { findings: found } : {}) });
    }
    files = landed;
    findings = found;
  }
  return files.map((uri) => ({ uri, ...pageFingerprint(uri), ...(findings[uri] ? { findings: findings[uri] } : {}) }));
}

/** A page that held a key of the vendor: the client landed it with *** in its place (http-client.ts). */
function secretFindings(vendor: string, page: JsonResponse): ResponseFinding[] {
  const n = page.secrets;
  if (n === 0) return [];
  return [{ rule: 'response_secret', rows: n, detail: `the response held ${n === 1 ? 'a' : n} ${vendor} key${n === 1 ? '' : 's'}, replaced by *** before it was landed` }];
}

/**
 * What a page of bars says about itself against what was asked: the symbols it holds (a
 * vendor may answer for another ticker), and bar times outside the window asked for. The
 * window is widened by a day each side: a vendor's day begins in its own zone, and minute bars
 * of the last day run past midnight UTC.
 */
export function barsFindings(
  asked: { readonly symbols: readonly string[]; readonly from: string; readonly to: string },
  got: { readonly symbols: readonly string[]; readonly times: readonly number[] },
): ResponseFinding[] {
  const out: ResponseFinding[] = [];
  const other = [...new Set(got.symbols)].filter((s) => !asked.symbols.includes(s));
  if (other.length > 0) {
    out.push({ rule: 'response_symbol', rows: got.times.length, detail: `the response holds ${other.join(', ')}, the request asked for ${asked.symbols.join(', ')}` });
  }
  const lo = Date.parse(`${asked.from}T00:00:00Z`) - 86_400_000;
  const hi = Date.parse(`${asked.to}T00:00:00Z`) + 2 * 86_400_000;
  const outside = got.times.filter((t) => !(t >= lo && t < hi));
  if (outside.length > 0) {
    const first = new Date(Math.min(...outside.filter((t) => !Number.isNaN(t)))).toISOString();
    out.push({ rule: 'response_window', rows: outside.length, detail: `${outside.length} bar${outside.length === 1 ? '' : 's'} outside the requested window ${asked.from}..${asked.to} (the first at ${first})` });
  }
  return out;
}

/** The HTTP client of a provider in configs/endpoints.yml: its base URL, pace, budget and keys. */
export function vendorClient(ctx: AdapterContext, name: string): HttpClient {
  const endpoints = loadEndpoints(ctx.configDir, ctx.env);
  const spec = provider(endpoints, name);
  return new HttpClient({
    vendor: name,
    baseUrl: spec.base_url,
    rpm: spec.rpm,
    dailyBudget: spec.daily_budget,
    budget: ctx.budget,
    logger: ctx.logger,
    ...(spec.timeout_ms ? { timeoutMs: spec.timeout_ms } : {}),
    ...(spec.used_weight ? { usedWeight: { header: spec.used_weight.header, limit: spec.used_weight.limit, windowMs: spec.used_weight.window_s * 1000 } } : {}),
    ...providerAuth(endpoints, name, ctx.env),
  });
}

/** A request as the landing names it: path and query, in a stable order, never a key. */
export function requestKey(path: string, query: Readonly<Record<string, string | number | boolean>>): string {
  return `${path}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

/** The end of what a vendor can be asked for: the window's end, or now when that is earlier. */
export function askedUntil(request: ExtractRequest, now: Date): Date {
  return request.toExclusive && request.toExclusive < now ? request.toExclusive : now;
}

/** What every vendor request needs from a run: a start and the symbols (a vendor has no "all files"). */
export function vendorScope(vendor: string, request: ExtractRequest): { from: Date; symbols: readonly string[] } {
  const { job } = request;
  if (!request.from) throw new UsageError(`${job.name}: a ${vendor} job needs a window: set window.from in the job, or pass --from`);
  if (!request.symbols?.length) throw new UsageError(`${job.name}: a ${vendor} job needs symbols: set symbols in the job, or pass --symbols`);
  return { from: request.from, symbols: request.symbols };
}
