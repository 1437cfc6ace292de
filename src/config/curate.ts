import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { TradingCalendar } from '../calendar/calendar.js';
import { UsageError } from '../core/errors.js';
import { parseGranularity, type Granularity } from '../core/granularity.js';
import { resampleRefusal } from '../query/resample.js';
import { defaultScheduleZone, readSchedule, type Schedule, type ScheduleSpec } from '../cron/schedule.js';
import { loadJob, resolveJobFile, type Job } from './jobs.js';
import { loadYamlFile } from './load-yaml.js';

/** As written in a curate job file (schema: configs/schema/curate.schema.json). */
interface CurateSpec {
  readonly kind: 'curate';
  readonly name?: string;
  readonly description?: string;
  readonly bars?: string;
  readonly actions?: readonly string[];
  readonly gold?: { readonly name?: string; readonly sources: readonly string[]; readonly tolerance?: number };
  readonly resample?: { readonly to: readonly string[]; readonly extended_hours?: boolean };
  readonly symbols?: readonly string[];
  readonly outputs: readonly CurateOutput[];
  readonly schedule?: ScheduleSpec;
}

export type CurateOutput = 'adjustments' | 'gold' | 'resampled';

/** A gold series: its name (the source it is stored under), its ingest jobs by priority, the tolerance of disagreement. */
export interface GoldSpec {
  readonly name: string;
  readonly sources: readonly Job[];
  readonly tolerance: number;
}

/** Bars of one ingest job resampled to larger sizes on its calendar. */
export interface ResampleOutput {
  readonly bars: Job;
  readonly calendar: TradingCalendar;
  readonly to: readonly Granularity[];
  /** Intraday bars of the pre- and post-market count too. */
  readonly extended: boolean;
}

/** A curate job with the ingest jobs it reads loaded and checked. */
export interface CurateJob {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  /** outputs adjustments: the ingest job whose bars are curated, and the ingest jobs of corporate_actions in priority order. */
  readonly adjustments: { readonly bars: Job; readonly actions: readonly Job[]; readonly adjustedFor: ReadonlySet<'splits' | 'dividends'> } | null;
  /** outputs gold: the series and where it is chosen from. */
  readonly gold: GoldSpec | null;
  /** outputs resampled: the ingest job whose bars are resampled, and the larger sizes they are resampled to. */
  readonly resample: ResampleOutput | null;
  readonly symbols: readonly string[] | null;
  readonly outputs: readonly CurateOutput[];
  /** When cron runs this job on its own (read in its bars' calendar zone by default); null: with the others, by configs/schedule.yml. */
  readonly schedule: Schedule | null;
}

/** Whether a job file is a curate job (kind: curate), read without checking the rest. */
export function isCurateFile(file: string): boolean {
  try {
    const doc = parse(readFileSync(file, 'utf8')) as unknown;
    return typeof doc === 'object' && doc !== null && (doc as Record<string, unknown>)['kind'] === 'curate';
  } catch {
    return false;
  }
}

/** Loads a curate job from configs/jobs (or a path), with the ingest jobs it names. Problems are ConfigErrors at their line. */
export function loadCurateJob(configDir: string, nameOrPath: string, env: NodeJS.ProcessEnv): CurateJob {
  const file = resolveJobFile(configDir, nameOrPath);
  if (!isCurateFile(file)) throw new UsageError(`${nameOrPath} is an ingest job, not a curate job (kind: curate): run \`mdw ingest ${nameOrPath}\``);
  const yaml = loadYamlFile<CurateSpec>(file, 'curate', env);
  const spec = yaml.value;
  const load = (name: string, pointer: string): Job => {
    try {
      return loadJob(configDir, name, env);
    } catch (err) {
      throw yaml.errorAt(pointer, `job ${name}: ${(err as Error).message}`);
    }
  };
  const name = spec.name ?? path.basename(file).replace(/\.ya?ml$/, '');
  let adjustments: CurateJob['adjustments'] = null;
  if (spec.outputs.includes('adjustments')) {
    const bars = load(spec.bars!, '/bars');
    if (bars.dataset.name !== 'ohlcv') throw yaml.errorAt('/bars', `job ${spec.bars} loads ${bars.dataset.name}, not bars (ohlcv)`);
    // A dividend's factor divides by the close of the session before the ex-date: a daily bar's.
    if (bars.granularity.text !== '1d') throw yaml.errorAt('/bars', `job ${spec.bars} loads ${bars.granularity.text} bars: the adjustment log is built from daily bars (it adjusts the source's other bar sizes too)`);
    const actions = spec.actions!.map((action, i) => {
      const job = load(action, `/actions/${i}`);
      if (job.dataset.name !== 'corporate_actions') throw yaml.errorAt(`/actions/${i}`, `job ${action} loads ${job.dataset.name}, not corporate_actions`);
      return job;
    });
    // Rows are read per source: jobs that load one source must say the same of its amounts.
    actions.forEach((job, i) => {
      const twin = actions.find((o) => o.spec.source.name === job.spec.source.name && splitAdjusted(o) !== splitAdjusted(job));
      if (twin) {
        throw yaml.errorAt(
          `/actions/${i}`,
          `jobs ${twin.name} and ${job.name} both load source ${job.spec.source.name}, and only one's transform says adjusted_for: [splits]: a source's amounts have one basis`,
        );
      }
    });
    adjustments = { bars, actions, adjustedFor: new Set(bars.transform.value.adjusted_for ?? []) };
  }
  let gold: GoldSpec | null = null;
  if (spec.outputs.includes('gold')) {
    const sources = spec.gold!.sources.map((job, i) => load(job, `/gold/sources/${i}`));
    const first = sources[0]!;
    sources.forEach((job, i) => {
      if (job.dataset.name !== 'ohlcv') throw yaml.errorAt(`/gold/sources/${i}`, `job ${job.name} loads ${job.dataset.name}, not bars (ohlcv)`);
      if (job.granularity.text !== first.granularity.text) throw yaml.errorAt(`/gold/sources/${i}`, `job ${job.name} loads ${job.granularity.text} bars, ${first.name} ${first.granularity.text}: a gold series has one bar size`);
      if (job.calendar?.name !== first.calendar?.name) throw yaml.errorAt(`/gold/sources/${i}`, `job ${job.name} follows ${job.calendar?.name ?? 'no calendar'}, ${first.name} ${first.calendar?.name ?? 'none'}: a gold series has one calendar`);
      const twin = sources.findIndex((o) => o.spec.source.name === job.spec.source.name);
      if (twin !== i) throw yaml.errorAt(`/gold/sources/${i}`, `jobs ${sources[twin]!.name} and ${job.name} both load source ${job.spec.source.name}: list it once`);
    });
    gold = { name: spec.gold!.name ?? name, sources, tolerance: spec.gold!.tolerance ?? 0.005 };
  }
  let resample: ResampleOutput | null = null;
  if (spec.outputs.includes('resampled')) {
    const bars = load(spec.bars!, '/bars');
    if (bars.dataset.name !== 'ohlcv') throw yaml.errorAt('/bars', `job ${spec.bars} loads ${bars.dataset.name}, not bars (ohlcv)`);
    if (!bars.calendar) throw yaml.errorAt('/bars', `job ${spec.bars} names no calendar: bars are resampled on the sessions of one (calendar: XNYS, 24/5 or 24/7 in the job)`);
    const to = spec.resample!.to.map((text, i) => {
      let g: Granularity;
      try {
        g = parseGranularity(text);
      } catch (err) {
        throw yaml.errorAt(`/resample/to/${i}`, (err as Error).message);
      }
      const refusal = resampleRefusal(bars.granularity, g);
      if (refusal) throw yaml.errorAt(`/resample/to/${i}`, `job ${bars.name}'s ${bars.granularity.text} bars cannot be resampled to ${g.text}: ${refusal}`);
      return g;
    });
    resample = { bars, calendar: bars.calendar, to, extended: spec.resample!.extended_hours ?? bars.spec.extended_hours ?? false };
  }
  const zone = (adjustments?.bars ?? gold?.sources[0] ?? resample?.bars)?.calendar?.zone ?? defaultScheduleZone;
  const schedule = spec.schedule === undefined ? null : readSchedule(spec.schedule, zone, yaml.errorAt, '/schedule');
  return { name, file, description: spec.description ?? '', adjustments, gold, resample, symbols: spec.symbols ?? null, outputs: spec.outputs, schedule };
}

/** Whether a corporate-actions job's cash amounts are per share after later splits. */
export function splitAdjusted(job: Job): boolean {
  return (job.transform.value.adjusted_for ?? []).includes('splits');
}
