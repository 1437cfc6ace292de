import type { RawPageRecord } from '../lake/raw-landing.js';
import type { Sql } from './catalog.js';

/**
 * Spends one request of a vendor's budget for a UTC day, atomically: two processes spending the
 * last request cannot both get it. Returns whether it was spent, and the count after.
 */
export async function spendRequest(sql: Sql, vendor: string, day: string, limit: number, at: Date): Promise<{ ok: boolean; used: number; limit: number }> {
  const rows = await sql<{ used: number }[]>`
    insert into mdw.request_budget (vendor, day, used, day_limit, updated_at) values (${vendor}, ${day}, 1, ${limit}, ${at})
    on conflict (vendor, day) do update set used = mdw.request_budget.used + 1, day_limit = excluded.day_limit, updated_at = excluded.updated_at
    where mdw.request_budget.used < excluded.day_limit
    returning used`;
  if (rows.length > 0) return { ok: true, used: rows[0]!.used, limit };
  return { ok: false, used: limit, limit };
}

/** Records a landed page and the run that fetched it; a page landed before keeps its first record. */
export async function recordRawPage(sql: Sql, page: RawPageRecord, runId: string | null): Promise<void> {
  await sql`
    insert into mdw.raw_page (uri, source, dataset, request, page_no, bytes, sha256, run_id, fetched_at)
    values (${page.uri}, ${page.source}, ${page.dataset}, ${page.request}, ${page.pageNo}, ${page.bytes}, ${page.sha256}, ${runId}, ${page.fetchedAt})
    on conflict (uri) do nothing`;
}
