import { gunzipSync } from 'node:zlib';

/**
 * The records of a CSV file by the rules the reader promises (src/adapters/file/csv-records.ts
 * states them), counted here another way: as text, record by record, without the reader's
 * code. Read with quoting unless a quote never closes or closes after a line break with text
 * after it; then line by line. An empty line (a CR before the line feed aside) is no record.
 */
export function referenceRecords(bytes: Buffer, name: string): number {
  let text = (name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('latin1');
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  const nonEmpty = (record: string) => record.replace(/\r$/, '').length > 0;
  const byLine = text.split('\n').filter(nonEmpty);
  const quoted: string[] = [];
  let record = '';
  let inQuotes = false;
  let fieldStart = true;
  let closed = false;
  let spans = false;
  let intact = true;
  for (const ch of text) {
    if (inQuotes) {
      if (ch === '"') {
        inQuotes = false;
        closed = true;
      } else if (ch === '\n') spans = true;
      record += ch;
      continue;
    }
    if (closed && ch === '"') {
      // "" inside a quoted field.
      inQuotes = true;
      closed = false;
      record += ch;
      continue;
    }
    // A CR after a closing quote waits for what follows it: a line feed ends the record.
    if (closed && ch === '\r') {
      record += ch;
      continue;
    }
    if (closed && ch !== ',' && ch !== '\n' && spans) intact = false;
    closed = false;
    if (ch === '\n') {
      quoted.push(record);
      record = '';
      fieldStart = true;
      spans = false;
      continue;
    }
    if (ch === ',') fieldStart = true;
    else if (ch === '"' && fieldStart) {
      inQuotes = true;
      fieldStart = false;
    } else fieldStart = false;
    record += ch;
  }
  if (inQuotes) intact = false;
  else quoted.push(record);
  const records = intact ? quoted.filter(nonEmpty) : byLine;
  return Math.max(0, records.length - 1);
}
