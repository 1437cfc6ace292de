import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultScheduleZone, readSchedule, type Schedule, type ScheduleSpec } from '../cron/schedule.js';
import { loadBackfillConfig } from './backfill.js';
import { isCurateFile, loadCurateJob } from './curate.js';
import { keyVariables, loadEndpoints } from './endpoints.js';
import { jobArgument, listJobFiles, loadJob, type Job } from './jobs.js';
import { loadYamlFile } from './load-yaml.js';

/** As written in configs/schedule.yml (schema: configs/schema/schedule.schema.json). */
interface ScheduleFileSpec {
  readonly lock_timeout?: number;
  readonly backfill?: EntrySpec;
  readonly curate?: EntrySpec;
  readonly audit?: EntrySpec & { readonly fail_on?: readonly string[] };
  readonly retention?: EntrySpec;
  readonly backup?: EntrySpec & { readonly to: string; readonly keep?: number };
  readonly backup_verify?: EntrySpec;
}

type EntrySpec = Exclude<ScheduleSpec, string>;

/** One line of the crontab: what runs (mdw's arguments), when, and what the comment above it says. */
export interface CronEntry {
  /** The arguments after `mdw` (and its --lock-timeout). */
  readonly args: readonly string[];
  readonly schedule: Schedule;
  /** What the line does, for the comment above it. */
  readonly what: string;
  /** More comment lines: what an operator reading the crontab should know about it. */
  readonly notes: readonly string[];
  /** Environment variables (vendor keys) its runs read. */
  readonly keys: readonly string[];
}

export interface CronPlan {
  readonly entries: readonly CronEntry[];
  readonly lockTimeoutSeconds: number;
  /** configs/schedule.yml, or null when the config folder has none. */
  readonly scheduleFile: string | null;
}

export function scheduleFile(configDir: string): string {
  return path.join(configDir, 'schedule.yml');
}

/**
 * Every line mdw cron prints: the ingest and curate jobs that declare a schedule (file order),
 * then configs/schedule.yml's commands in the order a night runs them. Checks everything it reads
 * (a job with a bad schedule is a ConfigError at its line). `home` places a relative backup folder.
 */
export function loadCronPlan(configDir: string, home: string, env: NodeJS.ProcessEnv): CronPlan {
  const entries: CronEntry[] = [];
  const endpoints = loadEndpoints(configDir, env).value.providers;
  const keysOf = (vendors: readonly string[]): string[] => {
    const out = new Set<string>();
    for (const v of vendors) {
      const auth = endpoints[v]?.auth;
      // A key the vendor serves without (Binance, CoinGecko's public API) is no key the line needs.
      if (!auth || (auth.kind === 'headers' && auth.optional)) continue;
      for (const name of keyVariables(auth)) out.add(name);
    }
    return [...out];
  };
  const vendorOf = (job: Job) => (job.spec.source.adapter === 'file' ? [] : [job.spec.source.adapter]);
  const curateOwn = new Set<string>();
  const curateAll: string[] = [];
  for (const file of listJobFiles(configDir)) {
    if (isCurateFile(file)) {
      const job = loadCurateJob(configDir, file, env);
      if (!job.schedule) {
        curateAll.push(job.name);
        continue;
      }
      curateOwn.add(job.name);
      entries.push({
        args: ['curate', job.name],
        schedule: job.schedule,
        what: `mdw curate ${job.name}: ${[...(job.adjustments ? ['the adjustment log'] : []), ...(job.gold ? ['the gold series'] : [])].join(' and ')}`,
        notes: [],
        keys: [],
      });
      continue;
    }
    const job = loadJob(configDir, file, env);
    if (!job.schedule) continue;
    entries.push({
      args: ['ingest', jobArgument(configDir, job)],
      schedule: job.schedule,
      what: `mdw ingest ${job.name}: ${job.dataset.name} ${job.granularity.text} from ${job.spec.source.adapter === 'file' ? 'files' : job.spec.source.adapter}`,
      notes: [],
      keys: keysOf(vendorOf(job)),
    });
  }

  const where = scheduleFile(configDir);
  if (!existsSync(where)) return { entries, lockTimeoutSeconds: 600, scheduleFile: null };
  const yaml = loadYamlFile<ScheduleFileSpec>(where, 'schedule', env);
  const spec = yaml.value;
  const at = (key: keyof ScheduleFileSpec, entry: EntrySpec) => readSchedule(entry, defaultScheduleZone, yaml.errorAt, `/${key}`);
  if (spec.backfill) {
    const backfill = loadBackfillConfig(configDir, env);
    const vendors = [...new Set([...backfill.vendors.values()].flat().map((v) => v.vendor))];
    entries.push({
      args: ['backfill'],
      schedule: at('backfill', spec.backfill),
      what: 'mdw backfill: plans what is missing (configs/backfill.yml) and fills it from the vendors with budget left',
      notes: ['Exit 3 only means today\'s budgets are spent: the next run resumes the queue.'],
      keys: keysOf(vendors),
    });
  }
  if (spec.curate && curateAll.length > 0) {
    entries.push({
      // Without names it would also run the jobs that have their own line.
      args: curateOwn.size > 0 ? ['curate', ...curateAll] : ['curate'],
      schedule: at('curate', spec.curate),
      what: `mdw curate: ${curateOwn.size > 0 ? `the curate jobs without a schedule of their own (${curateAll.join(', ')})` : 'every curate job (configs/jobs, kind: curate)'}`,
      notes: ['Adjustment logs and gold series; only what changed is computed and written again.'],
      keys: [],
    });
  }
  if (spec.audit) {
    const failOn = spec.audit.fail_on ?? ['red', 'integrity'];
    entries.push({
      args: ['audit', '--fail-on', failOn.join(',')],
      schedule: at('audit', spec.audit),
      what: `mdw audit: exit 1 (and cron's mail) when it finds ${failOn.join(', ')}`,
      notes: ['Holes no vendor has data for are KNOWN, not RED; `mdw backfill accept` explains one for good.'],
      keys: [],
    });
  }
  if (spec.retention) {
    entries.push({
      args: ['retention'],
      schedule: at('retention', spec.retention),
      what: 'mdw retention: the policies of configs/retention.yml (archive or delete what they retire; deleted files wait in MDW_HOME/trash)',
      notes: [],
      keys: [],
    });
  }
  const backupDir = spec.backup ? path.resolve(path.dirname(home), spec.backup.to) : null;
  if (spec.backup) {
    const keep = spec.backup.keep ?? 12;
    entries.push({
      args: ['backup', '--to', backupDir!, '--keep', String(keep)],
      schedule: at('backup', spec.backup),
      what: `mdw backup: a consistent snapshot of the catalog, the lake and the configs; the newest ${keep} are kept`,
      notes: [],
      keys: [],
    });
  }
  if (spec.backup_verify) {
    if (!backupDir) throw yaml.errorAt('/backup_verify', 'backup_verify restores the backups of the backup entry: add a backup entry (with to:)', 'key');
    entries.push({
      args: ['backup', 'verify', backupDir],
      schedule: at('backup_verify', spec.backup_verify),
      what: 'mdw backup verify: the tested restore, into a temporary home, audited',
      notes: ['Exit 1 names the backup file that does not match its hash, or what the audit of the restore found.'],
      keys: [],
    });
  }
  return { entries, lockTimeoutSeconds: spec.lock_timeout ?? 600, scheduleFile: where };
}
