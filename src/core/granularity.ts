import { UsageError } from './errors.js';

/** Bar sizes: 1s, 5m, 1h, 1d, 1w, 1mo ... ('m' is minutes, 'mo' months). */
export type GranularityUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'mo';

export interface Granularity {
  readonly text: string;
  readonly count: number;
  readonly unit: GranularityUnit;
}

export const granularityPattern = '^[1-9][0-9]*(s|m|h|d|w|mo)$';
const re = new RegExp(granularityPattern);

/** The longest bar of each unit: a day of seconds, minutes or hours, a year of days, weeks or months. */
const maxCount: Record<GranularityUnit, number> = { s: 86_400, m: 1_440, h: 24, d: 366, w: 53, mo: 12 };

export function parseGranularity(text: string): Granularity {
  const m = re.exec(text);
  if (!m) throw new UsageError(`granularity "${text}" is not of the form <n><unit> with unit s, m, h, d, w or mo (e.g. 1m, 5m, 1h, 1d)`);
  const unit = m[1] as GranularityUnit;
  const count = Number(text.slice(0, text.length - unit.length));
  if (count > maxCount[unit]) {
    const most = Object.entries(maxCount).map(([u, n]) => `${n}${u}`).join(', ');
    throw new UsageError(`granularity "${text.length > 24 ? `${text.slice(0, 20)}…${unit}` : text}" is longer than a bar can be (at most ${most})`);
  }
  return { text, count, unit };
}

/** Bars labelled by session date (daily and longer) rather than by instant. */
export function isSessionLabelled(g: Granularity): boolean {
  return g.unit === 'd' || g.unit === 'w' || g.unit === 'mo';
}

const unitSql: Record<GranularityUnit, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month' };

/** A DuckDB INTERVAL literal for one bar of this size. */
export function intervalSql(g: Granularity): string {
  return `INTERVAL ${g.count} ${unitSql[g.unit]}`;
}

const unitMs: Record<'s' | 'm' | 'h', number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/** One intraday bar's length in milliseconds; null for bars labelled by session (daily and longer). */
export function intradayMs(g: Granularity): number | null {
  return isSessionLabelled(g) ? null : g.count * unitMs[g.unit as 's' | 'm' | 'h'];
}
