import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { trackedRun } from '../../src/cli/tracked-run.js';
import type { Context } from '../../src/context.js';
import { PartialError, SourceError } from '../../src/core/errors.js';
import { copyConfigs, freshCatalog, removeDir, runMdw, tempDir, testContext, openWarehouse } from '../support/helpers.js';

/**
 * A run always ends with a status (issue 11, item 11): whatever its work, its error or its data
 * hold (NUL bytes, lone UTF-16 surrogates, which Postgres refuses in text and jsonb), and when
 * the catalog refuses to record the failure event or the error text, the run ends failed (or
 * partial) with its exit code, and the work's own error is the one reported.
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ root, configs, ctx, catalog, close } = await openWarehouse('mdw-run-status-'));
});

afterAll(() => close());

interface RunRow {
  status: string;
  exit_code: number | null;
  error: string | null;
  args: unknown;
  finished: boolean;
}

async function runOf(job: string): Promise<{ run: RunRow; events: { event: string; message: string; data: unknown }[] }> {
  const [run] = await catalog.sql<(RunRow & { id: string })[]>`
    select id, status, exit_code, error, args, finished_at is not null as finished from mdw.ingest_run where job = ${job}`;
  const events = await catalog.sql<{ event: string; message: string; data: unknown }[]>`
    select event, message, data from mdw.ingest_log where run_id = ${run!.id} order by at, event desc`;
  const { id: _id, ...rest } = run!;
  return { run: rest, events: [...events] };
}

const nul = '\u0000';
// A high surrogate with nothing after it, and a low one with nothing before: not UTF-16 text.
const lone = '\ud800 and \udc00';

describe(`a run always ends with a status (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  test('an error message with NUL bytes and lone surrogates: the run ends failed, the message stored with ␀ and U+FFFD', async () => {
    const thrown = new SourceError(`cannot read "PK${nul}${nul}" in x.bin (${lone})`);
    const err = await trackedRun(ctx, catalog, { command: 'ingest', job: 'nul-error', args: { symbols: ['AAPL'] } }, async () => Promise.reject(thrown), () => ({ message: '', data: {} })).catch((e: unknown) => e);
    expect(err).toBe(thrown);
    const stored = 'cannot read "PK␀␀" in x.bin (\ufffd and \ufffd)';
    expect(await runOf('nul-error')).toEqual({
      run: { status: 'failed', exit_code: 1, error: stored, args: { symbols: ['AAPL'] }, finished: true },
      events: [
        { event: 'started', message: 'ingest nul-error', data: { symbols: ['AAPL'] } },
        { event: 'failed', message: stored, data: null },
      ],
    });
  });

  test('NUL and lone surrogates in the args and in the summary data: the run starts and ends ok, keys and values made storable', async () => {
    const args = { symbols: [`A${nul}B`], [`key${nul}`]: `\ud83d${nul}`, nested: { deep: [lone] } };
    const result = await trackedRun(ctx, catalog, { command: 'ingest', job: 'nul-data', args }, async () => 7, (n) => ({
      message: `${n} stored${nul}`,
      data: { files: [`x${nul}.csv`], note: lone },
    }));
    expect(result).toBe(7);
    const storedArgs = { symbols: ['A␀B'], 'key␀': '\ufffd␀', nested: { deep: ['\ufffd and \ufffd'] } };
    expect(await runOf('nul-data')).toEqual({
      run: { status: 'ok', exit_code: 0, error: null, args: storedArgs, finished: true },
      events: [
        { event: 'started', message: 'ingest nul-data', data: storedArgs },
        { event: 'finished', message: '7 stored␀', data: { files: ['x␀.csv'], note: '\ufffd and \ufffd' } },
      ],
    });
  });

  test('the catalog refuses the failure event: the run still ends failed with its error, and the work error is the one thrown', async () => {
    // A real refusal by the database, for this job's failure events only.
    await catalog.sql.unsafe(`
      create function public.refuse_failed_event() returns trigger language plpgsql as $$
      begin
        if new.event = 'failed' and new.message like '%refuse my event%' then raise exception 'injected: failure events are refused'; end if;
        return new;
      end $$;
      create trigger refuse_failed_event before insert on mdw.ingest_log for each row execute function public.refuse_failed_event()`);
    try {
      const thrown = new PartialError(`budget spent${nul}: refuse my event`);
      const err = await trackedRun(ctx, catalog, { command: 'ingest', job: 'event-refused', args: {} }, () => Promise.reject(thrown), () => ({ message: '', data: {} })).catch((e: unknown) => e);
      expect(err).toBe(thrown);
      expect(await runOf('event-refused')).toEqual({
        run: { status: 'partial', exit_code: 3, error: 'budget spent␀: refuse my event', args: {}, finished: true },
        events: [{ event: 'started', message: 'ingest event-refused', data: {} }],
      });
    } finally {
      await catalog.sql.unsafe(`drop trigger refuse_failed_event on mdw.ingest_log; drop function public.refuse_failed_event()`);
    }
  });

  test('the catalog refuses the error text: the run ends failed, with why the text was refused in its place', async () => {
    await catalog.sql.unsafe(`alter table mdw.ingest_run add constraint no_marked_errors check (error is null or error not like '%MARKED%')`);
    try {
      const thrown = new Error('a MARKED message');
      const err = await trackedRun(ctx, catalog, { command: 'ingest', job: 'error-refused', args: {} }, () => Promise.reject(thrown), () => ({ message: '', data: {} })).catch((e: unknown) => e);
      expect(err).toBe(thrown);
      const { run, events } = await runOf('error-refused');
      expect(run).toEqual({
        status: 'failed',
        exit_code: 1,
        error: 'the error could not be stored: new row for relation "ingest_run" violates check constraint "no_marked_errors"',
        args: {},
        finished: true,
      });
      expect(events.map((e) => [e.event, e.message])).toEqual([
        ['started', 'ingest error-refused'],
        ['failed', 'a MARKED message'],
      ]);
    } finally {
      await catalog.sql.unsafe(`alter table mdw.ingest_run drop constraint no_marked_errors`);
    }
  });

  test('the catalog refuses any error text: the run still ends failed, with its exit code and no text', async () => {
    await catalog.sql.unsafe(`alter table mdw.ingest_run add constraint no_error_text check (job <> 'no-text' or error is null)`);
    try {
      const thrown = new SourceError('the vendor said no');
      const err = await trackedRun(ctx, catalog, { command: 'ingest', job: 'no-text', args: {} }, () => Promise.reject(thrown), () => ({ message: '', data: {} })).catch((e: unknown) => e);
      expect(err).toBe(thrown);
      expect((await runOf('no-text')).run).toEqual({ status: 'failed', exit_code: 1, error: null, args: {}, finished: true });
    } finally {
      await catalog.sql.unsafe(`alter table mdw.ingest_run drop constraint no_error_text`);
    }
  });

  test('through bin/mdw: a job whose file pattern holds a NUL exits 2 with one line, and its run ends failed with that message', async () => {
    const target = await freshCatalog();
    const home = path.join(root, 'cli-home');
    try {
      const env = { MDW_HOME: home, MDW_CONFIG_DIR: configs, ...(target.url ? { MDW_DATABASE_URL: target.url } : {}) };
      expect((await runMdw(['init', '--yes'], { env })).code).toBe(0);
      const job = path.join(configs, 'jobs', 'nul-glob.yml');
      writeFileSync(job, 'dataset: ohlcv\ngranularity: 1d\nsource: { name: nulglob, adapter: file, files: ["in\\0put/*.csv"] }\ntransform: yahoo\n');
      const r = await runMdw(['ingest', 'nul-glob'], { env });
      const says = `${job}:3:49: no file matches "in${nul}put/*.csv" (relative to ${path.dirname(job)})`;
      expect([r.code, r.stderr]).toEqual([2, `mdw: ${says}\n`]);
      const cli = testContext({ home, databaseUrl: target.url, configDir: configs });
      try {
        const runs = await (await cli.catalog()).sql<{ status: string; exit_code: number; error: string }[]>`
          select status, exit_code, error from mdw.ingest_run where job = 'nul-glob'`;
        expect(runs.map((x) => [x.status, x.exit_code, x.error])).toEqual([['failed', 2, says.replace(nul, '␀')]]);
      } finally {
        await cli.close();
      }
    } finally {
      await target.drop();
    }
  });
});
