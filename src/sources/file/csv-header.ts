import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** The most of a file read to find its header: a longer first line is no CSV header. */
const headBytes = 64 * 1024;

/**
 * The first `count` lines of a (possibly gzipped) text file, without reading the rest, and its
 * first bytes (at most 64 KiB, enough to tell what it is). `cut`: the last of those lines did
 * not end within those bytes.
 */
export async function readFirstLines(file: string, count: number): Promise<{ lines: string[]; head: Buffer; cut: boolean }> {
  const raw = createReadStream(file, { highWaterMark: headBytes });
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const parts: Buffer[] = [];
  let size = 0;
  let ends = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      parts.push(buf);
      size += buf.length;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) ends++;
      if (ends >= count || size >= headBytes) break;
    }
  } finally {
    raw.destroy();
  }
  const head = Buffer.concat(parts).subarray(0, headBytes);
  const lines = head.toString('utf8').replace(/^\uFEFF/, '').split('\n').slice(0, count);
  return { lines: lines.map((l) => l.replace(/\r$/, '')), head, cut: ends < count && size >= headBytes };
}

/**
 * What a file's first bytes say it is, when that is not CSV text (null when it may be). `line`:
 * its header line; `cut`: that line goes on past the first bytes.
 */
export function notText(head: Buffer, line: string, cut: boolean): string | null {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip-compressed data (a name ending in .gz has it read as such)';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'a zip archive (a .zip or .xlsx file)';
  if (starts(0x50, 0x41, 0x52, 0x31)) return 'a Parquet file';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2-compressed data';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz-compressed data';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd-compressed data';
  if (starts(0xff, 0xfe) || starts(0xfe, 0xff)) return 'UTF-16 text (save it as UTF-8)';
  // UTF-16 without a byte order mark: ASCII text with a NUL after (or before) each character.
  const sample = head.subarray(0, 4096);
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] !== 0) continue;
    if (i % 2 === 0) evenNul++;
    else oddNul++;
  }
  const half = sample.length / 2;
  if (sample.length >= 8 && Math.max(oddNul, evenNul) > 0.4 * half && Math.min(oddNul, evenNul) < 0.05 * half) return 'UTF-16 text (save it as UTF-8)';
  // A header names columns: no NUL or other control byte but a tab. (A bad byte further on
  // is a bad line, quarantined with the rest of the file loaded.)
  const control = [...line].filter((ch) => ch < ' ' && ch !== '\t' && ch !== '\r').length;
  if (control > 0) return `binary data (${control} control bytes${line.includes('\u0000') ? ', NUL among them,' : ''} in its first line)`;
  if (cut) return `no CSV header: its first line runs past ${headBytes} bytes`;
  return null;
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
