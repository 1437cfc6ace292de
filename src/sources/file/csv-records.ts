import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
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
  /** The fields a record has: the header's (or the declared) columns. */
  readonly columns: number;
}

/**
 * A longer record is quarantined before DuckDB sees it: no market-data record comes near, and
 * what a person needs is the reason, not a megabyte of text.
 */
export const maxRecordBytes = 64 * 1024;

/**
 * A record with more fields than the header's plus this is quarantined before DuckDB sees it:
 * DuckDB reports each surplus field as an error that carries the whole line, so its cost grows
 * with fields times length (a 40 KB line of 20,000 fields took 85 s and 744 MB).
 */
export const maxExtraFields = 64;

/** How much of a record quarantined here is kept as its raw form. */
const rawBytesKept = 1024;

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

/** What keeps DuckDB from reading a file as it is: it stops on the first two, and spends minutes on the last. */
export type Damage = 'stray_cr' | 'mixed_line_ends' | 'long_record' | 'many_fields';

export interface CsvProfile {
  /** Every line ends in CRLF. */
  readonly crlf: boolean;
  /**
   * Read with quoting: false when a quote is never closed, or is closed after a line break
   * with text following it. Quoting would then swallow the lines after it into one field.
   */
  readonly quoted: boolean;
  /** Records after the header, in the mode the file is read with. */
  readonly records: number;
  /** Why DuckDB cannot read the file as it is (none for almost every file). */
  readonly damage: readonly Damage[];
}

/** A record quarantined here, before DuckDB. */
export interface RecordReject {
  /** Its first line, 1-based, counting every line of the file (as DuckDB numbers them). */
  readonly line: number;
  readonly raw: string;
  readonly reason: string;
}

/** Tallies of one way of splitting the file (with quoting, or line by line). */
class Tally {
  records = 0;
  /** The open record's bytes and fields. */
  bytes = 0;
  fields = 1;
  maxBytes = 0;
  maxFields = 0;

  /** Closes the open record; `cut` bytes of it were its line end's CR. */
  close(cut: number): void {
    const bytes = this.bytes - cut;
    if (bytes > 0) {
      this.records++;
      if (bytes > this.maxBytes) this.maxBytes = bytes;
      if (this.fields > this.maxFields) this.maxFields = this.fields;
    }
    this.bytes = 0;
    this.fields = 1;
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
 * One pass over a file's bytes: its records with quoting and line by line, whether its quoting
 * holds, its line ends, and its longest and widest record. A chunk without a quote (most of
 * every file) is walked line by line with Buffer.indexOf; only chunks with quotes byte by byte.
 */
export async function profileCsv(file: string, layout: CsvLayout): Promise<CsvProfile> {
  const delim = layoutByte(layout.delimiter);
  const quote = layoutByte(layout.quote);
  const q = new Tally();
  const u = new Tally();
  let state = Q.FieldStart as Q;
  let spansLine = false;
  let broken = false;
  let crlf = 0;
  let lf = 0;
  let strayCr = false;
  let prevCr = false;
  let toSkip = layout.skip;
  let first = true;
  // Fields are counted only in lines long enough to hold too many (or a quoted record's).
  const wide = layout.columns + maxExtraFields;

  /** A line feed: ends the line, and the record unless it lies inside quotes. */
  const lineEnd = () => {
    const cut = prevCr ? 1 : 0;
    if (prevCr) crlf++;
    else lf++;
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
        if (prevCr) strayCr = true;
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
      if (prevCr) strayCr = true;
      prevCr = k === 2;
      if (k === 3) {
        u.fields++;
        if (s !== Q.Quoted) {
          q.fields++;
          s = Q.FieldStart;
        }
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
    let i = from;
    // The next CR at or after i: looked up again only once passed, so a CR far ahead is not
    // searched for from every line.
    let cr = chunk.indexOf(CR, i);
    while (i < to) {
      const end = chunk.indexOf(LF, i);
      const bytes = end - i;
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      const crEnd = bytes > 0 && chunk[end - 1] === CR;
      if (cr !== -1 && cr < end - (crEnd ? 1 : 0)) strayCr = true;
      let fields = 1;
      if (bytes >= wide) for (let d = chunk.indexOf(delim, i); d !== -1 && d < end; d = chunk.indexOf(delim, d + 1)) fields++;
      const content = bytes - (crEnd ? 1 : 0);
      if (crEnd) crlf++;
      else lf++;
      if (content > 0) {
        for (const t of [q, u]) {
          t.records++;
          if (content > t.maxBytes) t.maxBytes = content;
          if (fields > t.maxFields) t.maxFields = fields;
        }
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
  if (prevCr) strayCr = true;
  u.close(0);
  if (state === Q.Quoted) broken = true;
  else q.close(0);
  const quoted = quote !== -1 && !broken;
  const t = quoted ? q : u;
  const damage: Damage[] = [];
  if (strayCr) damage.push('stray_cr');
  if (crlf > 0 && lf > 0) damage.push('mixed_line_ends');
  if (t.maxBytes > maxRecordBytes) damage.push('long_record');
  if (t.maxFields > wide) damage.push('many_fields');
  return { crlf: crlf > 0 && lf === 0, quoted, records: Math.max(0, t.records - (layout.header ? 1 : 0)), damage };
}

/** Writes bytes to a file in large blocks, waiting when the disk lags. */
class BlockWriter {
  private readonly stream: WriteStream;
  private parts: Buffer[] = [];
  private size = 0;

  constructor(file: string) {
    this.stream = createWriteStream(file);
  }

  push(bytes: Buffer): Promise<void> | null {
    this.parts.push(bytes);
    this.size += bytes.length;
    return this.size >= 1024 * 1024 ? this.flush() : null;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const block = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(block)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

const newline = Buffer.from('\n');

/**
 * Writes a copy of a damaged file that DuckDB can read, line for line (so that DuckDB's line
 * numbers stay the file's): line ends become LF, and each record DuckDB would stop on or
 * spend minutes on (a CR inside it, over maxRecordBytes, too many fields) is replaced by empty
 * lines and returned as a reject. `quoted`: split records with quoting (as profileCsv decided).
 * Returns the records of the file as the copy is read (those rejected here included).
 */
export async function repairCsv(file: string, layout: CsvLayout, quoted: boolean, to: string): Promise<{ records: number; rejects: RecordReject[] }> {
  const delim = layoutByte(layout.delimiter);
  const quote = quoted ? layoutByte(layout.quote) : -1;
  const out = new BlockWriter(to);
  const rejects: RecordReject[] = [];
  // The open record: its first bytes (enough to copy any record short enough to keep).
  const kept = Buffer.alloc(maxRecordBytes + 2);
  let length = 0;
  let bytes = 0;
  let fields = 1;
  let lines = 1;
  let strayCr = false;
  let prevCr = false;
  let state = Q.FieldStart as Q;
  let line = 1;
  let start = 1;
  let records = 0;
  let toSkip = layout.skip;
  let header = layout.header;
  let first = true;

  const close = async (cut: number) => {
    const content = bytes - cut;
    let write: Buffer;
    if (content <= 0 || toSkip > 0 || header) {
      // Skipped lines, the header and empty lines are copied (without their CRs).
      write = Buffer.concat([kept.subarray(0, length).filter((b) => b !== CR), newline]);
      if (toSkip > 0) toSkip--;
      else if (content > 0) header = false;
    } else {
      records++;
      const reason = strayCr
        ? 'CARRIAGE RETURN: a CR inside the line (a line ends in LF or CRLF)'
        : content > maxRecordBytes
          ? `LINE SIZE OVER MAXIMUM: ${content} bytes, over the limit of ${maxRecordBytes}`
          : fields > layout.columns + maxExtraFields
            ? `TOO MANY COLUMNS: ${fields} fields where the header has ${layout.columns}`
            : null;
      if (reason) {
        const shown = kept.subarray(0, Math.min(length, rawBytesKept)).toString('utf8');
        rejects.push({ line: start, raw: content > rawBytesKept ? `${shown}… (${content} bytes)` : shown, reason });
        write = Buffer.alloc(lines, LF);
      } else {
        write = Buffer.concat([kept.subarray(0, length).filter((b) => b !== CR), newline]);
      }
    }
    const wait = out.push(write);
    if (wait) await wait;
    length = 0;
    bytes = 0;
    fields = 1;
    lines = 1;
    strayCr = false;
    state = Q.FieldStart;
    line++;
    start = line;
  };

  for await (const chunk of byteStream(file)) {
    let i = 0;
    if (first) {
      first = false;
      if (hasBom(chunk)) {
        await out.push(chunk.subarray(0, 3));
        i = 3;
      }
    }
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF && (state !== Q.Quoted || toSkip > 0)) {
        await close(prevCr ? 1 : 0);
        prevCr = false;
        continue;
      }
      if (prevCr && b !== LF) strayCr = true;
      prevCr = b === CR;
      if (length < kept.length) kept[length++] = b;
      bytes++;
      if (toSkip > 0) continue;
      if (b === LF) {
        // A line break inside a quoted field.
        lines++;
        line++;
      } else if (b === delim) {
        if (state !== Q.Quoted) {
          fields++;
          state = Q.FieldStart;
        }
      } else if (b === quote) {
        if (state === Q.FieldStart) state = Q.Quoted;
        else if (state === Q.Quoted) state = Q.QuoteInQuoted;
        else if (state === Q.QuoteInQuoted) state = Q.Quoted;
      } else if (state === Q.FieldStart) state = Q.Unquoted;
      else if (state === Q.QuoteInQuoted && b !== CR) state = Q.Unquoted;
    }
  }
  // A CR at the very end is taken for the last line's end.
  if (bytes > 0) await close(prevCr ? 1 : 0);
  await out.close();
  return { records, rejects };
}
