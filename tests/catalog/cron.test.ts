import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyConfigs, freshCatalog, removeDir, runMdw, tempDir, type CliResult } from '../support/helpers.js';

let root: string;
let configs: string;
let home: string;
let url: string | undefined;
let drop: () => Promise<void>;
const mdw = (...args: string[]) => runMdw(['--home', home, '--config-dir', configs, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });

beforeAll(async () => {
  root = tempDir('mdw-cron-run-');
  configs = copyConfigs(root);
  home = path.join(root, 'warehouse');
  ({ url, drop } = await freshCatalog());
  expect((await mdw('init', '--yes')).code).toBe(0);
});
afterAll(async () => {
  await drop();
  removeDir(root);
});

/** The environment lines of a printed block and the command of the line under a comment. */
function entry(block: string, comment: string): { env: string[]; fields: string; command: string } {
  const lines = block.split('\n');
  const at = lines.findIndex((l) => l.startsWith(comment));
  expect(at).toBeGreaterThan(0);
  // The line itself follows the comment and its notes.
  const line = lines.slice(at + 1).find((l) => !l.startsWith('#'))!;
  const words = line.split(' ');
  return { env: lines.filter((l) => /^[A-Z_]+=/.test(l)), fields: words.slice(0, 5).join(' '), command: words.slice(5).join(' ') };
}

/**
 * Runs a crontab line's command as cron does: an empty environment with cron's own (HOME, LOGNAME,
 * SHELL, PATH=/usr/bin:/bin), then the crontab's lines in order, /bin/sh -c in $HOME.
 */
function asCron(env: readonly string[], command: string): Promise<CliResult> {
  const extra = url ? [`MDW_DATABASE_URL=${url}`] : []; // a server's URL, set above the block as the block says
  const args = ['-i', `HOME=${root}`, `LOGNAME=${os.userInfo().username}`, 'SHELL=/bin/sh', 'PATH=/usr/bin:/bin', ...extra, ...env, '/bin/sh', '-c', command];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/env', args, { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function demoRows(): Promise<string> {
  const r = await mdw('query', 'sql', "select count(*) as n, count(distinct symbol) as symbols from ohlcv where source = 'demo'", '--format', 'csv');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe("mdw cron's lines run as written in cron's empty environment", () => {
  test('the guarded line of a New York schedule on a UTC server: the guard passes and the demo job lands its bars', async () => {
    // Every minute is due in any zone, so the guard lets it through whenever the test runs.
    const demo = path.join(configs, 'jobs', 'demo.yml');
    writeFileSync(demo, readFileSync(demo, 'utf8').replace('schedule: 30 17 * * 1-5', "schedule: '* * * * *'"));
    const printed = await mdw('cron', '--server-tz', 'UTC');
    expect(printed.code).toBe(0);
    const e = entry(printed.stdout, '# mdw ingest demo:');
    expect(e.fields).toBe('* * * * *');
    expect(e.command).toMatch(/^\S+\/bin\/mdw cron due '\* \* \* \* \*' --tz America\/New_York && \S+\/bin\/mdw --lock-timeout 600 ingest demo >> \S+\/logs\/cron\.log 2>&1$/);
    expect(e.env).toContain(`MDW_HOME=${home}`);
    expect(e.env).toContain(`MDW_CONFIG_DIR=${configs}`);

    const r = await asCron(e.env, e.command);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
    expect(await demoRows()).toBe('n,symbols\n746,3\n');
    const log = readFileSync(path.join(home, 'logs', 'cron.log'), 'utf8');
    expect(log).toMatch(/^job,.*stored/m);
    expect(log).toMatch(/^demo,/m);
  });

  test("the plain line of a schedule in the server's own zone runs as written, and again changes nothing", async () => {
    const demo = path.join(configs, 'jobs', 'demo.yml');
    writeFileSync(demo, readFileSync(demo, 'utf8').replace("schedule: '* * * * *'", 'schedule: 30 17 * * 1-5'));
    const printed = await mdw('cron', '--server-tz', 'America/New_York');
    const e = entry(printed.stdout, '# mdw ingest demo:');
    expect(e.fields).toBe('30 17 * * 1-5');
    expect(e.command).toMatch(/^\S+\/bin\/mdw --lock-timeout 600 ingest demo >> /);
    const r = await asCron(e.env, e.command);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect(await demoRows()).toBe('n,symbols\n746,3\n');
  });

  test('a guard outside its minute runs nothing and says nothing (exit 1, no mail)', async () => {
    const printed = await mdw('cron', '--server-tz', 'UTC');
    const e = entry(printed.stdout, '# mdw ingest demo:');
    // The same line with the guard asked about a time the schedule does not name.
    const command = e.command.replace(' --tz America/New_York && ', ' --tz America/New_York --at 2026-03-09T22:30:00Z && ');
    expect(command).not.toBe(e.command);
    const before = readFileSync(path.join(home, 'logs', 'cron.log'), 'utf8');
    const r = await asCron(e.env, command);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', '']);
    expect(readFileSync(path.join(home, 'logs', 'cron.log'), 'utf8')).toBe(before);
  });

  test('the weekly backup and the monthly backup verify lines run as written: a backup beside the warehouse, verified sound', async () => {
    const printed = await mdw('cron', '--server-tz', 'America/New_York');
    const backup = entry(printed.stdout, '# mdw backup:');
    const verify = entry(printed.stdout, '# mdw backup verify:');
    const backups = path.join(root, 'backups');
    expect(backup.command).toContain(`backup --to ${backups} --keep 12 >> `);
    expect(verify.command).toContain(`backup verify ${backups} >> `);
    expect(await asCron(backup.env, backup.command)).toEqual({ code: 0, stdout: '', stderr: '' });
    const made = readdirSync(backups);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^mdw-backup-\d{8}T\d{6}Z$/);
    expect(await asCron(verify.env, verify.command)).toEqual({ code: 0, stdout: '', stderr: '' });
    const log = readFileSync(path.join(home, 'logs', 'cron.log'), 'utf8');
    expect(log).toContain(`verify: ${path.join(backups, made[0]!)} is sound`);
    expect(readdirSync(backups)).toEqual(made);
  });
});
