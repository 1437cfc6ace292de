import type { CalendarName } from '../calendar/calendar.js';
import type { DatasetName } from '../core/datasets.js';
import type { Granularity } from '../core/granularity.js';

/**
 * What `mdw backfill` fills (configs/backfill.yml, schema configs/schema/backfill.schema.json):
 * one dataset and bar size over a universe, from its earliest date to the last ended session,
 * fetched in chunks of sessions from the vendors it allows.
 */
export interface BackfillTarget {
  readonly name: string;
  readonly dataset: DatasetName;
  readonly granularity: Granularity;
  readonly calendar: CalendarName;
  readonly universe: Universe;
  /** The first session wanted (a symbol's listing date, when known and later, wins). */
  readonly earliest: string;
  /** Sessions a chunk holds at most (before the vendor's page limits cut it further). */
  readonly chunkSessions: number;
  /** Lower runs first. */
  readonly priority: number;
  /** The vendors allowed, each with the job (configs/jobs) whose source and transform it loads through; the first is the primary. */
  readonly vendors: readonly { readonly vendor: string; readonly job: string }[];
}

export type Universe =
  | { readonly kind: 'symbols'; readonly symbols: readonly string[] }
  /** One symbol a line (blank lines and # comments skipped), relative to configs/. */
  | { readonly kind: 'file'; readonly file: string }
  /** The active names of the tickers dataset as of a date, from one source. */
  | { readonly kind: 'tickers'; readonly source: string; readonly asOf: string };

/** A window of one symbol's sessions to fetch: both dates are session dates, inclusive. */
export interface PlannedChunk {
  readonly target: string;
  readonly symbol: string;
  readonly from: string;
  readonly to: string;
  /** Sessions in the window that the lake lacks (the window may span a few it holds, to keep requests whole). */
  readonly sessions: number;
}

/** The state of a chunk in the catalog's queue. */
export type ChunkStatus = 'queued' | 'leased' | 'done' | 'empty' | 'failed';
