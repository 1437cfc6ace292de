import { loadEndpoints, provider, providerAuth } from '../config/endpoints.js';
import { HttpClient, type JsonResponse } from '../http/http-client.js';
import { landPage, landedRequest, pageFingerprint, recordRequest } from '../lake/raw-landing.js';
import { UsageError } from '../core/errors.js';
import type { AdapterContext, ExtractRequest, InputRef } from './adapter.js';

/**
 * The pages of one vendor request as landed inputs: fetched and landed page by page, or, for
 * a window that has closed and was fetched whole before, the pages already landed (a re-run,
 * or a run resuming after a spent budget, does not ask again).
 */
export async function landedPages(
  ctx: AdapterContext,
  target: { readonly source: string; readonly dataset: string },
  request: { readonly key: string; readonly closed: boolean },
  fetch: () => AsyncGenerator<JsonResponse>,
  check: (page: JsonResponse) => void = () => {},
): Promise<InputRef[]> {
  const earlier = request.closed && !ctx.refetch ? landedRequest(ctx.lakeRoot, target.source, target.dataset, request.key) : null;
  let files: readonly string[];
  if (earlier) files = earlier.pages;
  else if (ctx.plan) {
    ctx.plan(request.key);
    files = [];
  } else {
    const day = ctx.now.toISOString().slice(0, 10);
    const landed: string[] = [];
    for await (const page of fetch()) {
      check(page);
      const n = landed.length;
      const stored = landPage(ctx.lakeRoot, { ...target, day, request: request.key, n, text: page.text });
      await ctx.pages?.({ uri: stored.file, ...target, request: request.key, pageNo: n, bytes: stored.bytes, sha256: stored.sha256, fetchedAt: ctx.now });
      landed.push(stored.file);
    }
    if (request.closed) recordRequest(ctx.lakeRoot, target.source, target.dataset, { request: request.key, pages: landed, fetchedAt: ctx.now.toISOString() });
    files = landed;
  }
  return files.map((uri) => ({ uri, ...pageFingerprint(uri) }));
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
    ...providerAuth(endpoints, name, ctx.env),
  });
}

/** A request as the landing names it: path and query, in a stable order, never a key. */
export function requestKey(path: string, query: Readonly<Record<string, string | number | boolean>>): string {
  return `${path}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

/** What every vendor request needs from a run: a start and the symbols (a vendor has no "all files"). */
export function vendorScope(vendor: string, request: ExtractRequest): { from: Date; symbols: readonly string[] } {
  const { job } = request;
  if (!request.from) throw new UsageError(`${job.name}: a ${vendor} job needs a window: set window.from in the job, or pass --from`);
  if (!request.symbols?.length) throw new UsageError(`${job.name}: a ${vendor} job needs symbols: set symbols in the job, or pass --symbols`);
  return { from: request.from, symbols: request.symbols };
}
