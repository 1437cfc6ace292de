import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/**
 * The records of a CSV file as DuckDB's reader splits them, found in its bytes without DuckDB:
 * the count the ingest checks every input against (each record must end up stored, repeated,
 * quarantined or filtered), and what decides how the file is read.
 *
 * A record ends at a line feed outside quotes. Quoting is RFC 4180 as DuckDB reads it: a quote
 * opens a quoted field only at the start of a field, `""` inside one is a quote, and a closing
 * quote is followed by the delimiter or the line end; a quote inside an unquoted field is an
 * ordinary character. Read without quoting, every line is a record. An empty line is no record
 * (DuckDB skips it); a line of blanks is one. The `skip` lines, the header and a BOM are not.
 */
export interface CsvLayout {
  readonly delimiter: string;
  /** '' when the layout has no quoting. */
  readonly quote: string;
  readonly skip: number;
  readonly header: boolean;
}

const LF = 10;
const CR = 13;

/** Quote states within a record. */
const enum Q {
  /** At the start of a field: a quote here opens a quoted field. */
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: it closes the field, or escapes the quote after it. */
  QuoteInQuoted,
}

export interface CsvProfile {
  /**
   * Read with quoting: false when a quote is never closed, or is closed after a line break
   * with text following it. Quoting would then swallow the lines after it into one field.
   */
  readonly quoted: boolean;
  /** Records after the header, in the mode the file is read with. */
  readonly records: number;
}

/** Tallies of one way of splitting the file (with quoting, or line by line). */
class Tally {
  records = 0;
  /** The open record's bytes. */
  bytes = 0;

  /** Closes the open record; `cut` bytes of it were its line end's CR. */
  close(cut: number): void {
    if (this.bytes - cut > 0) this.records++;
    this.bytes = 0;
  }
}

/** A file's bytes, gunzipped when it is named .gz. */
function byteStream(file: string): AsyncIterable<Buffer> {
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  return file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

/** The one byte of a delimiter or quote: -1 for none, NaN for a character of more bytes. */
export function layoutByte(text: string): number {
  if (text === '') return -1;
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length === 1 ? bytes[0]! : NaN;
}

const hasBom = (chunk: Buffer) => chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;

/**
 * One pass over a file's bytes: its records with quoting and line by line, and whether its
 * quoting holds. A chunk without a quote (most of every file) is walked line by line with
 * Buffer.indexOf; only chunks with quotes byte by byte.
 */
export async function profileCsv(file: string, layout: CsvLayout): Promise<CsvProfile> {
  const delim = layoutByte(layout.delimiter);
  const quote = layoutByte(layout.quote);
  const q = new Tally();
  const u = new Tally();
  let state = Q.FieldStart as Q;
  let spansLine = false;
  let broken = false;
  let prevCr = false;
  let toSkip = layout.skip;
  let first = true;

  /** A line feed: ends the line, and the record unless it lies inside quotes. */
  const lineEnd = () => {
    const cut = prevCr ? 1 : 0;
    prevCr = false;
    u.close(cut);
    if (state === Q.Quoted) {
      spansLine = true;
      return;
    }
    q.close(cut);
    state = Q.FieldStart;
    spansLine = false;
  };

  // Which bytes matter to the walk: 0 for the ordinary ones, most of every file.
  const kind = new Uint8Array(256);
  kind[LF] = 1;
  kind[CR] = 2;
  kind[delim] = 3;
  if (quote !== -1) kind[quote] = 4;

  /** Byte by byte, for bytes where a quote may matter. */
  const slow = (chunk: Buffer, from: number, to: number) => {
    // Bytes are counted by position: where the open record and line would start in this chunk.
    let qStart = from - q.bytes;
    let uStart = from - u.bytes;
    let s = state;
    for (let i = from; i < to; i++) {
      const b = chunk[i]!;
      const k = kind[b]!;
      if (k === 0) {
        prevCr = false;
        if (s === Q.FieldStart) s = Q.Unquoted;
        else if (s === Q.QuoteInQuoted) {
          // Text after a closing quote. Within one line DuckDB rejects that line; after a line
          // break the quote has swallowed lines, and only a read without quoting finds them.
          if (spansLine) broken = true;
          s = Q.Unquoted;
        }
        continue;
      }
      if (k === 1) {
        q.bytes = i - qStart;
        u.bytes = i - uStart;
        state = s;
        lineEnd();
        s = state;
        uStart = i + 1;
        if (s === Q.FieldStart) qStart = i + 1;
        continue;
      }
      prevCr = k === 2;
      if (k === 3) {
        if (s !== Q.Quoted) s = Q.FieldStart;
      } else if (k === 4) {
        if (s === Q.FieldStart) s = Q.Quoted;
        else if (s === Q.Quoted) s = Q.QuoteInQuoted;
        else if (s === Q.QuoteInQuoted) s = Q.Quoted;
      } else if (s === Q.FieldStart) s = Q.Unquoted;
    }
    q.bytes = to - qStart;
    u.bytes = to - uStart;
    state = s;
  };

  /** Whole lines without a quote, from a record's start: both ways of splitting agree. */
  const fast = (chunk: Buffer, from: number, to: number) => {
    for (let i = from; i < to; ) {
      const end = chunk.indexOf(LF, i);
      // An empty line (a CR before its line feed aside) is no record.
      if (end - i > (end > i && chunk[end - 1] === CR ? 1 : 0)) {
        q.records++;
        u.records++;
      }
      i = end + 1;
    }
  };

  for await (const chunk of byteStream(file)) {
    let i = 0;
    if (first) {
      first = false;
      if (hasBom(chunk)) i = 3;
    }
    const n = chunk.length;
    for (; toSkip > 0 && i < n; i++) if (chunk[i] === LF) toSkip--;
    if (i >= n) continue;
    // The open record (from the chunk before) runs to the first line feed; then whole lines
    // follow, and the part after the last line feed opens the next record.
    const firstLf = chunk.indexOf(LF, i);
    const lastLf = chunk.lastIndexOf(LF);
    if (firstLf === -1 || (quote !== -1 && chunk.indexOf(quote, i) !== -1)) {
      slow(chunk, i, n);
      continue;
    }
    slow(chunk, i, firstLf + 1);
    if (state === Q.Quoted) {
      slow(chunk, firstLf + 1, n);
      continue;
    }
    fast(chunk, firstLf + 1, lastLf + 1);
    slow(chunk, lastLf + 1, n);
  }
  u.close(0);
  if (state === Q.Quoted) broken = true;
  else q.close(0);
  const quoted = quote !== -1 && !broken;
  return { quoted, records: Math.max(0, (quoted ? q : u).records - (layout.header ? 1 : 0)) };
}
