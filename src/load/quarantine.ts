import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatasetDef } from '../core/datasets.js';
import { ident, literal } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { encodeSegment } from '../lake/layout.js';
import { stagedTable } from './lake-writer.js';

export interface QuarantineTarget {
  readonly root: string;
  readonly batchId: string;
  readonly job: string;
  readonly dataset: DatasetDef;
  readonly source: string;
  readonly day: string;
}

/** quarantine/<dataset>/source=<source>/<day>-<batch>.ndjson */
export function quarantinePath(t: QuarantineTarget): string {
  return path.join(t.root, t.dataset.name, `source=${encodeSegment(t.source)}`, `${t.day}-${t.batchId}.ndjson`);
}

/**
 * Writes every rejected record of the staged batch, and every line the reader could not parse,
 * to one NDJSON file: batch, job, input file, record number (or line for unparseable lines),
 * the rules broken, why, and the record as it came in. Returns the file, or null when nothing
 * was rejected.
 */
export async function writeQuarantine(duck: DuckSession, t: QuarantineTarget, rejects: string | null): Promise<{ file: string; rows: number } | null> {
  const canonical = t.dataset.columns.map((c) => `${ident(c.name)} := ${ident(c.name)}`).join(', ');
  const head = `${literal(t.batchId)} AS batch_id, ${literal(t.job)} AS job, ${literal(t.dataset.name)} AS dataset, ${literal(t.source)} AS source`;
  const parts = [
    `SELECT ${head}, s._file AS file, s._rn - st.r0 + 1 AS record, CAST(NULL AS BIGINT) AS line, s._rules AS rules, s._detail AS reason, ` +
      `coalesce(s._raw_json, to_json(struct_pack(${canonical}))) AS raw ` +
      `FROM ${stagedTable} s JOIN (SELECT _file, min(_rn) AS r0 FROM ${stagedTable} GROUP BY _file) st USING (_file) ` +
      `WHERE s._state IN ('bad', 'conflict')`,
  ];
  if (rejects) {
    parts.push(
      `SELECT ${head}, r._file AS file, CAST(NULL AS BIGINT) AS record, r._line AS line, ['parse'] AS rules, r._reason AS reason, to_json(r._raw) AS raw FROM ${rejects} r`,
    );
  }
  const body = parts.join(' UNION ALL ');
  const [{ n }] = (await duck.all<{ n: number }>(`SELECT count(*) AS n FROM (${body})`)) as [{ n: number }];
  if (n === 0) return null;
  const file = quarantinePath(t);
  mkdirSync(path.dirname(file), { recursive: true });
  await duck.run(`COPY (SELECT * FROM (${body}) ORDER BY file, coalesce(record, line)) TO ${literal(file)} (FORMAT JSON)`);
  return { file, rows: n };
}
