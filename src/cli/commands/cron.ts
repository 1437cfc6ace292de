import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCronPlan } from '../../config/schedule.js';
import { systemClock } from '../../core/clock.js';
import { ExitCode, MdwError, UsageError, errorMessage } from '../../core/errors.js';
import { packageRoot } from '../../core/settings.js';
import { isValidZone } from '../../core/zone.js';
import { CronSyntaxError, isDue, parseCron } from '../../cron/cron-expression.js';
import { outsideBlock, renderCrontab, withBlock, type CrontabTarget } from '../../cron/crontab.js';
import { zoneDistances } from '../../cron/server-lines.js';
import { withContext, type GlobalOptions } from '../run-command.js';

/**
 * `mdw cron`: prints the mdw block of a crontab (the jobs with a schedule and configs/schedule.yml);
 * with --install, puts it into the user's crontab in place of the last one.
 */
export async function cronCommand(opts: GlobalOptions): Promise<number> {
  return withContext(
    opts,
    'mdw cron',
    async (ctx) => {
      const serverZone = (opts.serverTz as string | undefined) ?? systemZone();
      if (!isValidZone(serverZone)) throw new UsageError(`--server-tz ${serverZone}: unknown time zone (use an IANA name such as UTC or Europe/Berlin)`);
      const given = opts.bin as string | undefined;
      const bin = given ? path.resolve(given) : path.join(packageRoot, 'bin', 'mdw');
      // Another installation's bin/mdw (a crontab made for another machine): this one's configs
      // and the node `make` installs are named at the same places beside it.
      const root = path.dirname(path.dirname(bin));
      const inPackage = path.relative(packageRoot, ctx.settings.configDir);
      const configDir = given && !inPackage.startsWith('..') && !path.isAbsolute(inPackage) ? path.join(root, inPackage) : ctx.settings.configDir;
      const nodeDir = given ? path.join(root, '.tools', 'node', 'bin') : nodeFolder();
      const plan = loadCronPlan(ctx.settings.configDir, ctx.settings.home, ctx.env);
      const url = ctx.settings.databaseUrl;
      const target: CrontabTarget = {
        bin,
        nodeDir,
        home: ctx.settings.home,
        configDir,
        databaseUrl: url === undefined ? null : hasPassword(url) ? 'password' : { url },
        serverZone,
        lockTimeoutSeconds: plan.lockTimeoutSeconds,
        madeBy: ['mdw cron', ...flag('--home', opts.home), ...flag('--config-dir', opts.configDir), ...flag('--bin', given), ...flag('--server-tz', opts.serverTz)].join(' '),
        now: ctx.clock.now(),
      };
      const block = renderCrontab(plan.entries, target);
      if (plan.entries.length === 0) ctx.logger.warn(`no job in ${path.join(ctx.settings.configDir, 'jobs')} declares a schedule, and ${plan.scheduleFile ?? 'there is no configs/schedule.yml'}${plan.scheduleFile ? ' has no entry' : ''}: the block has no lines`);
      if (!opts.install) {
        process.stdout.write(block);
        return ExitCode.ok;
      }
      const current = readCrontab(ctx.env);
      const next = withBlock(current, block);
      writeCrontab(next, ctx.env);
      const lines = block.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^[A-Z_]+=/.test(l)).length;
      ctx.logger.info(`installed ${lines} cron lines (${plan.entries.length} schedules) in the crontab of ${os.userInfo().username}, ${current.includes('# >>> mdw >>>') ? 'in place of the last mdw block' : 'after its other lines'}`);
      const outside = outsideBlock(next);
      const keys = new Set(plan.entries.flatMap((e) => e.keys));
      if (target.databaseUrl === 'password') keys.add('MDW_DATABASE_URL');
      for (const key of keys) {
        if (!outside.some((l) => new RegExp(`^\\s*${key}\\s*=`).test(l))) {
          ctx.logger.warn(`${key} is not set in your crontab: add ${key}=... above the mdw block (\`crontab -e\`), or the lines that need it fail`);
        }
      }
      const here = systemZone();
      const same = zoneDistances(serverZone, here, target.now);
      if (same.length > 1 || same[0] !== 0) ctx.logger.warn(`the lines are for a cron in ${serverZone} (--server-tz), and this system's runs in ${here}: the times are wrong here unless that is meant`);
      if (!existsSync(ctx.settings.home)) ctx.logger.warn(`there is no warehouse at ${ctx.settings.home} yet: create it with \`mdw init\` before the lines run`);
      return ExitCode.ok;
    },
    { fileLog: false },
  );
}

/** `mdw cron due '<expr>' --tz <zone>`: exit 0 when the minute (now, or --at) is one the expression names in that zone, else 1. */
export async function cronDueCommand(opts: GlobalOptions, expression: string): Promise<number> {
  let cron;
  try {
    cron = parseCron(expression);
  } catch (err) {
    if (err instanceof CronSyntaxError) throw new UsageError(err.message);
    throw err;
  }
  const zone = (opts.tz as string | undefined) ?? systemZone();
  if (!isValidZone(zone)) throw new UsageError(`--tz ${zone}: unknown time zone (use an IANA name such as America/New_York or UTC)`);
  // The minute cron started this line in: when this process began, not when node is done
  // loading (seconds later on a loaded machine, which could cross into the next minute).
  let at = new Date(systemClock.now().getTime() - Math.round(process.uptime() * 1000));
  if (opts.at !== undefined) {
    const text = String(opts.at);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text) || Number.isNaN(Date.parse(text))) {
      throw new UsageError(`--at ${text} is not a time with its offset (ISO 8601, e.g. 2026-03-09T20:30:00Z or 2026-03-09T16:30-04:00)`);
    }
    at = new Date(text);
  }
  return isDue(cron, zone, at) ? ExitCode.ok : ExitCode.failed;
}

/**
 * The folder of the node this runs on, as a crontab should name it: `make` installs node into
 * .tools/node-<version> and points .tools/node at it, so the link's name outlives an upgrade.
 */
function nodeFolder(): string {
  const link = path.join(packageRoot, '.tools', 'node', 'bin', 'node');
  try {
    if (realpathSync(link) === realpathSync(process.execPath)) return path.dirname(link);
  } catch {
    // No node of make's here: the one running is the one to name.
  }
  return path.dirname(process.execPath);
}

function flag(name: string, value: unknown): string[] {
  return value === undefined ? [] : [name, String(value)];
}

function hasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    // Not a URL we can read: say nothing of it rather than print it.
    return true;
  }
}

/**
 * The zone the system's cron runs lines in: /etc/localtime's zone (cron ignores the TZ of the
 * shell that runs mdw cron), else /etc/timezone, else what Intl says.
 */
export function systemZone(): string {
  const fromLink = (target: string) => {
    const i = target.indexOf('zoneinfo/');
    return i >= 0 ? target.slice(i + 'zoneinfo/'.length) : undefined;
  };
  for (const read of [() => fromLink(readlinkSync('/etc/localtime')), () => fromLink(realpathSync('/etc/localtime')), () => readFileSync('/etc/timezone', 'utf8').trim()]) {
    try {
      const zone = read();
      if (zone && isValidZone(zone)) return zone;
    } catch {
      // Not there on this system: the next way.
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The user's crontab; `no crontab for <user>` (exit 1) is an empty one. */
function readCrontab(env: NodeJS.ProcessEnv): string {
  const r = spawnSync('crontab', ['-l'], { encoding: 'utf8', env });
  if (r.error) throw noCrontab(r.error);
  if (r.status === 0) return r.stdout;
  if (/no crontab for/i.test(r.stderr)) return '';
  throw new MdwError('cron', `crontab -l failed (exit ${r.status}): ${r.stderr.trim() || 'no message'}`);
}

function writeCrontab(text: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync('crontab', ['-'], { input: text, encoding: 'utf8', env });
  if (r.error) throw noCrontab(r.error);
  if (r.status !== 0) throw new MdwError('cron', `crontab refused the new crontab (exit ${r.status}): ${r.stderr.trim() || 'no message'}; nothing was changed`);
}

function noCrontab(err: Error): MdwError {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
    ? new MdwError('cron', 'there is no crontab command on this machine: install cron (Debian: apt-get install cron), or give the lines `mdw cron` prints to your scheduler')
    : new MdwError('cron', `cannot run crontab: ${errorMessage(err)}`);
}
