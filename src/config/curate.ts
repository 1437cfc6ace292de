import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../core/errors.js';
import { isSessionLabelled } from '../core/granularity.js';
import { loadJob, resolveJobFile, type Job } from './jobs.js';
import { loadYamlFile } from './load-yaml.js';

/** As written in a curate job file (schema: configs/schema/curate.schema.json). */
interface CurateSpec {
  readonly kind: 'curate';
  readonly name?: string;
  readonly description?: string;
  readonly bars: string;
  readonly actions: readonly string[];
  readonly symbols?: readonly string[];
  readonly outputs: readonly CurateOutput[];
}

export type CurateOutput = 'adjustments';

/** A curate job with the ingest jobs it reads loaded and checked. */
export interface CurateJob {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  /** The ingest job whose bars are curated. */
  readonly bars: Job;
  /** Ingest jobs of corporate_actions, in priority order. */
  readonly actions: readonly Job[];
  readonly symbols: readonly string[] | null;
  readonly outputs: readonly CurateOutput[];
  /** What the bars' prices already reflect (their transform's adjusted_for): not applied again. */
  readonly adjustedFor: ReadonlySet<'splits' | 'dividends'>;
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
  const bars = load(spec.bars, '/bars');
  if (bars.dataset.name !== 'ohlcv') throw yaml.errorAt('/bars', `job ${spec.bars} loads ${bars.dataset.name}, not bars (ohlcv)`);
  // A dividend's factor divides by the close of the session before the ex-date: a daily bar's.
  if (!isSessionLabelled(bars.granularity)) throw yaml.errorAt('/bars', `job ${spec.bars} loads ${bars.granularity.text} bars: the adjustment log is built from daily bars (it adjusts finer bars of the source too)`);
  const actions = spec.actions.map((name, i) => {
    const job = load(name, `/actions/${i}`);
    if (job.dataset.name !== 'corporate_actions') throw yaml.errorAt(`/actions/${i}`, `job ${name} loads ${job.dataset.name}, not corporate_actions`);
    return job;
  });
  return {
    name: spec.name ?? path.basename(file).replace(/\.ya?ml$/, ''),
    file,
    description: spec.description ?? '',
    bars,
    actions,
    symbols: spec.symbols ?? null,
    outputs: spec.outputs,
    adjustedFor: new Set(bars.transform.value.adjusted_for ?? []),
  };
}
