/**
 * How long work runs and what is left, as words a person reads on a terminal: durations and
 * the text of a progress bar. Pure: the caller measures the time.
 */

/** 3d 4h, 2h 5m, 40s: how far behind the last stored bar is, or how long work has left. */
export function humanDuration(ms: number): string {
  if (ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

export interface Tally {
  readonly done: number;
  readonly total: number;
  /** Time since the work began. */
  readonly elapsedMs: number;
}

/**
 * `[#######.............] 12/40 chunks, ETA 4m`: a bar of `width` cells, the count, and the
 * time left at the pace so far (none before the first item is done). A total below what is
 * done (work that grew while it ran) shows the count alone.
 */
export function progressBar(noun: string, t: Tally, width = 20): string {
  const total = Math.max(t.total, t.done);
  const filled = total === 0 ? width : Math.round((width * t.done) / total);
  const eta = t.done > 0 && total > t.done ? `, ETA ${humanDuration(((total - t.done) * t.elapsedMs) / t.done)}` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${t.done}/${total} ${noun}${eta}`;
}
