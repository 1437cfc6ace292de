import type { Job } from '../../config/jobs.js';
import type { ReadOptions } from '../../config/types.js';
import { expandGlob } from '../../core/glob.js';
import { statSync } from 'node:fs';
import type { Adapter, ExtractRequest, InputRef, RawBatch } from '../source.js';
import { readCsv } from './csv-reader.js';
import { readJson } from './json-reader.js';

/**
 * Local files: CSV (optionally gzipped), JSON documents with a record path (vendor pages as
 * they come, such as a raw landing), and NDJSON. The transform's `read:` says which; a job's
 * `source.read` may override it.
 */
export const fileAdapter: Adapter = {
  name: 'file',
  async list(_ctx, request: ExtractRequest): Promise<InputRef[]> {
    return resolveFiles(request.job).map((uri) => {
      const st = statSync(uri, { bigint: true });
      return { uri, bytes: Number(st.size), fingerprint: `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}` };
    });
  },
  async extract(ctx, request: ExtractRequest, inputs: readonly InputRef[]): Promise<RawBatch> {
    const { job } = request;
    const files = inputs.map((i) => i.uri);
    const read: ReadOptions = { ...job.transform.value.read, ...job.spec.source.read };
    return read.format === 'json' || read.format === 'ndjson'
      ? readJson(job, files, read, request, ctx.logger)
      : readCsv(job, files, read, request, ctx);
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
