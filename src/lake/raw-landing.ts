import { createHash } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeSegment } from './layout.js';
import { localStore } from './local-store.js';
import type { LakeStore } from './store.js';

/**
 * The raw landing: every fetched page as received, gzipped, under
 * raw/source=<s>/dataset=<d>/date=<fetch day>/, append-only (a page is never rewritten). Each
 * request's pages are listed in raw/source=<s>/dataset=<d>/requests/<key>.json once the last
 * page has landed, so a later run reuses a complete request for a closed window instead of
 * fetching it again, and a run cut short resumes where it stopped.
 */
export interface RequestRecord {
  /** What was asked, without keys (path and query). */
  readonly request: string;
  readonly pages: readonly string[];
  readonly fetchedAt: string;
  /** Where a page contradicted the request, found when it was fetched (by page). */
  readonly findings?: Readonly<Record<string, readonly ResponseFinding[]>>;
}

/**
 * A response that contradicts its request: adjusted prices where raw ones were asked, another
 * ticker, bars outside the window; or one that held a key of the vendor (echoed), which was
 * replaced before the page was landed. Counted in the batch's findings and logged with the request.
 */
export interface ResponseFinding {
  readonly rule: 'response_adjusted' | 'response_symbol' | 'response_window' | 'response_secret';
  /** Records of the page it concerns; for response_secret, the keys replaced. */
  readonly rows: number;
  readonly detail: string;
}

/** A page a vendor adapter landed (lake/raw), as mdw.raw_page records it. */
export interface RawPageRecord {
  readonly uri: string;
  readonly source: string;
  readonly dataset: string;
  /** Path and query, never a key. */
  readonly request: string;
  readonly pageNo: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly fetchedAt: Date;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** The folder of a (source, dataset)'s raw pages, relative to the lake root. */
function seriesRoot(source: string, dataset: string): string {
  return `raw/source=${encodeSegment(source)}/dataset=${encodeSegment(dataset)}`;
}

/**
 * Where mdw curate lands what it computed for a curated dataset before it loads it (relative to
 * the lake root): beside the raw pages of the source it is stored under, a folder per bar size.
 * Unlike pages, such a document is replaced when what it was computed from changes.
 */
export function curatedLandingDir(source: string, dataset: string, granularity: string): string {
  return `${seriesRoot(source, dataset)}/granularity=${encodeSegment(granularity)}`;
}

/** Puts bytes at `uri` in one step: a temporary object beside it, committed into place. */
function putObject(lake: LakeStore, uri: string, data: Uint8Array | string): void {
  lake.commit(lake.writeTemp(uri, String(process.pid), data), uri);
}

/** Writes one page (atomically: a temp file renamed into place); returns its path, size and hash as stored. */
export function landPage(
  lakeRoot: string,
  page: { source: string; dataset: string; day: string; request: string; n: number; text: string },
): { file: string; bytes: number; sha256: string } {
  const lake = localStore(lakeRoot);
  const dir = `${seriesRoot(page.source, page.dataset)}/date=${page.day}`;
  lake.prepare(dir);
  const uri = `${dir}/${hash(page.request)}-${String(page.n).padStart(4, '0')}-${hash(page.text).slice(0, 8)}.json.gz`;
  if (lake.stat(uri) === null) putObject(lake, uri, gzipSync(page.text));
  const stored = lake.read(uri);
  return { file: lake.locate(uri), bytes: stored.length, sha256: createHash('sha256').update(stored).digest('hex') };
}

/** Records that a request's pages have all landed. */
export function recordRequest(lakeRoot: string, source: string, dataset: string, record: RequestRecord): void {
  const lake = localStore(lakeRoot);
  const dir = `${seriesRoot(source, dataset)}/requests`;
  lake.prepare(dir);
  putObject(lake, `${dir}/${hash(record.request)}.json`, `${JSON.stringify(record, null, 2)}\n`);
}

/** The pages of a complete earlier fetch of this request, or null. */
export function landedRequest(lakeRoot: string, source: string, dataset: string, request: string): RequestRecord | null {
  const lake = localStore(lakeRoot);
  const uri = `${seriesRoot(source, dataset)}/requests/${hash(request)}.json`;
  if (lake.stat(uri) === null) return null;
  const record = JSON.parse(lake.read(uri).toString('utf8')) as RequestRecord;
  // Pages are recorded by the path they were landed at.
  return record.pages.every((p) => lake.stat(lake.uriOf(p)) !== null) ? record : null;
}

/** size:mtime of a landed page: it never changes, so this identifies it for lineage. */
export function pageFingerprint(file: string): { bytes: number; fingerprint: string } {
  const folder = localStore(path.dirname(file));
  const st = folder.stat(path.basename(file));
  if (!st) throw new Error(`the landed page ${file} is not there`);
  return { bytes: st.bytes, fingerprint: st.version };
}
