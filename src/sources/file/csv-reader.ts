import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Job } from '../../config/jobs.js';
import type { ReadOptions } from '../../config/types.js';
import { InputError } from '../../core/errors.js';
import { processAlive } from '../../core/process-alive.js';
import { defaultNulls } from '../../core/raw.js';
import { ident, literal, pathList, pathLiteral, stringList } from '../../core/sql.js';
import type { AdapterContext, ExtractRequest, RawBatch } from '../source.js';
import { notText, readFirstLines, splitCsvLine } from './csv-header.js';
import { layoutByte, maxExtraFields, maxRecordBytes, profileCsv, repairCsv, type CsvLayout, type Damage } from './csv-records.js';

type CsvOptions = ReadOptions & Required<Pick<ReadOptions, 'delimiter' | 'header' | 'skip' | 'quote'>>;
const defaults: CsvOptions = { delimiter: ',', header: true, skip: 0, quote: '"' };

/** Files read by one DuckDB scan: same columns, line ending and quoting. */
interface Scan {
  readonly columns: readonly string[];
  readonly crlf: boolean;
  readonly quoted: boolean;
  /** The files DuckDB opens: the inputs, or repaired copies of them. */
  readonly files: string[];
}

/** How a chunk's files are read. */
interface Plan {
  readonly scans: Scan[];
  /** Each input's records, counted from its bytes. */
  readonly records: Map<string, number>;
  /** Repaired copy -> the input it copies. */
  readonly copies: Map<string, string>;
  /** Records the repair quarantined (NDJSON of _file, _line, _raw, _reason), or null. */
  readonly ownRejects: string | null;
  readonly scratch: string | null;
}

/**
 * Reads CSV files in the layout a transform describes. The layout is known, so DuckDB is told
 * it (no sniffing): a malformed line becomes a reject with its line number and text instead
 * of failing the whole read. Each file is counted first (csv-records.ts); that count decides
 * whether it is read with quoting and whether DuckDB can read it as it is, and the ingest
 * checks that every record it counted is accounted for.
 */
export async function readCsv(job: Job, files: readonly string[], options: ReadOptions, request: ExtractRequest, ctx: Pick<AdapterContext, 'logger' | 'tmpDir'>): Promise<RawBatch> {
  const read: CsvOptions = { ...defaults, ...options };
  const nulls = job.transform.value.nulls ?? defaultNulls;
  const plan = await planScans(job, files, read, request, ctx);
  // Rows and rejects name the input a repaired copy stands for.
  const inputOf = (expr: string) =>
    plan.copies.size === 0 ? expr : `CASE ${expr} ${[...plan.copies].map(([copy, file]) => `WHEN ${literal(copy)} THEN ${literal(file)}`).join(' ')} ELSE ${expr} END`;
  // Records of one scan are numbered from scan * 2^40, so that scans never overlap.
  const numbering = (i: number) => (request.numbered ? `${i} * 1099511627776 + row_number() OVER () AS _rn, ` : '');
  const selects = plan.scans.map((scan, i) => {
    const quote = scan.quoted ? read.quote : '';
    const settings = [
      'auto_detect = false',
      `header = ${read.header ? 'true' : 'false'}`,
      `skip = ${read.skip}`,
      `delim = ${literal(read.delimiter)}`,
      `quote = ${literal(quote)}`,
      `escape = ${literal(quote)}`,
      `new_line = ${literal(scan.crlf ? '\\r\\n' : '\\n')}`,
      // Every value is read as text, so that a rejected record can be shown as the file has it;
      // the null markers become NULL right here.
      `columns = {${scan.columns.map((c) => `${literal(c)}: 'VARCHAR'`).join(', ')}}`,
      `nullstr = ${stringList(nulls)}`,
      'filename = true',
      // A folder named like key=value (a raw landing's date=...) is no column of the records.
      'hive_partitioning = false',
      // Unreadable lines are kept, with their line number and text, for the quarantine.
      "store_rejects = true, rejects_table = 'mdw_reject_errors', rejects_scan = 'mdw_reject_scans'",
    ];
    return (
      `SELECT ${inputOf('filename')} AS _file, ${numbering(i)}${scan.columns.map(ident).join(', ')} ` +
      `FROM read_csv(${pathList(scan.files)}, ${settings.join(', ')})`
    );
  });
  // With every file empty there is no header to go by: the columns are those the transform reads.
  const names = plan.scans.length ? [...new Set(plan.scans.flatMap((s) => s.columns))] : Object.keys(request.columns);
  const relation = selects.length
    ? `(${selects.join(' UNION ALL BY NAME ')})`
    : `(SELECT NULL::VARCHAR AS _file, ${request.numbered ? 'NULL::BIGINT AS _rn, ' : ''}${names.map((c) => `NULL::VARCHAR AS ${ident(c)}`).join(', ') || 'NULL AS _none'} WHERE false)`;
  const errors = `mdw_reject_errors e JOIN mdw_reject_scans s USING (scan_id, file_id)`;
  const own = plan.ownRejects
    ? ` UNION ALL SELECT _file, _line, _raw, _reason FROM read_json(${pathLiteral(plan.ownRejects)}, format = 'newline_delimited', ` +
      `columns = {_file: 'VARCHAR', _line: 'BIGINT', _raw: 'VARCHAR', _reason: 'VARCHAR'})`
    : '';
  return {
    relation,
    columns: names.map((name) => ({ name, type: 'VARCHAR' as const, nullsMapped: true })),
    numbered: Boolean(request.numbered),
    inputs: files,
    // DuckDB reports each missing column of a short line: the first one says it all.
    rejects: selects.length
      ? `(SELECT ${inputOf('s.file_path')} AS _file, e.line AS _line, any_value(trim(e.csv_line, chr(10) || chr(13))) AS _raw, ` +
        `arg_min(e.error_type || ': ' || e.error_message, e.column_idx) AS _reason FROM ${errors} GROUP BY ALL${own})`
      : null,
    // DuckDB appends to a named reject table across scans; each batch starts from empty.
    prepare: ['DROP TABLE IF EXISTS mdw_reject_errors', 'DROP TABLE IF EXISTS mdw_reject_scans'],
    records: plan.records,
    scratch: plan.scratch ? [plan.scratch] : [],
  };
}

/**
 * Groups the files into scans by header, line ending and quoting, in the order given, and
 * counts each file's records. Every file must be text carrying the source columns the
 * transform reads, each named once; an empty file is skipped with a warning (it still
 * appears in lineage, with no records). A file DuckDB cannot read as it is (a CR inside a
 * line, mixed line ends, a line too long or too wide) is read as a repaired copy.
 */
async function planScans(job: Job, files: readonly string[], read: CsvOptions, request: ExtractRequest, ctx: Pick<AdapterContext, 'logger' | 'tmpDir'>): Promise<Plan> {
  if (!read.columns && !read.header) throw job.errorAt('/source', `a CSV without a header needs read.columns to name its columns`);
  if (Number.isNaN(layoutByte(read.delimiter)) || Number.isNaN(layoutByte(read.quote))) {
    throw job.errorAt('/transform', `read.delimiter and read.quote must each be one ASCII character`);
  }
  const scans = new Map<string, Scan>();
  const records = new Map<string, number>();
  const copies = new Map<string, string>();
  const rejects: string[] = [];
  let scratch: string | null = null;
  try {
    for (const file of files) {
      if (statSync(file).size === 0) {
        ctx.logger.warn(`${file} is empty; nothing to read`);
        records.set(file, 0);
        continue;
      }
      const columns = await headerOf(job, file, read, request);
      const layout: CsvLayout = { delimiter: read.delimiter, quote: read.quote, skip: read.skip, header: read.header, columns: columns.length };
      // A stray quote would have DuckDB read the lines after it as one field (and, with more
      // files than twice its threads, drop them without a word): the count sees it first.
      const profile = await unpacked(file, () => profileCsv(file, layout));
      if (read.quote && !profile.quoted) {
        ctx.logger.warn(`${file}: a stray quote would join the lines after it into one field: reading the file without quoting, so that only its own line is rejected`);
      }
      let target = file;
      records.set(file, profile.records);
      if (profile.damage.length > 0) {
        scratch ??= scratchDir(ctx.tmpDir);
        target = path.join(scratch, `${copies.size}.csv`);
        const repaired = await unpacked(file, () => repairCsv(file, layout, profile.quoted, target));
        copies.set(target, file);
        records.set(file, repaired.records);
        for (const r of repaired.rejects) rejects.push(JSON.stringify({ _file: file, _line: r.line, _raw: r.raw, _reason: r.reason }));
        const left = repaired.rejects.length;
        ctx.logger.warn(
          `${file}: ${profile.damage.map((d) => damageText[d]).join('; ')}: reading a repaired copy` +
            (left > 0 ? `, without the ${left === 1 ? 'line' : `${left} lines`} DuckDB cannot read (quarantined)` : ' with LF line ends'),
        );
      }
      const crlf = target === file && profile.crlf;
      const key = JSON.stringify([columns, crlf, profile.quoted]);
      const scan = scans.get(key) ?? { columns, crlf, quoted: profile.quoted, files: [] };
      scan.files.push(target);
      scans.set(key, scan);
    }
    let ownRejects: string | null = null;
    if (rejects.length > 0) {
      ownRejects = path.join(scratch!, 'rejects.ndjson');
      writeFileSync(ownRejects, `${rejects.join('\n')}\n`);
    }
    return { scans: [...scans.values()], records, copies, ownRejects, scratch };
  } catch (err) {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The columns of a file: its header's (or the layout's), once it is clear that the file is
 * text, names each column once, and has those the transform reads.
 */
async function headerOf(job: Job, file: string, read: CsvOptions, request: ExtractRequest): Promise<string[]> {
  const name = path.basename(file);
  const first = await unpacked(file, () => readFirstLines(file, read.skip + 1));
  const line = first.lines[read.skip] ?? '';
  const what = notText(first.head, line, first.cut);
  if (what) throw new InputError(file, `${name} is not CSV text: ${what}`);
  const columns = read.columns ? [...read.columns] : splitCsvLine(line, read.delimiter, read.quote);
  // DuckDB tells columns apart regardless of case.
  const seen = new Map<string, number>();
  columns.forEach((c, i) => {
    const prior = seen.get(c.toLowerCase());
    if (prior !== undefined) {
      throw new InputError(file, `${name} names the column "${c}" twice in its header (columns ${prior + 1} and ${i + 1}): rename one`);
    }
    seen.set(c.toLowerCase(), i);
  });
  const missing = Object.keys(request.columns).filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    const hint = missing.map((m) => columns.find((c) => c.toLowerCase() === m.toLowerCase())).filter((c): c is string => c !== undefined);
    const shown = columns.length > 20 ? [...columns.slice(0, 20), `and ${columns.length - 20} more`] : columns;
    throw new InputError(
      file,
      `${name} has no column ${missing.map((m) => `"${m}"`).join(', ')} that transform "${job.spec.transform}" reads ` +
        `(its columns: ${shown.map((c) => (c.length > 40 ? `${c.slice(0, 40)}…` : c).replace(/[\u0000-\u001f\u007f]/g, '\ufffd')).join(', ') || 'none'})` +
        (hint.length ? `; the names differ in case: ${hint.join(', ')}` : '') +
        `. Is it in another layout?`,
    );
  }
  return columns;
}

const damageText: Record<Damage, string> = {
  stray_cr: 'a carriage return (CR) inside a line',
  mixed_line_ends: 'lines ending in CRLF and in LF alike',
  long_record: `a line over ${maxRecordBytes} bytes`,
  many_fields: `a line of more than ${maxExtraFields} fields beyond the header's`,
};

/** Runs a read of a file, turning a broken gzip stream into an error that names the file. */
async function unpacked<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
      const name = path.basename(file);
      throw new InputError(file, code === 'Z_BUF_ERROR' ? `${name} is cut short: its gzip data end before the stream does (an interrupted download?)` : `${name} is named .gz but is not gzip data (${(err as Error).message})`);
    }
    throw err;
  }
}

/**
 * A folder for this batch's repaired copies under MDW_HOME/tmp, named by this process; the
 * folders of processes that are gone (killed mid-read) are removed first.
 */
function scratchDir(tmpDir: string): string {
  mkdirSync(tmpDir, { recursive: true });
  for (const name of readdirSync(tmpDir)) {
    const pid = /^csv-(\d+)-/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) rmSync(path.join(tmpDir, name), { recursive: true, force: true });
  }
  return mkdtempSync(path.join(tmpDir, `csv-${process.pid}-`));
}
