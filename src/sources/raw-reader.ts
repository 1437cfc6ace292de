import type { ReadOptions } from '../config/types.js';
import { ident, literal } from '../core/sql.js';
import type { RawReader } from './fetcher.js';
import { readCsv } from './file/csv-reader.js';
import { readArrays, readJson, readTuples } from './file/json-reader.js';
import type { AdapterContext, ExtractRequest, InputRef, RawBatch } from './source.js';

/**
 * The reader the pipeline hands a fetcher: JSON records at a path, or columnar arrays, read
 * by the same code that reads files. Fields a page's request named (`InputRef.fields`) are
 * added to every record of that page; the page is not asked for them.
 */
export function rawReader(ctx: Pick<AdapterContext, 'logger' | 'tmpDir'>, request: ExtractRequest): RawReader {
  const options = (defaults: ReadOptions): ReadOptions => ({ ...defaults, ...request.job.transform.value.read, ...request.job.spec.source.read });
  return {
    json: (pages, defaults: ReadOptions) => {
      const read = options(defaults);
      return withFields(request, pages, (r) => readJson(r.job, pages.map((p) => p.uri), read, r, ctx.logger));
    },
    csv: (pages, defaults) => withFields(request, pages, (r) => readCsv(r.job, pages.map((p) => p.uri), options(defaults), r, ctx)),
    arrays: (pages) => withFields(request, pages, (r) => Promise.resolve(readArrays(pages.map((p) => p.uri), r, ctx.logger))),
    tuples: (pages, lists) => withFields(request, pages, (r) => Promise.resolve(readTuples(pages.map((p) => p.uri), lists, r, ctx.logger))),
  };
}

async function withFields(request: ExtractRequest, pages: readonly InputRef[], read: (request: ExtractRequest) => Promise<RawBatch>): Promise<RawBatch> {
  const named = new Set(pages.flatMap((p) => Object.keys(p.fields ?? {})).filter((f) => f in request.columns));
  if (named.size === 0) return read(request);
  const fields = [...named];
  const rest = Object.fromEntries(Object.entries(request.columns).filter(([name]) => !named.has(name)));
  const batch = await read({ ...request, columns: rest, numbered: true });
  const columns = [...batch.columns, ...fields.map((name) => ({ name, type: request.columns[name]! }))];
  const values = pages.map((p) => `(${[literal(p.uri), ...fields.map((f) => literal(p.fields?.[f] ?? null))].join(', ')})`);
  const relation =
    `(SELECT b.*, ${fields.map((f, i) => `f.${ident(`_f${i}`)}::${request.columns[f]} AS ${ident(f)}`).join(', ')} FROM ${batch.relation} b ` +
    `LEFT JOIN (VALUES ${values.join(', ')}) f(_file, ${fields.map((_, i) => ident(`_f${i}`)).join(', ')}) ON f._file = b._file)`;
  return { ...batch, relation, columns, numbered: true };
}
