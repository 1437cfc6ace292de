import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { ConfigError, MdwError } from '../../src/core/errors.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { jobCorpus, type JobCase } from '../support/job-corpus.js';
import { removeDir, runMdw, tempDir } from '../support/helpers.js';
import { fullReliability, fuzzBench, Hang, within, type FuzzBench } from '../support/reliability.js';

/**
 * The corpus of malformed job files (tests/support/job-corpus.ts). A job that validate refuses
 * is refused with file:line:column on one line, and the ingest refuses it with the same words;
 * a job that validate accepts runs: it stores, quarantines, or refuses its input (exit 2), and
 * never fails on something validate could have caught (a ConfigError), crashes or hangs. Every
 * case through the library; a sample through bin/mdw in make test, all of them in make
 * reliability.
 */

const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
/** No case of one three-row file may take anywhere near this, however loaded the machine. */
const hangLimitMs = 180_000;

let root: string;
let configs: string;
let ctx: Context;
let cli: FuzzBench['cli'];
let bench: FuzzBench | undefined;
const outcomes = { refused: 0, stored: 0, inputRefused: 0, crashes: 0, hangs: 0, missedByValidate: 0 };
let throughCli = 0;

// Built before the tests are declared: each case is a test of its own.
const dataDir = path.join(tempDir('mdw-job-fuzz-data-'), 'data');
const corpus: JobCase[] = jobCorpus(dataDir);

beforeAll(async () => {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(
    path.join(dataDir, 'ZZJF.csv'),
    'Date,Open,High,Low,Close,Adj Close,Volume\n2023-01-03,10,11,9,10.5,10.5,1000\n2023-01-04,10.5,12,10,11,11,1200\n2023-01-05,11,11.5,10.5,11.2,11.2,900\n',
  );
  bench = await fuzzBench('mdw-job-fuzz-');
  ({ root, configs, ctx, cli } = bench);
});

afterAll(async () => {
  await bench?.close();
  removeDir(path.dirname(dataDir));
  // The figures for the closing note.
  console.info(
    `job-file fuzz corpus: ${corpus.length} cases: ${outcomes.refused} refused by validate with file:line, ` +
      `${outcomes.stored} ran, ${outcomes.inputRefused} ran and refused their input; ${outcomes.crashes} crashes, ` +
      `${outcomes.hangs} hangs, ${outcomes.missedByValidate} config errors validate missed; ${throughCli} also through bin/mdw`,
  );
});

function stage(c: JobCase): string {
  const dir = path.join(root, 'jobs', String(c.id));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, c.fileName);
  writeFileSync(file, c.bytes);
  return file;
}

/**
 * "<file>:<line>:<column>: <why>" on one line: the job file, or a file it names (a transform
 * that cannot read the job's bars says so at its own line).
 */
function located(message: string, file: string): boolean {
  const at = /^(\/[^:]+):\d+:\d+: \S/.exec(message)?.[1];
  return (at === file || at?.startsWith(path.join(configs, 'transforms') + '/') === true) && !message.includes('\n');
}

const env = () => {
  const e = { ...process.env };
  delete e.MDW_FUZZ_UNSET;
  return e;
};

describe('the job-file fuzz corpus', () => {
  test('holds at least 50 cases, both refused and accepted ones', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    expect(new Set(corpus.map((c) => c.expect))).toEqual(new Set(['refused', 'runs']));
  });

  for (const c of corpus) {
    test(`case ${c.id}: ${c.damage} (${c.expect})`, async () => {
      const file = stage(c);
      let job;
      try {
        job = loadJob(configs, file, env());
      } catch (err) {
        if (!(err instanceof MdwError) || err.exitCode !== 2) {
          outcomes.crashes++;
          throw new Error(`case ${c.id} crashed validate: ${(err as Error).stack}`);
        }
        expect({ located: located(err.message, file), message: err.message.slice(0, 300) }).toEqual({ located: true, message: err.message.slice(0, 300) });
        expect({ outcome: 'refused' }).toEqual({ outcome: c.expect });
        outcomes.refused++;
        return;
      }
      expect({ outcome: 'runs' }).toEqual({ outcome: c.expect });
      try {
        const result = await within(runIngest(ctx, job, all), hangLimitMs, `case ${c.id}`);
        expect(result.counts.out + result.counts.deduped + result.counts.quarantined + result.counts.filtered).toBe(result.counts.recordsIn);
        outcomes.stored++;
      } catch (err) {
        if (err instanceof Hang) {
          outcomes.hangs++;
          throw err;
        }
        // Which files a job's patterns match is judged when it runs: they may land after it is written.
        if (err instanceof ConfigError && !err.pointer?.startsWith('/source/files/')) {
          outcomes.missedByValidate++;
          throw new Error(`case ${c.id}: validate accepted a job the ingest refused as configuration: ${err.message}`);
        }
        if (!(err instanceof MdwError) || err.exitCode !== 2) {
          outcomes.crashes++;
          throw new Error(`case ${c.id} crashed the ingest: ${(err as Error).stack}`);
        }
        expect(err.message).not.toContain('\n');
        outcomes.inputRefused++;
      }
    });
  }
});

describe('the corpus through bin/mdw: validate and ingest agree', () => {
  const sample = corpus.filter((c) => fullReliability || c.id % 7 === 1 || c.fileName !== `case-${c.id}.yml`);
  for (const c of sample) {
    test(`case ${c.id}: ${c.damage}`, async () => {
      const file = stage(c);
      const cliEnv = { MDW_HOME: cli.home, MDW_CONFIG_DIR: configs, MDW_DATABASE_URL: cli.url, MDW_FUZZ_UNSET: undefined };
      if (throughCli++ === 0) expect((await runMdw(['init', '--yes'], { env: cliEnv })).code).toBe(0);
      const validate = await runMdw(['jobs', 'validate', file], { env: cliEnv });
      const ingest = await runMdw(['ingest', file, '--format', 'json'], { env: cliEnv });
      for (const r of [validate, ingest]) expect(r.stderr).not.toMatch(/^\s+at /m);
      if (c.expect === 'refused') {
        const said = validate.stdout.replace(/^invalid {2}/, '').trimEnd();
        expect([validate.code, ingest.code, located(said, file)]).toEqual([2, 2, true]);
        expect(ingest.stderr.trimEnd().split('\n')).toEqual([`mdw: ${said}`]);
      } else {
        expect([validate.code, validate.stdout.startsWith('ok ')]).toEqual([0, true]);
        expect([0, 2]).toContain(ingest.code);
        if (ingest.code === 2) expect(ingest.stderr.split('\n').filter((l) => l.startsWith('mdw: '))).toHaveLength(1);
      }
    });
  }
});
