import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { TradingCalendar } from '../calendar/calendar.js';
import { calendars } from '../calendar/registry.js';
import { datasets, kindOf, type DatasetDef } from '../core/datasets.js';
import { ConfigError, UsageError, errorMessage } from '../core/errors.js';
import { isSessionLabelled, parseGranularity, type Granularity } from '../core/granularity.js';
import { parseWindow } from '../core/time-window.js';
import { isValidZone } from '../core/zone.js';
import { shellWord } from '../core/shell-word.js';
import { defaultScheduleZone, readSchedule, type Schedule } from '../cron/schedule.js';
import { isCurateFile } from './curate.js';
import { loadYamlFile, parseYamlText, type YamlFile } from './load-yaml.js';
import { jobFetcher, servedGranularity, withRegistry } from '../sources/index.js';
import type { DatasetsConfig, JobSpec, PartitionRule, TransformRules, ValidationRules } from './types.js';

/** A job with everything it names loaded and checked. */
export interface Job {
  readonly name: string;
  readonly file: string;
  /** The job file's folder: relative paths in the job resolve against it. */
  readonly dir: string;
  readonly spec: JobSpec;
  readonly dataset: DatasetDef;
  readonly granularity: Granularity;
  readonly transform: YamlFile<TransformRules>;
  readonly validation: YamlFile<ValidationRules>;
  readonly partition: PartitionRule;
  /** The trading calendar its bars follow, when the job names one: session rules and audit completeness use it. */
  readonly calendar: TradingCalendar | null;
  /** When cron runs it, read in its zone (default: its calendar's); null when it declares none. */
  readonly schedule: Schedule | null;
  /** A ConfigError at a place in the job file. */
  errorAt(pointer: string, message: string, at?: 'key' | 'value'): ConfigError;
}

/** What a job may be called: the job.schema.json pattern and length of name:. */
const jobNamePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function jobsDir(configDir: string): string {
  return path.join(configDir, 'jobs');
}

export function listJobFiles(configDir: string): string[] {
  const dir = jobsDir(configDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** A job named on the command line: a name in configs/jobs, or a path to a YAML file. */
export function resolveJobFile(configDir: string, nameOrPath: string): string {
  if (/\.ya?ml$/.test(nameOrPath) || nameOrPath.includes('/')) {
    const p = path.resolve(nameOrPath);
    if (!existsSync(p)) throw new UsageError(`job file ${nameOrPath} does not exist`);
    return p;
  }
  for (const ext of ['.yml', '.yaml']) {
    const p = path.join(jobsDir(configDir), nameOrPath + ext);
    if (existsSync(p)) return p;
  }
  const known = listJobFiles(configDir).map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
  throw new UsageError(
    `no job named "${nameOrPath}" in ${jobsDir(configDir)}` + (known.length ? ` (jobs: ${known.join(', ')})` : ''),
  );
}

/**
 * How a command line names this job, for hints such as `mdw quarantine list <job>`: its name when
 * configs/jobs finds it by that name, else its file (relative to `cwd` when inside it), so that
 * the hint works for a job given by path too.
 */
export function jobArgument(configDir: string, job: Job, cwd: string = process.cwd()): string {
  const finds = (name: string) => {
    try {
      return resolveJobFile(configDir, name) === job.file;
    } catch {
      return false;
    }
  };
  const name = [job.name, path.basename(job.file).replace(/\.ya?ml$/, '')].find(finds);
  if (name) return shellWord(name);
  const rel = path.relative(cwd, job.file);
  return shellWord(rel.startsWith('..') || path.isAbsolute(rel) ? job.file : `./${rel}`);
}


export function loadJob(configDir: string, nameOrPath: string, env: NodeJS.ProcessEnv): Job {
  const file = resolveJobFile(configDir, nameOrPath);
  if (isCurateFile(file)) throw new UsageError(`${nameOrPath} is a curate job (kind: curate): run \`mdw curate ${nameOrPath}\``);
  return checkJob(configDir, file, loadYamlFile<JobSpec>(file, 'job', env, withRegistry), env);
}

/**
 * A job that code writes rather than a person (curate loads its results through one): the same
 * schema and checks as a job file; `file` names where it came from in errors, and relative paths
 * in it resolve against its folder.
 */
export function jobFromText(configDir: string, file: string, text: string, env: NodeJS.ProcessEnv): Job {
  return checkJob(configDir, file, parseYamlText<JobSpec>(text, file, 'job', env, withRegistry), env);
}

function checkJob(configDir: string, file: string, jobFile: YamlFile<JobSpec>, env: NodeJS.ProcessEnv): Job {
  const spec = jobFile.value;
  const name = spec.name ?? path.basename(file).replace(/\.ya?ml$/, '');
  // The name goes into the catalog, logs and hints typed back into a shell: the schema checks
  // a name: key, and a name taken from the file name is held to the same form.
  if (spec.name === undefined && !jobNamePattern.test(name)) {
    throw jobFile.errorAt(
      '',
      `the job's name comes from its file name, and "${name.length > 80 ? `${name.slice(0, 80)}…` : name}" is not a job name (lowercase letters, digits, ".", "_" and "-", at most 64 characters): rename the file or set name:`,
    );
  }
  const dataset = datasets[spec.dataset];
  let granularity: Granularity;
  try {
    granularity = parseGranularity(spec.granularity);
  } catch (err) {
    throw jobFile.errorAt('/granularity', errorMessage(err));
  }

  const transform = loadNamed<TransformRules>(configDir, 'transforms', spec.transform, 'transform', env, () =>
    jobFile.errorAt('/transform', `no transform "${spec.transform}" in ${path.join(configDir, 'transforms')}`),
  );
  if (transform.value.dataset !== spec.dataset) {
    throw jobFile.errorAt('/transform', `transform "${spec.transform}" is for dataset ${transform.value.dataset}, the job is for ${spec.dataset}`);
  }
  checkTransformRules(transform, dataset, granularity);

  const validationName = spec.validation ?? dataset.defaultValidation;
  const validation = loadNamed<ValidationRules>(configDir, 'validation', validationName, 'validation', env, () =>
    jobFile.errorAt('/validation', `no validation rules "${validationName}" in ${path.join(configDir, 'validation')}`),
  );
  if (validation.value.dataset !== spec.dataset) {
    throw jobFile.errorAt('/validation', `validation "${validationName}" is for dataset ${validation.value.dataset}, the job is for ${spec.dataset}`);
  }

  const partition = partitionRuleFor(configDir, env, spec.dataset, granularity.text);
  for (const end of ['from', 'to'] as const) {
    const value = spec.window?.[end];
    if (value === undefined) continue;
    try {
      parseWindow(end === 'from' ? value : undefined, end === 'to' ? value : undefined, 'window.');
    } catch (err) {
      throw jobFile.errorAt(`/window/${end}`, (err as Error).message);
    }
  }
  if (spec.window?.from && spec.window.to && spec.window.from > spec.window.to) {
    throw jobFile.errorAt('/window', `window.from ${spec.window.from} is after window.to ${spec.window.to}`);
  }
  if (spec.extended_hours && !spec.calendar) throw jobFile.errorAt('/extended_hours', `extended_hours needs a calendar (e.g. calendar: XNYS)`);

  if (!kindOf(dataset).sessions) {
    // Events and reference records have no sessions to complete and no series to score.
    if (spec.calendar) throw jobFile.errorAt('/calendar', `a calendar applies to bars; ${spec.dataset} rows are not judged against sessions`, 'key');
    if (validation.value.series) throw validation.errorAt('/series', `series rules score bars; ${spec.dataset} has none`, 'key');
    const i = validation.value.rules.findIndex((r) => ['in_session', 'ohlc_bracket', 'max_move'].includes(r.rule));
    if (i >= 0) throw validation.errorAt(`/rules/${i}/rule`, `${validation.value.rules[i]!.rule} checks bars; ${spec.dataset} has none`);
  }
  const known = new Set(dataset.columns.map((c) => c.name));
  validation.value.rules.forEach((r, i) => {
    for (const c of [...(r.columns ?? []), ...Object.keys(r.when ?? {})]) {
      if (!known.has(c)) throw validation.errorAt(`/rules/${i}`, `${r.rule}: "${c}" is not a ${spec.dataset} column`);
    }
  });
  const adapter = spec.source.adapter;
  if (adapter === 'file' && spec.source.endpoint) throw jobFile.errorAt('/source/endpoint', `endpoint applies to vendor adapters, not to files`, 'key');
  if (adapter !== 'file') {
    const found = jobFetcher(adapter, spec.dataset, spec.source.endpoint);
    if ('error' in found) throw jobFile.errorAt(spec.source.endpoint ? '/source/endpoint' : '/source', found.error);
    const served = servedGranularity(found.fetcher, granularity);
    if (served) throw jobFile.errorAt('/granularity', served);
  }
  const calendar = spec.calendar ? calendars[spec.calendar] : null;
  const schedule = spec.schedule === undefined ? null : readSchedule(spec.schedule, calendar?.zone ?? defaultScheduleZone, jobFile.errorAt, '/schedule');
  return {
    name,
    file,
    dir: path.dirname(file),
    calendar,
    schedule,
    spec,
    dataset,
    granularity,
    transform,
    validation,
    partition,
    errorAt: jobFile.errorAt,
  };
}

/** The partition grain of a dataset's bars of one size (configs/datasets.yml): the first rule that matches. */
export function partitionRuleFor(configDir: string, env: NodeJS.ProcessEnv, dataset: string, granularity: string): PartitionRule {
  const grain = loadDatasetsConfig(configDir, env);
  const rules = (grain.value.datasets as Record<string, { readonly partitions: readonly PartitionRule[] } | undefined>)[dataset]?.partitions;
  if (!rules) throw grain.errorAt('/datasets', `no partition grain for dataset ${dataset}`);
  const partition = rules.find((r) => !r.granularities || r.granularities.includes(granularity));
  if (!partition) {
    throw grain.errorAt(`/datasets/${dataset}/partitions`, `no partition rule matches granularity ${granularity}; add a catch-all rule without granularities`);
  }
  return partition;
}

export function loadDatasetsConfig(configDir: string, env: NodeJS.ProcessEnv): YamlFile<DatasetsConfig> {
  return loadYamlFile<DatasetsConfig>(path.join(configDir, 'datasets.yml'), 'datasets', env);
}

function loadNamed<T>(
  configDir: string,
  folder: string,
  name: string,
  schema: 'transform' | 'validation',
  env: NodeJS.ProcessEnv,
  missing: () => ConfigError,
): YamlFile<T> {
  for (const ext of ['.yml', '.yaml']) {
    const p = path.join(configDir, folder, name + ext);
    if (existsSync(p)) return loadYamlFile<T>(p, schema, env);
  }
  throw missing();
}

const timeKinds = ['date', 'datetime', 'epoch'] as const;

/** What the schema cannot say: columns exist, times are unambiguous, zones and patterns are valid. */
export function checkTransformRules(tf: YamlFile<TransformRules>, def: DatasetDef, g: Granularity): void {
  const rules = tf.value;
  const known = new Map(def.columns.map((c) => [c.name, c]));
  for (const [name, rule] of Object.entries(rules.columns)) {
    const at = `/columns/${name}`;
    if (name === def.symbolColumn) throw tf.errorAt(at, `the symbol comes from the "symbol:" section, not from columns`, 'key');
    const col = known.get(name);
    if (!col) {
      throw tf.errorAt(at, `"${name}" is not a ${def.name} column (columns: ${[...known.keys()].filter((k) => k !== def.symbolColumn).join(', ')})`, 'key');
    }
    const kinds = timeKinds.filter((k) => rule[k] !== undefined);
    const isTime = name === def.timeColumn;
    if (rule.when && col.type === 'timestamp') throw tf.errorAt(`${at}/when`, `a time column cannot depend on the record's kind`);
    // A flag may be mapped from the vendor's words (Alpha Vantage's status Active -> true).
    if (rule.map && col.type !== 'varchar' && col.type !== 'boolean') throw tf.errorAt(`${at}/map`, `only a text or true/false column can be mapped`);
    if (rule.case && col.type !== 'varchar') throw tf.errorAt(`${at}/case`, `only a text column can be cased`);
    if (col.type === 'timestamp') {
      if (kinds.length !== 1) throw tf.errorAt(at, `a time column needs exactly one of date, datetime or epoch`);
      for (const key of ['date', 'datetime'] as const) {
        const format = rule[key];
        if (format === undefined || format === 'iso') continue;
        const bad = badStrptime(format);
        if (bad) throw tf.errorAt(`${at}/${key}`, bad);
      }
      if (!isTime && rule.datetime !== undefined && rule.datetime !== 'iso') {
        throw tf.errorAt(`${at}/datetime`, `only the time column (${def.timeColumn}) may be a local date-time; use iso or epoch for ${name}`);
      }
      if (isTime && rule.date !== undefined && !isSessionLabelled(g)) {
        throw tf.errorAt(`${at}/date`, `a plain date cannot stamp ${g.text} bars; use datetime with a timezone`);
      }
      if (rule.datetime !== undefined && rule.datetime !== 'iso' && !rule.timezone) {
        throw tf.errorAt(`${at}/datetime`, `a local date-time needs an explicit timezone (e.g. timezone: America/New_York)`);
      }
      if (rule.date !== undefined && rule.timezone) throw tf.errorAt(`${at}/timezone`, `a session date has no time zone; remove timezone`);
      const instant = rule.epoch !== undefined || rule.datetime === 'iso';
      if (instant && rule.timezone) {
        throw tf.errorAt(
          `${at}/timezone`,
          `an instant (${rule.epoch !== undefined ? `epoch ${rule.epoch}` : 'iso'}) carries its own zone; for daily bars, say which session a stamp names with stamp: { date_in: <zone> } (or within_session: true)`,
        );
      }
      if (rule.stamp !== undefined) {
        if (!isTime || !instant) throw tf.errorAt(`${at}/stamp`, `stamp applies to the time column stamped at an instant (epoch or iso); a date or a local date-time names its session itself`);
        for (const [i, c] of [rule.stamp, ...(rule.stamp.markets ?? [])].entries()) {
          const where = i === 0 ? `${at}/stamp` : `${at}/stamp/markets/${i - 1}`;
          if (c.date_in !== undefined && !isValidZone(c.date_in)) throw tf.errorAt(`${where}/date_in`, `unknown time zone "${c.date_in}" (use an IANA name such as America/New_York or UTC)`);
        }
        (rule.stamp.markets ?? []).forEach((m, i) => {
          const bad = badRe2(m.symbols);
          if (bad) throw tf.errorAt(`${at}/stamp/markets/${i}/symbols`, bad);
        });
      } else if (isTime && instant && isSessionLabelled(g)) {
        throw tf.errorAt(
          `${at}`,
          `a ${g.text} ${name} stamped at an instant needs stamp: which session (date) a stamp names, e.g. stamp: { date_in: America/New_York } for bars stamped at 00:00 New York, { date_in: UTC } for 00:00 UTC`,
        );
      }
      if (rule.timezone && !isValidZone(rule.timezone)) throw tf.errorAt(`${at}/timezone`, `unknown time zone "${rule.timezone}" (use an IANA name such as America/New_York)`);
      // A daily bar stamped at its close instant (CoinGecko's) starts one bar earlier; a session date or local date-time names its day already.
      if (rule.label === 'end' && (!isTime || (isSessionLabelled(g) && !instant))) throw tf.errorAt(`${at}/label`, `label: end only applies to intraday bars, and to daily and longer bars stamped at an instant (epoch or iso)`);
      if (rule.scale !== undefined) throw tf.errorAt(`${at}/scale`, `a time column cannot be scaled`);
    } else {
      const bad = [...kinds, ...(rule.timezone ? ['timezone'] : []), ...(rule.label ? ['label'] : []), ...(rule.stamp ? ['stamp'] : [])];
      if (bad.length) throw tf.errorAt(`${at}/${bad[0]}`, `${bad[0]} only applies to the time column`);
      if (Array.isArray(rule.from) && rule.from.length > 1 && !rule.map) throw tf.errorAt(`${at}/from`, `only a time column, or a mapped text column, can join several source columns`);
      if (rule.scale !== undefined && col.type !== 'double') throw tf.errorAt(`${at}/scale`, `only a decimal column can be scaled`);
    }
  }
  for (const name of Object.keys(rules.constants ?? {})) {
    if (!known.has(name) || name === def.timeColumn) throw tf.errorAt(`/constants/${name}`, `"${name}" cannot be a constant ${def.name} column`, 'key');
    if (rules.columns[name]) throw tf.errorAt(`/constants/${name}`, `"${name}" is both mapped in columns and set as a constant`);
  }
  for (const col of def.columns) {
    if (!col.required || col.name === def.symbolColumn) continue;
    if (!rules.columns[col.name] && !(rules.constants && col.name in rules.constants)) {
      throw tf.errorAt('/columns', `the required ${def.name} column "${col.name}" is not mapped`);
    }
  }
  if (def.symbolColumn) {
    if (!rules.symbol) throw tf.errorAt('', `a ${def.name} transform needs a "symbol:" section (from, from_filename or value)`);
    const pattern = rules.symbol.from_filename;
    const bad = pattern === undefined ? null : badRe2(pattern);
    if (bad) throw tf.errorAt('/symbol/from_filename', bad);
  }
}

/** Why a pattern cannot be a DuckDB (RE2) regular expression, or null. */
function badRe2(pattern: string): string | null {
  try {
    new RegExp(pattern);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  return /\(\?<?[=!]|\\[1-9]/.test(pattern) ? `lookarounds and back-references are not supported (RE2 syntax)` : null;
}

/** strptime directives DuckDB knows; anything else would fail every row at run time. */
const strptimeDirectives = /%(-?[aAwdbBmyYHIpMSfnzZjUWcxXg]|%)/g;

function badStrptime(format: string): string | null {
  const rest = format.replace(strptimeDirectives, '');
  const stray = /%-?./.exec(rest);
  if (stray) return `"${stray[0]}" is not a strptime directive (use %Y %m %d %H %M %S %f %z %b ...)`;
  if (!format.includes('%')) return `"${format}" has no strptime directive (e.g. %Y-%m-%d)`;
  return null;
}
