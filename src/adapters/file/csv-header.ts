import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** The first `count` lines of a (possibly gzipped) text file, without reading the rest. */
export async function readFirstLines(file: string, count: number): Promise<{ lines: string[] }> {
  const raw = createReadStream(file, { highWaterMark: 64 * 1024 });
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let text = '';
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('utf8');
      if (text.split('\n').length > count) break;
    }
  } finally {
    raw.destroy();
  }
  const lines = text.replace(/^\uFEFF/, '').split('\n').slice(0, count);
  return { lines: lines.map((l) => l.replace(/\r$/, '')) };
}

/** Splits one CSV line on the delimiter, honouring double quotes. */
export function splitCsvLine(line: string, delimiter: string, quote: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote && ch === quote) {
      if (quoted && line[i + 1] === quote) {
        cur += quote;
        i++;
      } else quoted = !quoted;
    } else if (ch === delimiter && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}
