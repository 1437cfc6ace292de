import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadJob } from '../../src/config/jobs.js';
import { loadCurateJob } from '../../src/config/curate.js';
import { loadCronPlan } from '../../src/config/schedule.js';
import { ConfigError } from '../../src/core/errors.js';
import { CronSyntaxError, isDue, matchesWallClock, parseCron, wallClock } from '../../src/cron/cron-expression.js';
import { blockBegin, blockEnd, outsideBlock, withBlock } from '../../src/cron/crontab.js';
import { cronList, describeSchedule, repeatedHours, serverLines, zoneDistances } from '../../src/cron/server-lines.js';
import { copyConfigs, removeDir, repoRoot, runMdw, tempDir } from '../support/helpers.js';

const ny = 'America/New_York';

function syntaxError(text: string): string {
  try {
    parseCron(text);
  } catch (err) {
    if (err instanceof CronSyntaxError) return err.message;
    throw err;
  }
  throw new Error(`expected "${text}" to be refused`);
}

describe('cron expressions as Debian cron reads them', () => {
  test('fields, ranges, steps, lists and names give the values cron runs at', () => {
    const c = parseCron(' 0,30  9-16/2 1 jan-mar mon-fri ');
    expect(c.text).toBe('0,30 9-16/2 1 jan-mar mon-fri');
    expect([...c.minutes]).toEqual([0, 30]);
    expect([...c.hours]).toEqual([9, 11, 13, 15]);
    expect([...c.days]).toEqual([1]);
    expect([...c.months]).toEqual([1, 2, 3]);
    expect([...c.weekdays].sort()).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron('*/15 * * * 7').minutes]).toEqual([0, 15, 30, 45]);
    // 7 is Sunday, as 0 is.
    expect([...parseCron('0 0 * * 7').weekdays]).toEqual([0]);
    expect([...parseCron('0 0 * * 5-7').weekdays].sort()).toEqual([0, 5, 6]);
  });

  test('a field out of range, a wrong count of fields, a bad step or an @ name is refused saying which and why', () => {
    expect(syntaxError('60 * * * *')).toBe('minute field "60": 60 is outside 0-59');
    expect(syntaxError('0 24 * * *')).toBe('hour field "24": 24 is outside 0-23');
    expect(syntaxError('0 0 0 * *')).toBe('day of month field "0": 0 is outside 1-31');
    expect(syntaxError('0 0 * 13 *')).toBe('month field "13": 13 is outside 1-12');
    expect(syntaxError('0 0 * * 8')).toBe('day of week field "8": 8 is outside 0-7');
    expect(syntaxError('30 17 * *')).toBe('"30 17 * *" has 4 fields; a cron expression has five: minute hour day-of-month month day-of-week (e.g. "30 17 * * 1-5")');
    expect(syntaxError('30 17 * * 1-5 America/New_York')).toMatch(/has 6 fields/);
    expect(syntaxError('*/0 * * * *')).toBe('minute field "*/0": the step "/0" must be a whole number of at least 1');
    expect(syntaxError('5/10 * * * *')).toBe('minute field "5/10": a step applies to * or a range (write 5-59/10)');
    expect(syntaxError('0 17-9 * * *')).toBe('hour field "17-9": the range 17-9 runs backwards');
    expect(syntaxError('0 mon * * *')).toBe('hour field "mon": "mon" is not a number');
    expect(syntaxError('0 0 * * funday')).toBe('day of week field "funday": "funday" is not a number or a name (sun-sat)');
    expect(syntaxError('0 0 1,,2 * *')).toMatch(/^day of month field "1,,2"/);
    expect(syntaxError('@daily')).toMatch(/write the five fields/);
  });

  test("day of month and day of week: either when both are restricted, both when one starts with * (vixie cron's rule)", () => {
    const either = parseCron('0 0 1 * 1');
    const at = (iso: string) => wallClock(new Date(iso), 'UTC');
    expect(matchesWallClock(either, at('2026-03-02T00:00:00Z'))).toBe(true); // a Monday, not the 1st
    expect(matchesWallClock(either, at('2026-04-01T00:00:00Z'))).toBe(true); // the 1st, a Wednesday
    expect(matchesWallClock(either, at('2026-04-02T00:00:00Z'))).toBe(false);
    const both = parseCron('0 0 */2 * 1');
    expect(matchesWallClock(both, at('2026-03-09T00:00:00Z'))).toBe(true); // Monday the 9th (odd)
    expect(matchesWallClock(both, at('2026-03-16T00:00:00Z'))).toBe(false); // Monday the 16th (even)
    expect(matchesWallClock(both, at('2026-03-11T00:00:00Z'))).toBe(false); // the 11th, a Wednesday
  });

  test('due reads the minute in the zone: 17:30 New York is 22:30Z in winter and 21:30Z in summer, across both changes of 2026', () => {
    const c = parseCron('30 17 * * 1-5');
    const due = (iso: string) => isDue(c, ny, new Date(iso));
    // Friday before the spring change (8 March), Monday after it.
    expect([due('2026-03-06T22:30:00Z'), due('2026-03-06T21:30:00Z')]).toEqual([true, false]);
    expect([due('2026-03-09T21:30:00Z'), due('2026-03-09T22:30:00Z')]).toEqual([true, false]);
    // Friday before the autumn change (1 November), Monday after it.
    expect([due('2026-10-30T21:30:00Z'), due('2026-10-30T22:30:00Z')]).toEqual([true, false]);
    expect([due('2026-11-02T22:30:00Z'), due('2026-11-02T21:30:00Z')]).toEqual([true, false]);
    // To the minute, seconds within it included; Saturday is not due.
    expect(due('2026-11-02T22:30:59Z')).toBe(true);
    expect(due('2026-11-02T22:31:00Z')).toBe(false);
    expect(due('2026-11-07T22:30:00Z')).toBe(false);
  });

  test('the hour the change to winter time repeats: a fixed time runs at its first 01:30 only, a * hour by every minute of the clock', () => {
    const once = parseCron('30 1 * * *');
    expect(isDue(once, ny, new Date('2026-11-01T05:30:00Z'))).toBe(true); // 01:30 EDT
    expect(isDue(once, ny, new Date('2026-11-01T06:30:00Z'))).toBe(false); // 01:30 EST, the repeat
    expect(isDue(once, ny, new Date('2026-11-02T06:30:00Z'))).toBe(true); // the next night, EST
    const every = parseCron('30 * * * *');
    expect(isDue(every, ny, new Date('2026-11-01T05:30:00Z'))).toBe(true);
    expect(isDue(every, ny, new Date('2026-11-01T06:30:00Z'))).toBe(true);
    // 02:30 does not happen on 8 March 2026 in New York.
    const skipped = parseCron('30 2 * * *');
    const day = Array.from({ length: 24 * 60 }, (_, i) => new Date(Date.parse('2026-03-08T05:00:00Z') + i * 60_000));
    expect(day.filter((t) => isDue(skipped, ny, t))).toEqual([]);
  });
});

describe('lines in the server zone', () => {
  const from = new Date('2026-01-01T00:00:00Z');

  test('the same zone (or one that never differs) keeps the expression as one unguarded line', () => {
    const c = parseCron('30 17 * * 1-5');
    expect(serverLines(c, ny, ny, from)).toEqual([{ expression: '30 17 * * 1-5', guarded: false }]);
    expect(serverLines(parseCron('30 1 * * *'), 'UTC', 'Etc/UTC', from)).toEqual([{ expression: '30 1 * * *', guarded: false }]);
  });

  test('New York on a UTC server: both hours it can fall on, every day, guarded', () => {
    expect(zoneDistances(ny, 'UTC', from)).toEqual([-300, -240]);
    expect(serverLines(parseCron('30 17 * * 1-5'), ny, 'UTC', from)).toEqual([{ expression: '30 21,22 * * *', guarded: true }]);
    // 22:00 New York is 02:00 or 03:00 UTC the next day: the guard decides the day.
    expect(serverLines(parseCron('0 22 * * 5'), ny, 'UTC', from)).toEqual([{ expression: '0 2,3 * * *', guarded: true }]);
    // Kolkata never changes its clock: one hour, still guarded because the day can differ.
    expect(serverLines(parseCron('0 4 * * *'), 'Asia/Kolkata', 'UTC', from)).toEqual([{ expression: '30 22 * * *', guarded: true }]);
  });

  // Every minute of the weeks the clocks change in New York, Europe and Sydney in 2026: a line
  // fires and its guard lets it through exactly in the minutes the schedule names in its zone.
  const windows = [
    ['2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z'], // US spring (8 March)
    ['2026-03-27T00:00:00Z', '2026-03-30T00:00:00Z'], // EU spring (29 March)
    ['2026-04-03T12:00:00Z', '2026-04-06T00:00:00Z'], // Sydney autumn (5 April)
    ['2026-10-02T12:00:00Z', '2026-10-05T00:00:00Z'], // Sydney spring (4 October)
    ['2026-10-24T00:00:00Z', '2026-10-26T12:00:00Z'], // EU autumn (25 October)
    ['2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'], // US autumn (1 November)
  ] as const;
  // 30 6 UTC is 01:30 New York on the night it repeats 01:00-01:59 (1 November 2026): the second one.
  const expressions = ['30 17 * * 1-5', '30 2 * * *', '0 1 * * 0', '*/20 9-16 * * mon-fri', '15 3 1,15 * 5', '0 0 1 * *', '30 6 * * *'];
  const pairs: [string, string][] = [
    [ny, 'UTC'],
    [ny, 'Europe/Berlin'],
    ['UTC', ny],
    [ny, ny],
    ['Australia/Sydney', ny],
    ['Asia/Kolkata', 'UTC'],
  ];

  test.each(pairs)('schedules in %s on a server in %s run in exactly the minutes they name, on the days the clocks change', (zone, server) => {
    const crons = expressions.map(parseCron);
    const lines = crons.map((c) => serverLines(c, zone, server, from).map((l) => ({ ...l, cron: parseCron(l.expression) })));
    let runs = 0;
    for (const [start, end] of windows) {
      for (let t = Date.parse(start); t < Date.parse(end); t += 60_000) {
        const at = new Date(t);
        const local = wallClock(at, zone);
        const serverClock = wallClock(at, server);
        crons.forEach((c, i) => {
          const named = isDue(c, zone, at);
          if (named !== matchesWallClock(c, local) && c.wildcardTime) throw new Error(`${c.text} at ${at.toISOString()}: only a repeated hour differs`);
          // Cron's own rule in the server's zone (isDue models it): fixed times once in a repeated hour.
          const fires = lines[i]!.some((l) => isDue(l.cron, server, at) && (!l.guarded || named));
          if (fires !== named) throw new Error(`${c.text} in ${zone} on ${server}: at ${at.toISOString()} the crontab ${fires ? 'runs' : 'does not run'} it`);
          if (fires) runs++;
        });
      }
    }
    expect(runs).toBeGreaterThan(100);
  });

  test('a guarded line with an hour the server repeats runs every hour, so the second 01:30 is not lost', () => {
    expect([...repeatedHours(ny, from)]).toEqual([1]);
    expect([...repeatedHours('Europe/Berlin', from)]).toEqual([2]);
    expect([...repeatedHours('UTC', from)]).toEqual([]);
    expect(serverLines(parseCron('30 6 * * *'), 'UTC', ny, from)).toEqual([{ expression: '30 * * * *', guarded: true }]);
    expect(serverLines(parseCron('30 1 * * *'), 'UTC', ny, from)).toEqual([{ expression: '30 20,21 * * *', guarded: true }]);
  });

  test('cron lists and the words of a comment', () => {
    expect(cronList([1, 2, 3, 5, 7, 8], 0, 59)).toBe('1-3,5,7,8');
    expect(cronList([...Array(24).keys()], 0, 23)).toBe('*');
    expect(describeSchedule(parseCron('30 17 * * 1-5'), ny)).toBe('Mon-Fri at 17:30 America/New_York');
    expect(describeSchedule(parseCron('30 1 * * *'), 'UTC')).toBe('every day at 01:30 UTC');
    expect(describeSchedule(parseCron('0 6 * * 6'), ny)).toBe('every Saturday at 06:00 America/New_York');
    expect(describeSchedule(parseCron('0 10 1 * *'), ny)).toBe('on day 1 of every month at 10:00 America/New_York');
    expect(describeSchedule(parseCron('15 3 1,15 * 5'), ny)).toBe('on "15 3 1,15 * 5" in America/New_York');
    expect(describeSchedule(parseCron('* * * * *'), 'UTC')).toBe('every minute (UTC)');
    expect(describeSchedule(parseCron('*/20 9-16 * * 1-5'), ny)).toBe('Mon-Fri at minute 0,20,40 of hour 9-16 (America/New_York)');
    expect(describeSchedule(parseCron('5 * * * *'), 'UTC')).toBe('every day at minute 5 of every hour (UTC)');
  });
});

describe("the mdw block in a user's crontab", () => {
  const block = `${blockBegin}\nPATH=/bin\n0 1 * * * mdw audit\n${blockEnd}\n`;

  test('an empty crontab gets the block; one with other lines gets it after them; the next run replaces it in place', () => {
    expect(withBlock('', block)).toBe(block);
    const mine = 'MAILTO=me@example.com\n0 5 * * * backup-photos\n';
    const once = withBlock(mine, block);
    expect(once).toBe(`${mine}\n${block}`);
    const later = `${once}# after the block\n15 6 * * * other-job\n`;
    const newer = `${blockBegin}\nPATH=/bin\n0 2 * * * mdw audit\n${blockEnd}\n`;
    const replaced = withBlock(later, newer);
    expect(replaced).toBe(`${mine}\n${newer}# after the block\n15 6 * * * other-job\n`);
    expect(outsideBlock(replaced)).toEqual(['MAILTO=me@example.com', '0 5 * * * backup-photos', '', '# after the block', '15 6 * * * other-job', '']);
  });

  test('a begin marker without its end (or an end alone) is refused, not guessed at', () => {
    expect(() => withBlock(`${blockBegin}\n0 1 * * * x\n`, block)).toThrow(`your crontab has "${blockBegin}" without "${blockEnd}" after it`);
    expect(() => withBlock(`0 1 * * * x\n${blockEnd}\n`, block)).toThrow(`your crontab has "${blockEnd}" without "${blockBegin}" before it`);
  });
});

describe('schedules in the configs', () => {
  let root: string;
  let configs: string;
  beforeAll(() => {
    root = tempDir('mdw-cron-');
    configs = copyConfigs(root);
  });
  afterAll(() => removeDir(root));

  const demo = () => readFileSync(path.join(configs, 'jobs', 'demo.yml'), 'utf8').replace(/^schedule:.*\n/m, '');
  const writeJob = (name: string, text: string) => {
    const file = path.join(configs, 'jobs', `${name}.yml`);
    writeFileSync(file, text);
    return file;
  };
  const configError = (fn: () => unknown): ConfigError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  test("a job's schedule is read in its calendar's zone unless it names one; a curate job's in its bars' calendar", () => {
    expect(loadJob(configs, 'demo', {}).schedule).toMatchObject({ zone: ny, cron: { text: '30 17 * * 1-5' } });
    const crypto = writeJob('sched-crypto', readFileSync(path.join(configs, 'jobs', 'polygon-crypto-daily.yml'), 'utf8') + 'schedule: 5 0 * * *\n');
    expect(loadJob(configs, crypto, {}).schedule).toMatchObject({ zone: 'UTC', cron: { text: '5 0 * * *' } });
    const zoned = writeJob('sched-zoned', `${demo()}schedule: { cron: '0 8 * * 1-5', tz: Europe/London }\n`);
    expect(loadJob(configs, zoned, {}).schedule).toMatchObject({ zone: 'Europe/London', cron: { text: '0 8 * * 1-5' } });
    expect(loadJob(configs, 'polygon-splits', {}).schedule?.zone).toBe(ny);
    expect(loadJob(configs, 'alpaca-daily', {}).schedule).toBeNull();
    const curate = writeJob('sched-curate', 'kind: curate\nbars: zipline-csvdir\nactions: [zipline-csvdir-splits]\noutputs: [adjustments]\nschedule: 0 5 * * *\n');
    expect(loadCurateJob(configs, curate, {}).schedule).toMatchObject({ zone: ny, cron: { text: '0 5 * * *' } });
  });

  test('a bad schedule is a config error at its line, naming the field or the zone', () => {
    const bad = writeJob('sched-bad', `${demo()}schedule: 61 17 * * 1-5\n`);
    expect(configError(() => loadJob(configs, bad, {})).message).toBe(`${bad}:10:11: schedule: minute field "61": 61 is outside 0-59`);
    const zone = writeJob('sched-zone', `${demo()}schedule:\n  cron: 30 17 * * 1-5\n  tz: Mars/Olympus\n`);
    expect(configError(() => loadJob(configs, zone, {})).message).toBe(`${zone}:12:7: schedule: unknown time zone "Mars/Olympus" (use an IANA name such as America/New_York or UTC)`);
    const key = writeJob('sched-key', `${demo()}schedule:\n  cron: 30 17 * * 1-5\n  zone: UTC\n`);
    expect(configError(() => loadJob(configs, key, {})).message).toBe(`${key}:12:3: unknown key "zone" in /schedule`);
  });

  test('a curate job with a schedule of its own gets its own line, and the curate entry then names the others', () => {
    const own = tempDir('mdw-cron-plan-');
    try {
      const dir = copyConfigs(own);
      expect(loadCronPlan(dir, '/srv/mdw/warehouse', {}).entries.map((e) => e.args.join(' '))).toContain('curate');
      const gold = path.join(dir, 'jobs', 'gold-equities-daily.yml');
      writeFileSync(gold, `${readFileSync(gold, 'utf8')}schedule: 0 6 * * 1-5\n`);
      const plan = loadCronPlan(dir, '/srv/mdw/warehouse', {});
      const byArgs = new Map(plan.entries.map((e) => [e.args.join(' '), e]));
      expect([...byArgs.keys()].filter((a) => a.startsWith('curate'))).toEqual(['curate gold-equities-daily', 'curate curate-demo-minute curate-zipline']);
      expect(byArgs.get('curate gold-equities-daily')!.schedule).toMatchObject({ zone: ny, cron: { text: '0 6 * * 1-5' } });
      expect(byArgs.get('curate curate-demo-minute curate-zipline')!.what).toBe('mdw curate: the curate jobs without a schedule of their own (curate-demo-minute, curate-zipline)');
      // A relative backup folder is beside the warehouse, not in it.
      expect(byArgs.has('backup --to /srv/mdw/backups --keep 12')).toBe(true);
      expect(byArgs.get('backfill')!.keys).toEqual(['POLYGON_API_KEY', 'ALPACA_KEY_ID', 'ALPACA_SECRET_KEY', 'FINNHUB_API_KEY']);
      expect(plan.lockTimeoutSeconds).toBe(600);
    } finally {
      removeDir(own);
    }
  });

  test('mdw jobs validate refuses a job with a bad schedule (exit 2) and passes the shipped ones', async () => {
    const bad = writeJob('sched-cli', `${demo()}schedule: 30 17 * *\n`);
    const r = await runMdw(['--config-dir', configs, 'jobs', 'validate', 'sched-cli', 'demo']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`invalid  ${bad}:10:11: schedule: "30 17 * *" has 4 fields; a cron expression has five`);
    expect(r.stdout).toMatch(/^ok {7}demo /m);
    const shipped = await runMdw(['jobs', 'validate', 'demo', 'polygon-daily', 'polygon-splits', 'polygon-dividends'], { env: { MDW_CONFIG_DIR: undefined } });
    expect(shipped.code).toBe(0);
  });
});

describe('mdw cron on the command line', () => {
  let root: string;
  let configs: string;
  let shim: string;
  let store: string;
  beforeAll(() => {
    root = tempDir('mdw-cron-cli-');
    configs = copyConfigs(root);
    // A crontab that keeps the user's table in a file: -l and - as the real one does them, also
    // the "no crontab" answer; CRONTAB_SHIM_REFUSE makes it refuse a table as cron does a bad one.
    shim = path.join(root, 'shim');
    mkdirSync(shim);
    store = path.join(root, 'crontab.txt');
    writeFileSync(
      path.join(shim, 'crontab'),
      [
        '#!/bin/sh',
        'case "$1" in',
        '  -l) if [ -f "$CRONTAB_SHIM_FILE" ]; then cat "$CRONTAB_SHIM_FILE"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;',
        '  -) if [ -n "$CRONTAB_SHIM_REFUSE" ]; then cat >/dev/null; echo \'"-":3: bad minute\' >&2; echo "errors in crontab file, can\'t install." >&2; exit 1; fi; cat > "$CRONTAB_SHIM_FILE" ;;',
        '  *) echo "crontab shim: $*" >&2; exit 2 ;;',
        'esac',
        '',
      ].join('\n'),
    );
    chmodSync(path.join(shim, 'crontab'), 0o755);
  });
  afterAll(() => removeDir(root));

  const home = () => path.join(root, 'home');
  const cron = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runMdw(['--home', home(), '--config-dir', configs, 'cron', ...args], { env: { PATH: `${shim}:${process.env.PATH}`, CRONTAB_SHIM_FILE: store, ...env } });

  test('crontab.example is what mdw cron prints for the shipped configs (it cannot go stale)', async () => {
    const r = await runMdw(['cron', '--home', '/srv/mdw/warehouse', '--bin', '/srv/mdw/bin/mdw', '--server-tz', 'UTC'], { env: { MDW_CONFIG_DIR: undefined, MDW_HOME: undefined } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(path.join(repoRoot, 'crontab.example'), 'utf8'));
  });

  test('crontab.example has the lines an operator needs, each a valid cron line with an absolute mdw and its log', () => {
    const text = readFileSync(path.join(repoRoot, 'crontab.example'), 'utf8');
    const env = text.split('\n').filter((l) => /^[A-Z_]+=/.test(l));
    expect(env).toEqual(['SHELL=/bin/sh', 'PATH=/srv/mdw/.tools/node/bin:/usr/local/bin:/usr/bin:/bin', 'MDW_HOME=/srv/mdw/warehouse', 'MDW_CONFIG_DIR=/srv/mdw/configs']);
    const lines = text.split('\n').filter((l) => /^[\d*]/.test(l));
    const commands = lines.map((l) => {
      const fields = l.split(' ').slice(0, 5).join(' ');
      expect(() => parseCron(fields)).not.toThrow();
      const command = l.split(' ').slice(5).join(' ');
      expect(command).toMatch(/ >> \/srv\/mdw\/warehouse\/logs\/cron\.log 2>&1$/);
      expect(command).toContain('/srv/mdw/bin/mdw --lock-timeout 600 ');
      expect(command).not.toContain('%');
      return command.replace(/^.*--lock-timeout 600 /, '').replace(/ >>.*$/, '');
    });
    expect(commands).toEqual([
      'ingest demo',
      'ingest polygon-daily',
      'ingest polygon-dividends',
      'ingest polygon-splits',
      'backfill',
      'curate',
      'audit --fail-on red,integrity',
      'retention',
      'backup --to /srv/mdw/backups --keep 12',
      'backup verify /srv/mdw/backups',
    ]);
    // The New York schedules on a UTC server are guarded; the UTC backfill is not.
    expect(lines[0]).toBe("30 21,22 * * * /srv/mdw/bin/mdw cron due '30 17 * * 1-5' --tz America/New_York && /srv/mdw/bin/mdw --lock-timeout 600 ingest demo >> /srv/mdw/warehouse/logs/cron.log 2>&1");
    expect(lines[4]).toBe('30 1 * * * /srv/mdw/bin/mdw --lock-timeout 600 backfill >> /srv/mdw/warehouse/logs/cron.log 2>&1');
    expect(text).toContain('# mdw ingest demo: ohlcv 1d from files; Mon-Fri at 17:30 America/New_York.');
    expect(text).toContain('#   POLYGON_API_KEY=...   (ingest polygon-daily, ingest polygon-dividends, ingest polygon-splits, backfill)');
    expect(text).toContain("# Exit 3 only means today's budgets are spent");
    expect(text).toContain('# Exit codes: 0 ok, 1 failed, 2 bad usage or config, 3 partial, 4 another run holds the lock.');
    expect(text.startsWith(`${blockBegin}\n`) && text.endsWith(`${blockEnd}\n`)).toBe(true);
  });

  test('on a server in New York the New York lines are plain and the UTC backfill is guarded', async () => {
    const r = await cron(['--server-tz', ny]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^[\d*]/.test(l));
    expect(lines[0]).toMatch(/^30 17 \* \* 1-5 \S+\/bin\/mdw --lock-timeout 600 ingest demo >> /);
    expect(lines[4]).toMatch(/^30 20,21 \* \* \* \S+\/bin\/mdw cron due '30 1 \* \* \*' --tz UTC && /);
    expect(r.stdout).toContain(`MDW_HOME=${home()}\n`);
    expect(r.stdout).toContain(`MDW_CONFIG_DIR=${configs}\n`);
    // The node this runs on leads PATH (bin/mdw starts with `env node`), by make's .tools/node link when that is it.
    const first = /^PATH=([^:\n]+):/m.exec(r.stdout)![1]!;
    expect(realpathSync(path.join(first, 'node'))).toBe(realpathSync(process.execPath));
    expect(first).toBe(path.join(repoRoot, '.tools', 'node', 'bin'));
  });

  test('MDW_DATABASE_URL goes into the block without a password, and only as a note with one (mdw prints no secret)', async () => {
    const plain = await cron(['--server-tz', 'UTC'], { MDW_DATABASE_URL: 'postgres://mdw@127.0.0.1:5432/mdw' });
    expect(plain.stdout).toContain('\nMDW_DATABASE_URL=postgres://mdw@127.0.0.1:5432/mdw\n');
    const secret = await cron(['--server-tz', 'UTC'], { MDW_DATABASE_URL: 'postgres://mdw:s3cr3t-pw@127.0.0.1:5432/mdw' });
    expect(secret.code).toBe(0);
    expect(secret.stdout).not.toContain('s3cr3t-pw');
    expect(secret.stderr).not.toContain('s3cr3t-pw');
    expect(secret.stdout).toContain('# MDW_DATABASE_URL holds a password: set it above this block, with the vendor keys (mdw prints no secret).\n');
    expect(secret.stdout).not.toMatch(/^MDW_DATABASE_URL=/m);
  });

  test('--install puts the block into an empty crontab ("no crontab for" the user), then replaces it and keeps every other line', async () => {
    const first = await cron(['--install', '--server-tz', 'UTC']);
    expect(first.stdout).toBe('');
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/installed 10 cron lines \(10 schedules\) in the crontab of \S+, after its other lines/);
    expect(first.stderr).toContain('POLYGON_API_KEY is not set in your crontab: add POLYGON_API_KEY=... above the mdw block');
    expect(first.stderr).toContain(`there is no warehouse at ${home()} yet: create it with \`mdw init\``);
    const printed = await cron(['--server-tz', 'UTC']);
    expect(readFileSync(store, 'utf8')).toBe(printed.stdout);

    const mine = 'MAILTO=ops@example.com\nPOLYGON_API_KEY=pk\n0 5 * * * /usr/local/bin/backup-photos\n';
    writeFileSync(store, `${mine}\n${readFileSync(store, 'utf8')}# mine, after\n15 6 * * * /usr/bin/true\n`);
    const demo = path.join(configs, 'jobs', 'demo.yml');
    writeFileSync(demo, readFileSync(demo, 'utf8').replace('schedule: 30 17 * * 1-5', 'schedule: 40 18 * * 1-5'));
    const second = await cron(['--install', '--server-tz', 'UTC']);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('in place of the last mdw block');
    expect(second.stderr).not.toContain('POLYGON_API_KEY is not set');
    expect(second.stderr).toContain('ALPACA_KEY_ID is not set');
    const now = readFileSync(store, 'utf8');
    const block = (await cron(['--server-tz', 'UTC'])).stdout;
    expect(block).toContain("40 22,23 * * * ");
    expect(now).toBe(`${mine}\n${block}# mine, after\n15 6 * * * /usr/bin/true\n`);
    expect(now.split(blockBegin).length).toBe(2);
    expect(second.stderr).not.toContain('the times are wrong here');
    const elsewhere = await cron(['--install', '--server-tz', 'Pacific/Auckland']);
    expect(elsewhere.stderr).toMatch(/the lines are for a cron in Pacific\/Auckland \(--server-tz\), and this system's runs in \S+: the times are wrong here/);
  });

  test('a crontab that refuses the table, or no crontab command, fails with exit 1 and changes nothing', async () => {
    const before = readFileSync(store, 'utf8');
    const refused = await cron(['--install'], { CRONTAB_SHIM_REFUSE: '1' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("mdw: crontab refused the new crontab (exit 1): \"-\":3: bad minute\nerrors in crontab file, can't install.; nothing was changed");
    expect(readFileSync(store, 'utf8')).toBe(before);
    const none = await cron(['--install'], { PATH: path.join(root, 'no-such-dir') });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('mdw: there is no crontab command on this machine: install cron (Debian: apt-get install cron)');
  });

  test('configs/schedule.yml is checked: a bad entry exits 2 at its line', async () => {
    const file = path.join(configs, 'schedule.yml');
    const good = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, good.replace('  cron: 0 7 * * 6', '  cron: 0 7 * * sat-mon'));
      const r = await cron([]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^mdw: ${file}:\\d+:9: schedule: day of week field "sat-mon": the range sat-mon runs backwards`, 'm'));
      writeFileSync(file, good.replace(/^backup:[\s\S]*?keep: 12\n/m, ''));
      const orphan = await cron([]);
      expect(orphan.code).toBe(2);
      expect(orphan.stderr).toMatch(/schedule\.yml:\d+:1: backup_verify restores the backups of the backup entry: add a backup entry \(with to:\)/);
    } finally {
      writeFileSync(file, good);
    }
  });

  test('mdw cron due: 0 in a minute the expression names in the zone, 1 otherwise, 2 for a bad expression, zone or time', async () => {
    const due = (args: string[]) => runMdw(['cron', 'due', ...args]);
    expect((await due(['30 17 * * 1-5', '--tz', ny, '--at', '2026-03-09T21:30:00Z'])).code).toBe(0);
    expect((await due(['30 17 * * 1-5', '--tz', ny, '--at', '2026-03-09T22:30:00Z'])).code).toBe(1);
    expect((await due(['30 17 * * 1-5', '--tz', ny, '--at', '2026-03-06T17:30:00-05:00'])).code).toBe(0);
    const bad = await due(['30 17 * *', '--tz', ny]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('mdw: "30 17 * *" has 4 fields');
    const zone = await due(['30 17 * * *', '--tz', 'Nowhere/City']);
    expect([zone.code, zone.stderr]).toEqual([2, 'mdw: --tz Nowhere/City: unknown time zone (use an IANA name such as America/New_York or UTC)\n']);
    const at = await due(['30 17 * * *', '--at', '2026-03-09 21:30']);
    expect(at.code).toBe(2);
    expect(at.stderr).toContain('is not a time with its offset');
    expect(existsSync(path.join(root, 'home'))).toBe(false);
  });
});
