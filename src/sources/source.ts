import type { Job } from '../config/jobs.js';
import type { Logger } from '../core/logger.js';
import type { RawPageRecord, ResponseFinding } from '../lake/raw-landing.js';
import type { RequestBudget } from '../http/http-client.js';
import type { RawColumn, ReadType } from '../core/raw.js';

export type { RawColumn, ReadType };
export type { AdapterName } from './index.js';
import type { AdapterName } from './index.js';

/** What an extract is asked for: the job, and the window and symbols of this run. */
export interface ExtractRequest {
  readonly job: Job;
  readonly from: Date | null;
  readonly toExclusive: Date | null;
  readonly symbols: readonly string[] | null;
  /**
   * Source columns the transform reads, with the type to read them as: an input that lacks
   * one is a config error. Text formats ignore the type; typed ones (JSON) use it so that a
   * number is read as a number, whatever the first file's sample suggested.
   */
  readonly columns: Readonly<Record<string, ReadType>>;
  /**
   * Number the records in read order (`_rn`): needed when a later step joins (which does not
   * keep order) and still needs the order. It costs a window over every record.
   */
  readonly numbered?: boolean;
}

export interface AdapterContext {
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  /** Vendor adapters: where pages land, the config folder (endpoints.yml), the clock's now. */
  readonly lakeRoot: string;
  readonly configDir: string;
  /** Where a reader may write files it needs for one batch (MDW_HOME/tmp). */
  readonly tmpDir: string;
  readonly now: Date;
  /** The shared daily request budget (null in a dry run, which fetches nothing). */
  readonly budget: RequestBudget | null;
  /** Records each landed page with the run that fetched it (mdw.raw_page); null where nothing is fetched. */
  readonly pages: ((page: RawPageRecord) => Promise<void>) | null;
  /**
   * A dry run: vendor adapters fetch nothing. A request whose pages are not landed is told
   * here (path and query) instead, and lists no inputs; landed pages of closed windows are listed.
   */
  readonly plan: ((request: string) => void) | null;
  /** Ask again for windows that have closed and were fetched whole before (a vendor corrected them). */
  readonly refetch: boolean;
}

/**
 * Raw records as a SQL relation, in read order: the source's columns as it has them (text, or
 * numbers from typed formats), plus `_file`, the input they came from. Renames, casts, units
 * and zones are the transform's business, not the adapter's.
 */
export interface RawBatch {
  readonly relation: string;
  readonly columns: readonly RawColumn[];
  /** The relation also has `_rn`, the records' read order (when the request asked for it). */
  readonly numbered: boolean;
  /** Every input (file or landed page), in read order, for lineage; empty ones included. */
  readonly inputs: readonly string[];
  /**
   * After the relation has been read: a relation of the records that could not be parsed at
   * all (`_file`, `_line`, `_raw`, `_reason`).
   */
  readonly rejects: string | null;
  /** Statements to run before reading the relation (e.g. to empty a reject table). */
  readonly prepare: readonly string[];
  /**
   * Each input's records as an independent count of its bytes found them (CSV), for the check
   * that every one is stored, repeated, quarantined or filtered. Absent where none is made.
   */
  readonly records?: ReadonlyMap<string, number>;
  /** Folders the reader wrote for this batch (repaired copies): removed when the batch is done. */
  readonly scratch?: readonly string[];
}

/** One input an adapter reads: a file, or a landed page. */
export interface InputRef {
  readonly uri: string;
  readonly bytes: number;
  /** Changes whenever the content may have (size, times, inode): equal means already read. */
  readonly fingerprint: string;
  /** A landed page that contradicts its request. */
  readonly findings?: readonly ResponseFinding[];
  /**
   * A landed page: what its request named that the page itself does not carry (Finnhub's
   * candles hold no symbol), handed to the reader as columns of every record of the page.
   */
  readonly fields?: Readonly<Record<string, string>>;
}

/** One interface per source (files, or a vendor built from its fetchers); registered in sources/index.ts. */
export interface Adapter {
  readonly name: AdapterName;
  /** The inputs a request reads, in order. */
  list(ctx: AdapterContext, request: ExtractRequest): Promise<InputRef[]>;
  /** Raw records of some of those inputs (a chunk), as a relation. */
  extract(ctx: AdapterContext, request: ExtractRequest, inputs: readonly InputRef[]): Promise<RawBatch>;
}
