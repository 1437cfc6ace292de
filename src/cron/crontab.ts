import type { CronEntry } from '../config/schedule.js';
import { UsageError } from '../core/errors.js';
import { shellWord } from '../core/shell-word.js';
import { describeSchedule, serverLines } from './server-lines.js';

/** The lines that mark mdw's block in a user's crontab; --install replaces what is between them. */
export const blockBegin = '# >>> mdw >>>';
export const blockEnd = '# <<< mdw <<<';

/** Where the lines run: the server's zone and paths as they are on it. */
export interface CrontabTarget {
  /** The mdw the lines run (absolute). */
  readonly bin: string;
  /** A folder holding a node new enough for mdw, first on PATH (bin/mdw starts with `env node`). */
  readonly nodeDir: string;
  readonly home: string;
  readonly configDir: string;
  /** MDW_DATABASE_URL when it has no password to print; `password` when it has one. */
  readonly databaseUrl: { readonly url: string } | 'password' | null;
  /** The zone the server's cron reads its lines in. */
  readonly serverZone: string;
  readonly lockTimeoutSeconds: number;
  /** The command that made this crontab, for the header. */
  readonly madeBy: string;
  /** When the zones' distances are taken from (the clock's now). */
  readonly now: Date;
}

/**
 * The mdw block of a crontab, markers included: the environment cron needs, then a comment and
 * its line(s) per entry. Pure: the same inputs give the same text.
 */
export function renderCrontab(entries: readonly CronEntry[], t: CrontabTarget): string {
  const log = `${shellWord(t.home.replace(/\/+$/, ''))}/logs/cron.log`;
  const mdw = shellWord(t.bin);
  const keys = new Map<string, string[]>();
  for (const e of entries) for (const k of e.keys) keys.set(k, [...(keys.get(k) ?? []), e.args.slice(0, 2).join(' ')]);
  for (const value of [t.home, t.configDir, t.nodeDir]) {
    // An environment line ends at its line.
    if (value.includes('\n')) throw new UsageError(`${JSON.stringify(value)}: a path for a crontab cannot hold a line break`);
  }
  const out: string[] = [
    blockBegin,
    `# Made by \`${t.madeBy}\` for a server whose cron runs in ${t.serverZone}.`,
    '# `mdw cron --install` replaces this block and keeps every other line of the crontab: change',
    '# schedules in the job files (schedule:) and configs/schedule.yml, not here.',
    '#',
    '# Cron starts with an empty environment and $HOME as the working folder, so say everything.',
    '# These settings hold for every line below them in this crontab, also after this block.',
    'SHELL=/bin/sh',
    `PATH=${[...new Set([t.nodeDir, '/usr/local/bin', '/usr/bin', '/bin'])].join(':')}`,
    `MDW_HOME=${t.home}`,
    `MDW_CONFIG_DIR=${t.configDir}`,
  ];
  if (t.databaseUrl === null) out.push('# MDW_DATABASE_URL=postgres://mdw@127.0.0.1:5432/mdw   # a Postgres catalog; without it the catalog is embedded in MDW_HOME');
  else if (t.databaseUrl === 'password') out.push('# MDW_DATABASE_URL holds a password: set it above this block, with the vendor keys (mdw prints no secret).');
  else out.push(`MDW_DATABASE_URL=${t.databaseUrl.url}`);
  out.push(
    '#',
    '# Vendor keys: cron has none of your shell\'s variables. Set them above this block (a crontab is',
    '# readable by its user only, and --install keeps the lines outside the block):',
  );
  if (keys.size === 0) out.push('#   (no scheduled job reads a vendor key)');
  for (const [k, users] of [...keys].sort((a, b) => a[0].localeCompare(b[0]))) out.push(`#   ${k}=...   (${users.join(', ')})`);
  out.push(
    '#',
    '# Times: a schedule is read in its own zone (a job\'s calendar: XNYS New York, 24/7 UTC; New York',
    `# otherwise). Where that zone's clock moves against ${t.serverZone} (summer time), a schedule`,
    '# gets a line at each server time it can fall on, and `mdw cron due` lets the command run only',
    '# at the one that is right that day (at the others it exits 1: nothing runs, nothing is mailed).',
    `# --lock-timeout ${t.lockTimeoutSeconds} lets a run wait for one still going instead of exiting 4 at once.`,
    '# Exit codes: 0 ok, 1 failed, 2 bad usage or config, 3 partial, 4 another run holds the lock.',
    `# Output goes to ${log}; cron mails what a line prints outside it. Over years that log`,
    '# grows: rotate it (logrotate with copytruncate, weekly).',
  );
  for (const e of entries) {
    out.push('', `# ${e.what}; ${describeSchedule(e.schedule.cron, e.schedule.zone)}.`, ...e.notes.map((n) => `# ${n}`));
    const command = `${mdw} --lock-timeout ${t.lockTimeoutSeconds} ${e.args.map(shellWord).join(' ')} >> ${log} 2>&1`;
    for (const line of serverLines(e.schedule.cron, e.schedule.zone, t.serverZone, t.now)) {
      const guard = line.guarded ? `${mdw} cron due ${shellWord(e.schedule.cron.text)} --tz ${shellWord(e.schedule.zone)} && ` : '';
      const text = `${guard}${command}`;
      // cron turns an unescaped % of a command into a line break (quotes do not stop it).
      if (/[%\n]/.test(text)) throw new UsageError(`${JSON.stringify(text)}: cron reads % as a line break; use paths without % or line breaks`);
      out.push(`${line.expression} ${text}`);
    }
  }
  out.push(blockEnd);
  return `${out.join('\n')}\n`;
}

/**
 * A crontab with the mdw block put in: in place of the one there (the rest kept as it was), or
 * appended. A begin marker without its end is refused rather than guessed at.
 */
export function withBlock(crontab: string, block: string): string {
  const lines = crontab.length === 0 ? [] : crontab.replace(/\n$/, '').split('\n');
  const begin = lines.findIndex((l) => l.trim() === blockBegin);
  const end = lines.findIndex((l, i) => i > begin && l.trim() === blockEnd);
  const blockLines = block.replace(/\n$/, '').split('\n');
  if (begin < 0) {
    if (lines.some((l) => l.trim() === blockEnd)) throw new UsageError(`your crontab has "${blockEnd}" without "${blockBegin}" before it: fix it with \`crontab -e\`, then run again`);
    const sep = lines.length > 0 && lines.at(-1)!.trim() !== '' ? [''] : [];
    return `${[...lines, ...sep, ...blockLines].join('\n')}\n`;
  }
  if (end < 0) throw new UsageError(`your crontab has "${blockBegin}" without "${blockEnd}" after it: fix it with \`crontab -e\`, then run again`);
  return `${[...lines.slice(0, begin), ...blockLines, ...lines.slice(end + 1)].join('\n')}\n`;
}

/** The lines of a crontab outside the mdw block. */
export function outsideBlock(crontab: string): string[] {
  const lines = crontab.split('\n');
  const begin = lines.findIndex((l) => l.trim() === blockBegin);
  const end = lines.findIndex((l, i) => i > begin && l.trim() === blockEnd);
  return begin < 0 || end < 0 ? lines : [...lines.slice(0, begin), ...lines.slice(end + 1)];
}
