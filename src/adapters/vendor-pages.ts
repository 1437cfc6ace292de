import type { JsonResponse } from '../http/http-client.js';
import { landPage, landedRequest, pageFingerprint, recordRequest } from '../lake/raw-landing.js';
import type { AdapterContext, InputRef } from './adapter.js';

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
  const earlier = request.closed ? landedRequest(ctx.lakeRoot, target.source, target.dataset, request.key) : null;
  let files: readonly string[];
  if (earlier) files = earlier.pages;
  else {
    const day = ctx.now.toISOString().slice(0, 10);
    const landed: string[] = [];
    for await (const page of fetch()) {
      check(page);
      landed.push(landPage(ctx.lakeRoot, { ...target, day, request: request.key, n: landed.length, text: page.text }));
    }
    if (request.closed) recordRequest(ctx.lakeRoot, target.source, target.dataset, { request: request.key, pages: landed, fetchedAt: ctx.now.toISOString() });
    files = landed;
  }
  return files.map((uri) => ({ uri, ...pageFingerprint(uri) }));
}
