import { statSync } from 'node:fs';
import path from 'node:path';
import type { Job } from '../../config/jobs.js';
import type { ReadOptions } from '../../config/types.js';
import { ConfigError } from '../../core/errors.js';
import { defaultNulls } from '../../core/raw.js';
import { ident, literal, pathList, stringList } from '../../core/sql.js';
import type { AdapterContext, ExtractRequest, RawBatch } from '../adapter.js';
import { readFirstLines, splitCsvLine } from './csv-header.js';
import { layoutByte, profileCsv } from './csv-records.js';

type CsvOptions = ReadOptions & Required<Pick<ReadOptions, 'delimiter' | 'header' | 'skip' | 'quote'>>;
const defaults: CsvOptions = { delimiter: ',', header: true, skip: 0, quote: '"' };

/** Files read by one DuckDB scan: same columns, line ending and quoting. */
interface Scan {
  readonly columns: readonly string[];
  readonly crlf: boolean;
  readonly quoted: boolean;
  readonly files: string[];
}

/**
 * Reads CSV files in the layout a transform describes. The layout is known, so DuckDB is told
 * it (no sniffing): a malformed line becomes a reject with its line number and text instead
 * of failing the whole read. Each file is counted first (csv-records.ts); that count decides
 * whether it is read with quoting, and the ingest checks that every record it counted is
 * accounted for.
 */
export async function readCsv(job: Job, files: readonly string[], options: ReadOptions, request: ExtractRequest, ctx: Pick<AdapterContext, 'logger'>): Promise<RawBatch> {
  const read: CsvOptions = { ...defaults, ...options };
  const nulls = job.transform.value.nulls ?? defaultNulls;
  const records = new Map<string, number>();
  const scans = await planScans(job, files, read, request, ctx, records);
  // Records of one scan are numbered from scan * 2^40, so that scans never overlap.
  const numbering = (i: number) => (request.numbered ? `${i} * 1099511627776 + row_number() OVER () AS _rn, ` : '');
  const selects = scans.map((scan, i) => {
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
      // Unreadable lines are kept, with their line number and text, for the quarantine.
      "store_rejects = true, rejects_table = 'mdw_reject_errors', rejects_scan = 'mdw_reject_scans'",
    ];
    return (
      `SELECT filename AS _file, ${numbering(i)}${scan.columns.map(ident).join(', ')} ` +
      `FROM read_csv(${pathList(scan.files)}, ${settings.join(', ')})`
    );
  });
  // With every file empty there is no header to go by: the columns are those the transform reads.
  const names = scans.length ? [...new Set(scans.flatMap((s) => s.columns))] : Object.keys(request.columns);
  const relation = selects.length
    ? `(${selects.join(' UNION ALL BY NAME ')})`
    : `(SELECT NULL::VARCHAR AS _file, ${request.numbered ? 'NULL::BIGINT AS _rn, ' : ''}${names.map((c) => `NULL::VARCHAR AS ${ident(c)}`).join(', ') || 'NULL AS _none'} WHERE false)`;
  const errors = `mdw_reject_errors e JOIN mdw_reject_scans s USING (scan_id, file_id)`;
  return {
    relation,
    columns: names.map((name) => ({ name, type: 'VARCHAR' as const, nullsMapped: true })),
    numbered: Boolean(request.numbered),
    inputs: files,
    // DuckDB reports each missing column of a short line: the first one says it all.
    rejects: selects.length
      ? `(SELECT s.file_path AS _file, e.line AS _line, any_value(trim(e.csv_line, chr(10) || chr(13))) AS _raw, ` +
        `arg_min(e.error_type || ': ' || e.error_message, e.column_idx) AS _reason FROM ${errors} GROUP BY ALL)`
      : null,
    // DuckDB appends to a named reject table across scans; each batch starts from empty.
    prepare: ['DROP TABLE IF EXISTS mdw_reject_errors', 'DROP TABLE IF EXISTS mdw_reject_scans'],
    records,
  };
}

/**
 * Groups the files into scans by header, line ending and quoting, in the order given, and
 * counts each file's records into `records`. Every file must carry the source columns the
 * transform reads; an empty file is skipped with a warning (it still appears in lineage, with
 * no records).
 */
async function planScans(
  job: Job,
  files: readonly string[],
  read: CsvOptions,
  request: ExtractRequest,
  ctx: Pick<AdapterContext, 'logger'>,
  records: Map<string, number>,
): Promise<Scan[]> {
  if (!read.columns && !read.header) throw job.errorAt('/source', `a CSV without a header needs read.columns to name its columns`);
  if (Number.isNaN(layoutByte(read.delimiter)) || Number.isNaN(layoutByte(read.quote))) {
    throw job.errorAt('/transform', `read.delimiter and read.quote must each be one ASCII character`);
  }
  const scans = new Map<string, Scan>();
  for (const file of files) {
    if (statSync(file).size === 0) {
      ctx.logger.warn(`${file} is empty; nothing to read`);
      records.set(file, 0);
      continue;
    }
    const first = await readFirstLines(file, read.skip + 1);
    const line = first.lines[read.skip] ?? '';
    const columns = read.columns ? [...read.columns] : splitCsvLine(line, read.delimiter, read.quote);
    const missing = Object.keys(request.columns).filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      const hint = missing
        .map((m) => columns.find((c) => c.toLowerCase() === m.toLowerCase()))
        .filter((c): c is string => c !== undefined);
      throw new ConfigError(
        `${path.basename(file)} has no column ${missing.map((m) => `"${m}"`).join(', ')} that transform "${job.spec.transform}" reads ` +
          `(its columns: ${columns.join(', ') || 'none'})` +
          (hint.length ? `; the names differ in case: ${hint.join(', ')}` : '') +
          `. Is it in another layout?`,
        { file },
      );
    }
    // A stray quote would have DuckDB read the lines after it as one field (and, with more
    // files than twice its threads, drop them without a word): the count sees it first.
    const profile = await profileCsv(file, { delimiter: read.delimiter, quote: read.quote, skip: read.skip, header: read.header });
    records.set(file, profile.records);
    const quoted = profile.quoted;
    if (read.quote && !quoted) {
      ctx.logger.warn(`${file}: a stray quote would join the lines after it into one field: reading the file without quoting, so that only its own line is rejected`);
    }
    const key = JSON.stringify([columns, first.crlf, quoted]);
    const scan = scans.get(key) ?? { columns, crlf: first.crlf, quoted, files: [] };
    scan.files.push(file);
    scans.set(key, scan);
  }
  return [...scans.values()];
}
