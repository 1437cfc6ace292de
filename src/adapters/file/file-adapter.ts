import path from 'node:path';
import type { Job } from '../../config/jobs.js';
import type { ReadOptions } from '../../config/types.js';
import { ConfigError } from '../../core/errors.js';
import { expandGlob } from '../../core/glob.js';
import { literal, stringList } from '../../core/sql.js';
import { referencedColumns } from '../../transform/compile-transform.js';
import type { Adapter, ExtractRequest, RawBatch } from '../adapter.js';
import { readFirstLines, splitCsvLine } from './csv-header.js';

const defaults: Required<Omit<ReadOptions, 'columns'>> = { format: 'csv', delimiter: ',', header: true, skip: 0, quote: '"' };

/** Reads local files (CSV, optionally gzipped) in the layout a transform describes. */
export const fileAdapter: Adapter = {
  name: 'file',
  async extract(_ctx, request: ExtractRequest): Promise<RawBatch> {
    const { job } = request;
    const files = resolveFiles(job);
    const read = { ...defaults, ...job.transform.value.read, ...job.spec.source.read };
    const layouts = await checkLayout(job, files, read);
    const options = [
      'all_varchar = true',
      `header = ${read.header ? 'true' : 'false'}`,
      `delim = ${literal(read.delimiter)}`,
      `quote = ${literal(read.quote)}`,
      `escape = ${literal(read.quote)}`,
      `skip = ${read.skip}`,
      'filename = true',
      // Unreadable lines are kept, with their line number and text, for the quarantine.
      "store_rejects = true, rejects_table = 'mdw_reject_errors', rejects_scan = 'mdw_reject_scans'",
      ...(read.columns ? [`names = ${stringList(read.columns)}`] : []),
    ].join(', ');
    // Files that share a header are read by one scan (in order); scans of different headers are
    // combined by column name. _rn orders records within a scan and keeps scans apart.
    const scans = layouts.map(
      (group, i) =>
        `SELECT filename AS _file, ${i} * ${scanStride} + row_number() OVER () AS _rn, * EXCLUDE (filename) ` +
        `FROM read_csv(${stringList(group.files)}, ${options})`,
    );
    const relation = `(${scans.join(' UNION ALL BY NAME ')})`;
    const rejects =
      `(SELECT s.file_path AS _file, e.line AS _line, any_value(trim(e.csv_line, chr(10) || chr(13))) AS _raw, ` +
      `string_agg(DISTINCT e.error_type || ': ' || e.error_message, '; ') AS _reason ` +
      `FROM mdw_reject_errors e JOIN mdw_reject_scans s USING (scan_id, file_id) GROUP BY ALL)`;
    const columns = [...new Set(layouts.flatMap((g) => g.columns))];
    // DuckDB appends to a named reject table across scans; each batch starts from empty.
    const prepare = ['DROP TABLE IF EXISTS mdw_reject_errors', 'DROP TABLE IF EXISTS mdw_reject_scans'];
    return { relation, columns, inputs: files, rejects, prepare };
  },
};

function resolveFiles(job: Job): string[] {
  const patterns = job.spec.source.files ?? [];
  const files = new Set<string>();
  patterns.forEach((pattern, i) => {
    const matched = expandGlob(pattern, job.dir);
    if (matched.length === 0) {
      throw job.errorAt(`/source/files/${i}`, `no file matches "${pattern}" (relative to ${job.dir})`);
    }
    for (const f of matched) files.add(f);
  });
  return [...files];
}

/** Records of one scan are numbered from scan * scanStride. */
const scanStride = 2 ** 40;

interface Layout {
  readonly columns: readonly string[];
  readonly files: string[];
}

/**
 * Every file must carry the source columns the transform reads; say which file lacks which.
 * Returns the files grouped by their header, in the order the files were given.
 */
async function checkLayout(job: Job, files: readonly string[], read: typeof defaults & ReadOptions): Promise<Layout[]> {
  const needed = referencedColumns(job.transform.value);
  const layouts = new Map<string, Layout>();
  for (const file of files) {
    if (!read.columns && !read.header) throw job.errorAt('/source', `a CSV without a header needs read.columns to name its columns`);
    const first = await readFirstLines(file, read.skip + 1);
    const line = first.lines[read.skip];
    const columns = read.columns ? [...read.columns] : line ? splitCsvLine(line, read.delimiter, read.quote) : [];
    // One DuckDB scan sniffs its first file, so files that differ in header or line ending
    // are read by separate scans.
    const signature = JSON.stringify([columns, first.crlf]);
    const layout = layouts.get(signature) ?? { columns, files: [] };
    layout.files.push(file);
    layouts.set(signature, layout);
    const missing = needed.filter((c) => !columns.includes(c));
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
  }
  return [...layouts.values()];
}
