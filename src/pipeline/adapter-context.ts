import type { Adapter, AdapterContext, ExtractRequest } from '../sources/source.js';
import { recordRawPage, spendRequest } from '../catalog/vendor-catalog.js';
import type { Context } from '../context.js';
import type { Extract } from './read-chunk.js';

/**
 * What an adapter may use: vendor adapters fetch through the catalog's shared request budget,
 * which a dry run (and extract, which only reads what list landed) does without.
 */
export async function adapterContext(ctx: Context, withoutBudget: boolean, runId: string | null = null, budgets: Readonly<Record<string, number>> = {}): Promise<AdapterContext> {
  const catalog = withoutBudget ? null : await ctx.catalog();
  const day = () => ctx.clock.now().toISOString().slice(0, 10);
  return {
    logger: ctx.logger,
    env: ctx.env,
    lakeRoot: ctx.paths.lake,
    configDir: ctx.settings.configDir,
    tmpDir: ctx.paths.tmp,
    now: ctx.clock.now(),
    // A run given a smaller budget for a vendor stops there; the day's count is the vendor's, shared with every run.
    budget: catalog ? { spend: (vendor, limit) => spendRequest(catalog.sql, vendor, day(), Math.min(limit, budgets[vendor] ?? limit), ctx.clock.now()) } : null,
    pages: catalog ? (page) => recordRawPage(catalog.sql, page, runId) : null,
    plan: null,
    refetch: false,
  };
}

/** An adapter's extract as readChecked takes it: it reads only what list landed, so without the budget. */
export function extractFrom(ctx: Context, adapter: Adapter, request: ExtractRequest): Extract {
  return async (inputs) => adapter.extract(await adapterContext(ctx, true), request, inputs);
}
