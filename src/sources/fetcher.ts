import type { DatasetName } from '../core/datasets.js';
import type { GranularityUnit } from '../core/granularity.js';
import { pages as followPages, type HttpClient, type JsonResponse, type PageStyle } from '../http/http-client.js';
import type { ReadOptions } from '../config/types.js';
import type { TupleLists } from './file/json-reader.js';
import type { ResponseFinding } from '../lake/raw-landing.js';
import { landedPages, requestKey, vendorClient } from './landing.js';
import { rawReader } from './raw-reader.js';
import type { Adapter, AdapterContext, ExtractRequest, InputRef, RawBatch } from './source.js';

/**
 * A fetcher: how one vendor serves one dataset from one endpoint. It declares what it serves
 * (the facts the backfill router and budget planner read), plans the requests a window needs
 * (pure), fetches their pages through the one HTTP client, and reads landed pages through the
 * RawReader the pipeline hands it. A fetcher never imports DuckDB.
 */
export interface Fetcher {
  readonly vendor: string;
  /** The job's source.endpoint that picks it; unique within the vendor. */
  readonly endpoint: string;
  readonly dataset: DatasetName;
  /** The default of its dataset at this vendor, when a job names no endpoint. */
  readonly default: boolean;
  /** Bar sizes it serves, as units and the counts of each ('any' count), or null where the dataset has none. */
  readonly granularities: Readonly<Partial<Record<GranularityUnit, readonly number[] | 'any'>>> | null;
  /** Records a page holds at most (the vendor's limit, as the requests ask for it). */
  readonly pageSize: number;
  /** How far back the vendor serves, in years (null: as far as it has). */
  readonly historyYears: number | null;
  /** The only source here for this data (delisted names, FIGIs): the router never drops it for a cheaper one. */
  readonly unique: boolean;
  /** The router's preference among vendors serving the same data (higher is preferred). */
  readonly weight: number;
  /** One line for `mdw jobs sources`. */
  readonly description: string;
  /** Pure: the requests a run's window and symbols need, given the clock's now. Dry runs and the planner call only this. */
  plan(request: ExtractRequest, now: Date): VendorRequest[];
  /** The pages of one request, as the vendor answers them, following its paging. */
  pages(http: HttpClient, request: VendorRequest): AsyncGenerator<JsonResponse>;
  /**
   * Throws where a page is no page of this vendor (an error body with status 200); returns
   * where it contradicts its request (another ticker, bars outside the window).
   */
  check(page: JsonResponse, request: VendorRequest): readonly ResponseFinding[];
  /** Landed pages as raw columns, through the reader (the run's request says where a vendor's records sit, when that depends on the job). */
  read(reader: RawReader, pages: readonly InputRef[], request: ExtractRequest): Promise<RawBatch>;
}

/** One request to a vendor: path and query (never a key), and what its answer must match. */
export interface VendorRequest {
  readonly path: string;
  readonly query: Readonly<Record<string, string | number | boolean>>;
  /** Asks only for what can no longer change (a window that ended before today): a complete earlier fetch is used again. */
  readonly closed: boolean;
  /**
   * For a request whose query names no window (the vendor answers the whole history up to
   * now): the last day its answer must cover. Part of the landing's name for it, so a later
   * window asks again where a landed answer was fetched before that day.
   */
  readonly covers?: string;
  /** What the request named that its pages do not carry (a symbol), handed to the reader as columns. */
  readonly fields?: Readonly<Record<string, string>>;
  /** Bars requests: the symbols (none for a whole market), the dates asked, and adjusted or not. */
  readonly bars?: { readonly symbols: readonly string[]; readonly from: string; readonly to: string; readonly adjusted?: boolean };
}

/**
 * How landed pages become raw columns. The pipeline passes one in; each method hands back a
 * relation of the records with the columns the transform reads, plus `_file` and `_rn`.
 */
export interface RawReader {
  /**
   * JSON documents with their records at a path (`results`, `bars.*` keyed lists, `$` for a
   * top-level list). `defaults` are the vendor's; the job's transform and source may override them.
   */
  json(pages: readonly InputRef[], defaults: ReadOptions): Promise<RawBatch>;
  /** Columnar JSON documents: parallel arrays named by the transform's source columns, element i of each being record i. */
  arrays(pages: readonly InputRef[]): Promise<RawBatch>;
  /** Lists of positional records ([ms, "open", ...]): each field named by its list and index. */
  tuples(pages: readonly InputRef[], lists: TupleLists): Promise<RawBatch>;
  /** CSV documents (a vendor's export) with a header line, read as the file adapter reads CSV files. */
  csv(pages: readonly InputRef[], defaults: ReadOptions): Promise<RawBatch>;
}

/** Paging by a next_url field, or by a token sent back as a query parameter. */
export function paged(style: PageStyle): Fetcher['pages'] {
  return (http, request) => followPages(http, { path: request.path, query: request.query }, style);
}

/** A single answer per request (the vendor does not page). */
export async function* singlePage(http: HttpClient, request: VendorRequest): AsyncGenerator<JsonResponse> {
  yield await http.getJson(request.path, request.query);
}

/**
 * A vendor as a source: the fetcher a job's dataset and endpoint pick plans the requests; each
 * request's pages are fetched and landed (or, for a closed window fetched whole before, taken
 * from the landing) and read back through the reader.
 */
export function vendorAdapter(vendor: string, pick: (request: ExtractRequest) => Fetcher): Adapter {
  return {
    name: vendor as Adapter['name'],
    async list(ctx: AdapterContext, request: ExtractRequest): Promise<InputRef[]> {
      const fetcher = pick(request);
      const { job } = request;
      const target = { source: job.spec.source.name, dataset: job.dataset.name, vendor };
      // Opened on the first fetch: a dry run, or a run whose windows were all fetched before, needs no key.
      let client: HttpClient | null = null;
      const http = () => (client ??= vendorClient(ctx, vendor));
      const inputs: InputRef[] = [];
      for (const r of fetcher.plan(request, ctx.now)) {
        const landed = await landedPages(ctx, target, { key: landingKey(r), closed: r.closed }, () => fetcher.pages(http(), r), (page) => fetcher.check(page, r));
        inputs.push(...(r.fields ? landed.map((i) => ({ ...i, fields: r.fields })) : landed));
      }
      return inputs;
    },
    async extract(ctx, request, inputs): Promise<RawBatch> {
      return pick(request).read(rawReader(ctx, request), inputs, request);
    },
  };
}

/** How the landing names a request: what is sent (never a key), and the day it must cover where the query names none. */
export function landingKey(r: VendorRequest): string {
  const key = requestKey(r.path, r.query);
  return r.covers ? `${key}#covers=${r.covers}` : key;
}
