import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeSegment } from './layout.js';

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

function seriesRoot(lakeRoot: string, source: string, dataset: string): string {
  return path.join(lakeRoot, 'raw', `source=${encodeSegment(source)}`, `dataset=${encodeSegment(dataset)}`);
}

/** Writes one page (atomically: a temp file renamed into place); returns its path, size and hash as stored. */
export function landPage(
  lakeRoot: string,
  page: { source: string; dataset: string; day: string; request: string; n: number; text: string },
): { file: string; bytes: number; sha256: string } {
  const dir = path.join(seriesRoot(lakeRoot, page.source, page.dataset), `date=${page.day}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${hash(page.request)}-${String(page.n).padStart(4, '0')}-${hash(page.text).slice(0, 8)}.json.gz`);
  if (!existsSync(file)) {
    writeFileSync(`${file}.tmp`, gzipSync(page.text));
    renameSync(`${file}.tmp`, file);
  }
  const stored = readFileSync(file);
  return { file, bytes: stored.length, sha256: createHash('sha256').update(stored).digest('hex') };
}

/** Records that a request's pages have all landed. */
export function recordRequest(lakeRoot: string, source: string, dataset: string, record: RequestRecord): void {
  const dir = path.join(seriesRoot(lakeRoot, source, dataset), 'requests');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${hash(record.request)}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The pages of a complete earlier fetch of this request, or null. */
export function landedRequest(lakeRoot: string, source: string, dataset: string, request: string): RequestRecord | null {
  const file = path.join(seriesRoot(lakeRoot, source, dataset), 'requests', `${hash(request)}.json`);
  if (!existsSync(file)) return null;
  const record = JSON.parse(readFileSync(file, 'utf8')) as RequestRecord;
  return record.pages.every((p) => existsSync(p)) ? record : null;
}

/** size:mtime of a landed page: it never changes, so this identifies it for lineage. */
export function pageFingerprint(file: string): { bytes: number; fingerprint: string } {
  const st = statSync(file, { bigint: true });
  return { bytes: Number(st.size), fingerprint: `${st.size}:${st.mtimeNs}:${st.ino}` };
}
