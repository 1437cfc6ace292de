import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BackfillTarget, Universe } from '../backfill/types.js';
import type { CalendarName } from '../calendar/calendar.js';
import type { DatasetName } from '../core/datasets.js';
import { ConfigError, UsageError, errorMessage } from '../core/errors.js';
import { parseGranularity, type Granularity } from '../core/granularity.js';
import type { Fetcher } from '../sources/fetcher.js';
import { fetchersOf, jobFetcher, servedGranularity, vendorNames } from '../sources/index.js';
import { loadEndpoints } from './endpoints.js';
import { loadJob, resolveJobFile, type Job } from './jobs.js';
import { loadYamlFile, type YamlFile } from './load-yaml.js';

/** As written in configs/backfill.yml (schema: configs/schema/backfill.schema.json). */
interface BackfillSpec {
  readonly budgets?: Readonly<Record<string, number>>;
  readonly targets: Readonly<Record<string, TargetSpec>>;
}

interface TargetSpec {
  readonly description?: string;
  readonly dataset: DatasetName;
  readonly granularity: string;
  readonly calendar: CalendarName;
  readonly universe: {
    readonly symbols?: readonly string[];
    readonly file?: string;
    readonly tickers?: { readonly source: string; readonly as_of: string };
  };
  readonly earliest: string;
  readonly chunk_sessions: number;
  readonly priority?: number;
  readonly vendors: readonly { readonly vendor: string; readonly job: string }[];
}

/** A vendor a target allows, with the job its data loads through and the fetcher that job uses. */
export interface BackfillVendor {
  readonly vendor: string;
  readonly job: Job;
  readonly fetcher: Fetcher;
}

export interface BackfillConfig {
  readonly file: string;
  /** By priority (lower first), then in file order. */
  readonly targets: readonly BackfillTarget[];
  /** Per target name: its vendors in the target's order (the primary first). */
  readonly vendors: ReadonlyMap<string, readonly BackfillVendor[]>;
  /**
   * Requests per UTC day backfill may spend, for every vendor a target allows or budgets:
   * names: the budgets: entry, else endpoints.yml's daily_budget.
   */
  readonly budgets: Readonly<Record<string, number>>;
  errorAt(pointer: string, message: string, at?: 'key' | 'value'): ConfigError;
}

export function backfillFile(configDir: string): string {
  return path.join(configDir, 'backfill.yml');
}

/**
 * configs/backfill.yml, checked against its schema and against what it names: each vendor is
 * one of the registry's and serves the target's dataset and bar size, each vendor's job loads
 * through that vendor into that dataset, bar size and calendar, and a budget fits in the
 * vendor's daily_budget. Any problem is a ConfigError at its line.
 */
export function loadBackfillConfig(configDir: string, env: NodeJS.ProcessEnv): BackfillConfig {
  const yaml = loadYamlFile<BackfillSpec>(backfillFile(configDir), 'backfill', env);
  const { errorAt } = yaml;
  const endpoints = loadEndpoints(configDir, env).value.providers;
  const jobs = new Map<string, Job>();
  const targets: BackfillTarget[] = [];
  const vendors = new Map<string, readonly BackfillVendor[]>();
  const used = new Set<string>();

  for (const [name, spec] of Object.entries(yaml.value.targets)) {
    const at = `/targets/${name}`;
    let granularity: Granularity;
    try {
      granularity = parseGranularity(spec.granularity);
    } catch (err) {
      throw errorAt(`${at}/granularity`, errorMessage(err));
    }
    checkDate(yaml, `${at}/earliest`, spec.earliest);
    const universe = readUniverse(yaml, configDir, `${at}/universe`, spec.universe);
    const allowed: BackfillVendor[] = [];
    for (const [i, { vendor, job: jobName }] of spec.vendors.entries()) {
      const where = `${at}/vendors/${i}`;
      if (!(vendorNames as readonly string[]).includes(vendor)) throw errorAt(`${where}/vendor`, `unknown vendor "${vendor}" (vendors: ${vendorNames.join(', ')})`);
      if (allowed.some((v) => v.vendor === vendor)) throw errorAt(`${where}/vendor`, `${vendor} is allowed twice in target ${name}`);
      if (!endpoints[vendor]) throw errorAt(`${where}/vendor`, `${vendor} has no provider entry in endpoints.yml`);
      const serving = servingError(vendor, spec.dataset, granularity);
      if (serving) throw errorAt(`${where}/vendor`, serving);
      const job = jobs.get(jobName) ?? vendorJob(yaml, configDir, `${where}/job`, jobName, env);
      jobs.set(jobName, job);
      const mismatch = jobMismatch(job, vendor, spec, granularity);
      if (mismatch) throw errorAt(`${where}/job`, `job ${jobName} ${mismatch}, so it cannot load ${vendor}'s share of target ${name}`);
      const found = jobFetcher(vendor, spec.dataset, job.spec.source.endpoint);
      if ('error' in found) throw errorAt(`${where}/job`, found.error);
      allowed.push({ vendor, job, fetcher: found.fetcher });
      used.add(vendor);
    }
    vendors.set(name, allowed);
    targets.push({
      name,
      dataset: spec.dataset,
      granularity,
      calendar: spec.calendar,
      universe,
      earliest: spec.earliest,
      chunkSessions: spec.chunk_sessions,
      priority: spec.priority ?? 1,
      vendors: spec.vendors.map(({ vendor, job }) => ({ vendor, job })),
    });
  }

  const budgets: Record<string, number> = {};
  for (const [vendor, budget] of Object.entries(yaml.value.budgets ?? {})) {
    const at = `/budgets/${vendor}`;
    if (!(vendorNames as readonly string[]).includes(vendor)) throw errorAt(at, `unknown vendor "${vendor}" (vendors: ${vendorNames.join(', ')})`, 'key');
    const daily = endpoints[vendor]?.daily_budget;
    if (daily === undefined) throw errorAt(at, `${vendor} has no provider entry in endpoints.yml`, 'key');
    // Backfill takes a share of the day; forward ingest spends from the same count.
    if (budget > daily) throw errorAt(at, `${budget} requests a day is more than ${vendor}'s daily_budget in endpoints.yml (${daily})`);
    budgets[vendor] = budget;
  }
  for (const vendor of used) budgets[vendor] ??= endpoints[vendor]!.daily_budget;

  // Array.prototype.sort is stable: equal priorities keep the file's order.
  targets.sort((a, b) => a.priority - b.priority);
  return { file: yaml.file, targets, vendors, budgets: Object.freeze(budgets), errorAt };
}

/** The symbols of a universe file: one a line, blank lines and # comments skipped. */
export function readUniverseFile(configDir: string, file: string): string[] {
  return readFileSync(path.resolve(configDir, file), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

function checkDate(yaml: YamlFile<BackfillSpec>, pointer: string, date: string): void {
  const t = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== date) throw yaml.errorAt(pointer, `${date} is not a date`);
}

function readUniverse(yaml: YamlFile<BackfillSpec>, configDir: string, at: string, spec: TargetSpec['universe']): Universe {
  if (spec.symbols) return { kind: 'symbols', symbols: spec.symbols };
  if (spec.tickers) {
    checkDate(yaml, `${at}/tickers/as_of`, spec.tickers.as_of);
    return { kind: 'tickers', source: spec.tickers.source, asOf: spec.tickers.as_of };
  }
  const file = spec.file!;
  if (!existsSync(path.resolve(configDir, file))) throw yaml.errorAt(`${at}/file`, `no file ${file} in ${configDir}`);
  return { kind: 'file', file };
}

/** Why none of a vendor's fetchers serves a dataset at a bar size, or null when one does. */
function servingError(vendor: string, dataset: DatasetName, g: Granularity): string | null {
  const ofVendor = fetchersOf(vendor);
  const served = ofVendor.filter((f) => f.dataset === dataset);
  if (served.length === 0) return `${vendor} serves no ${dataset} (it serves ${[...new Set(ofVendor.map((f) => f.dataset))].join(', ')})`;
  const why = served.map((f) => servedGranularity(f, g));
  return why.includes(null) ? null : why.join('; ');
}

function vendorJob(yaml: YamlFile<BackfillSpec>, configDir: string, pointer: string, name: string, env: NodeJS.ProcessEnv): Job {
  try {
    resolveJobFile(configDir, name);
  } catch (err) {
    if (err instanceof UsageError) throw yaml.errorAt(pointer, err.message);
    throw err;
  }
  // A problem inside the job file is reported at its own line.
  return loadJob(configDir, name, env);
}

/** How a vendor's job differs from the target it would load for, or null. */
function jobMismatch(job: Job, vendor: string, spec: TargetSpec, g: Granularity): string | null {
  if (job.spec.source.adapter !== vendor) return `fetches through ${job.spec.source.adapter}, not ${vendor}`;
  if (job.dataset.name !== spec.dataset) return `loads dataset ${job.dataset.name}, not ${spec.dataset}`;
  if (job.granularity.unit !== g.unit || job.granularity.count !== g.count) return `loads ${job.granularity.text} bars, not ${g.text}`;
  if (job.spec.calendar !== spec.calendar) return `follows calendar ${job.spec.calendar ?? '(none)'}, not ${spec.calendar}`;
  return null;
}
