import { gunzipSync, gzipSync } from 'node:zlib';
import { seeded } from './reliability.js';

/**
 * A deterministic corpus of malformed CSV inputs for the ingest: each case is one to seven
 * files in a layout the shipped transforms read (yahoo: symbol from the file name; stooq:
 * symbol from a column), each file a clean one with some damage done to it. The same seed
 * gives the same cases, byte for byte.
 */
export interface CorpusFile {
  readonly name: string;
  readonly bytes: Buffer;
}

export interface CorpusCase {
  readonly id: number;
  readonly layout: 'yahoo' | 'stooq';
  readonly calendar: boolean;
  readonly files: readonly CorpusFile[];
  /** What was done to each file (for the test's name and a failure's message). */
  readonly damage: readonly string[];
  /** A file of this case is not CSV text in the layout: the run must be refused (exit 2). */
  readonly refused: boolean;
}

type Rng = () => number;

const headers = {
  yahoo: ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'],
  stooq: ['<TICKER>', '<PER>', '<DATE>', '<TIME>', '<OPEN>', '<HIGH>', '<LOW>', '<CLOSE>', '<VOL>', '<OPENINT>'],
} as const;

/** XNYS sessions of early 2023 (no Jan 2, Jan 16, Feb 20). */
const sessions: string[] = (() => {
  const out: string[] = [];
  for (let t = Date.UTC(2023, 0, 3); out.length < 60; t += 86_400_000) {
    const d = new Date(t);
    const day = d.toISOString().slice(0, 10);
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6 || day === '2023-01-16' || day === '2023-02-20') continue;
    out.push(day);
  }
  return out;
})();

/** A clean file before damage: its header, its data lines (without line ends), how it ends lines. */
interface Draft {
  header: string[];
  lines: Buffer[];
  eol: string;
  bom: boolean;
  finalNewline: boolean;
  /** Replaces the whole file (binary and compressed kinds). */
  whole: Buffer | null;
  name: string;
  refused: boolean;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const b = (s: string) => Buffer.from(s, 'latin1');
const u = (s: string) => Buffer.from(s, 'utf8');

function cleanDraft(rng: Rng, layout: 'yahoo' | 'stooq', symbol: string): Draft {
  const rows = int(rng, 2, 25);
  const start = int(rng, 0, sessions.length - rows);
  let price = 20 + rng() * 200;
  const lines: Buffer[] = [];
  for (let i = 0; i < rows; i++) {
    const open = price;
    const close = price * (1 + (rng() - 0.5) / 20);
    const high = Math.max(open, close) * (1 + rng() / 50);
    const low = Math.min(open, close) * (1 - rng() / 50);
    const volume = int(rng, 1000, 5_000_000);
    const day = sessions[start + i]!;
    const f = (x: number) => x.toFixed(2);
    lines.push(
      u(
        layout === 'yahoo'
          ? [day, f(open), f(high), f(low), f(close), f(close * 0.98), volume].join(',')
          : [`${symbol}.US`, 'D', day.replace(/-/g, ''), '000000', f(open), f(high), f(low), f(close), volume, 0].join(','),
      ),
    );
    price = close;
  }
  const name = layout === 'yahoo' ? `${symbol}.csv` : `${symbol.toLowerCase()}.us.txt`;
  return { header: [...headers[layout]], lines, eol: '\n', bom: false, finalNewline: true, whole: null, name, refused: false };
}

function serialize(d: Draft): Buffer {
  if (d.whole) return d.whole;
  const body: Buffer[] = [u(d.header.join(','))];
  for (const l of d.lines) body.push(u(d.eol), l);
  if (d.finalNewline) body.push(u(d.eol));
  return Buffer.concat([d.bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), ...body]);
}

/** A data line to damage (the first, when there is one). */
const someLine = (rng: Rng, d: Draft) => (d.lines.length ? int(rng, 0, d.lines.length - 1) : -1);

/** The fields of a line, split on commas (corpus lines are unquoted before damage). */
const fieldsOf = (line: Buffer) => line.toString('latin1').split(',');
const setField = (d: Draft, k: number, f: number, value: Buffer) => {
  const parts: Buffer[] = fieldsOf(d.lines[k]!).map((x) => b(x));
  parts[Math.min(f, parts.length - 1)] = value;
  d.lines[k] = Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [b(','), p])));
};
const insertAt = (line: Buffer, at: number, what: Buffer) => Buffer.concat([line.subarray(0, at), what, line.subarray(at)]);

/** Damage done to one data line: name -> what it does. */
const lineDamage: Record<string, (rng: Rng, d: Draft, k: number) => void> = {
  stray_quote_line_start: (_r, d, k) => (d.lines[k] = Buffer.concat([b('"'), d.lines[k]!])),
  stray_quote_field: (r, d, k) => setField(d, k, int(r, 1, 4), Buffer.concat([b('"'), b(fieldsOf(d.lines[k]!)[1] ?? '1')])),
  quote_then_text: (r, d, k) => setField(d, k, int(r, 1, 4), b('"10.5"x')),
  quoted_newline: (r, d, k) => setField(d, k, int(r, 1, 4), b('"10\n5"')),
  quoted_value: (r, d, k) => setField(d, k, int(r, 1, 4), b(`"${fieldsOf(d.lines[k]!)[1]}"`)),
  escaped_quotes: (r, d, k) => setField(d, k, int(r, 1, 4), b('"1""0"')),
  quote_only_line: (_r, d, k) => (d.lines[k] = b('"')),
  nul_in_line: (r, d, k) => (d.lines[k] = insertAt(d.lines[k]!, int(r, 0, d.lines[k]!.length), Buffer.from([0]))),
  nul_line: (r, d, k) => d.lines.splice(k, 0, Buffer.alloc(int(r, 1, 40), 0)),
  cr_in_line: (r, d, k) => (d.lines[k] = insertAt(d.lines[k]!, int(r, 1, d.lines[k]!.length - 1), b('\r'))),
  crlf_on_line: (_r, d, k) => (d.lines[k] = Buffer.concat([d.lines[k]!, b('\r')])),
  bom_on_line: (_r, d, k) => (d.lines[k] = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), d.lines[k]!])),
  bom_in_field: (r, d, k) => (d.lines[k] = insertAt(d.lines[k]!, int(r, 1, d.lines[k]!.length - 1), Buffer.from([0xef, 0xbb, 0xbf]))),
  // Any byte but a line feed (which would only make two lines).
  junk_bytes: (r, d, k) => {
    const junk = Buffer.from(Array.from({ length: int(r, 1, 24) }, () => int(r, 0, 254)).map((x) => (x === 10 ? 255 : x)));
    d.lines[k] = insertAt(d.lines[k]!, int(r, 0, d.lines[k]!.length), junk);
  },
  invalid_utf8: (r, d, k) => (d.lines[k] = insertAt(d.lines[k]!, int(r, 0, d.lines[k]!.length), Buffer.from(pick(r, [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf]])))),
  long_field: (r, d, k) => setField(d, k, int(r, 1, 4), b('9'.repeat(int(r, 70_000, 300_000)))),
  many_fields: (r, d, k) => (d.lines[k] = b(Array.from({ length: pick(r, [80, 500, 5_000, 100_000]) }, () => '1').join(','))),
  extra_fields: (r, d, k) => (d.lines[k] = Buffer.concat([d.lines[k]!, b(',1'.repeat(int(r, 1, 3)))])),
  missing_fields: (r, d, k) => (d.lines[k] = b(fieldsOf(d.lines[k]!).slice(0, -int(r, 1, 3)).join(','))),
  empty_line: (_r, d, k) => d.lines.splice(k, 0, b('')),
  blank_line: (r, d, k) => d.lines.splice(k, 0, b(pick(r, [' ', '   ', '\t', ' \t ']))),
  delimiters_line: (_r, d, k) => d.lines.splice(k, 0, b(',,,,,,')),
  exact_repeat: (_r, d, k) => d.lines.splice(k, 0, Buffer.from(d.lines[k]!)),
  conflicting_repeat: (_r, d, k) => {
    const parts = fieldsOf(d.lines[k]!);
    const v = parts.length - 1;
    parts[v] = String(Number(parts[v]) + 1);
    d.lines.splice(k, 0, b(parts.join(',')));
  },
  odd_number: (r, d, k) =>
    setField(d, k, int(r, 1, 4), u(pick(r, ['1e3', '1_000', '0x10', '-0', 'NaN', 'Infinity', '-Infinity', '', ' 12 ', '"1,5"', '١٢', '1.2.3', '+5', '.5', '5.', '1e400', '--1', '12abc']))),
  odd_date: (r, d, k) => {
    const f = d.header[0] === 'Date' ? 0 : 2;
    const yahoo = f === 0;
    const dates = yahoo
      ? ['2024/01/05', '20240105', '2024-1-5', '2024-01-05T00:00:00Z', '0000-01-04', '-2023-01-04', '9999-12-31', '2024-02-30', '24-01-05', '2024-01-05x', '', 'today', '2023-01-05 ', '2023-01-07']
      : ['2024-01-05', '240105', '00000104', '-20230104', '99991231', '20240230', '2024010', '202401055', '', '20230107'];
    setField(d, k, f, u(pick(r, dates)));
  },
  long_symbol: (r, d, k) => setField(d, k, 0, b(`${'A'.repeat(pick(r, [33, 300, 5000]))}.US`)),
  symbol_slash: (r, d, k) => setField(d, k, 0, b(pick(r, ['A/B.US', '../X.US', 'A\\B.US', '..']))),
  symbol_nul: (_r, d, k) => setField(d, k, 0, Buffer.from([0x41, 0, 0x42])),
  symbol_odd: (r, d, k) => setField(d, k, 0, u(pick(r, [' ', 'ÄPPLE.US', 'A B.US', 'AAPL\t.US', '"A,B".US', 'BRK.B.US', 'EURUSD=X']))),
};

/** Damage done to a file as a whole. `refuses`: the run must be refused. */
const fileDamage: Record<string, { refuses: boolean; apply: (rng: Rng, d: Draft) => void }> = {
  bom: { refuses: false, apply: (_r, d) => (d.bom = true) },
  crlf_everywhere: { refuses: false, apply: (_r, d) => (d.eol = '\r\n') },
  cr_only_ends: { refuses: true, apply: (_r, d) => (d.eol = '\r') },
  no_final_newline: { refuses: false, apply: (_r, d) => (d.finalNewline = false) },
  trailing_blank_lines: { refuses: false, apply: (r, d) => d.lines.push(...Array.from({ length: int(r, 1, 4) }, () => b(''))) },
  header_only: { refuses: false, apply: (_r, d) => (d.lines = []) },
  // Megabytes of lines (damage repeated with them): the reader's blocks and DuckDB's parallel
  // scan of one file split it somewhere in a record.
  big_file: {
    refuses: false,
    apply: (r, d) => {
      const lines = d.lines.length ? d.lines : [b('2023-01-03,1,1,1,1,1,1')];
      const target = int(r, 2, 12) * 1024 * 1024;
      const out: Buffer[] = [];
      for (let size = 0, i = 0; size < target; i++) {
        out.push(lines[i % lines.length]!);
        size += lines[i % lines.length]!.length + 1;
      }
      d.lines = out;
    },
  },
  empty_file: { refuses: false, apply: (_r, d) => (d.whole = Buffer.alloc(0)) },
  duplicate_header_column: {
    refuses: true,
    apply: (r, d) => {
      d.header.push(pick(r, d.header));
      d.lines = d.lines.map((l) => Buffer.concat([l, b(',1')]));
    },
  },
  // A column the transform reads (stooq's <PER>, <TIME> and <OPENINT> are not).
  missing_header_column: { refuses: true, apply: (r, d) => d.header.splice(pick(r, d.header[0] === 'Date' ? [0, 1, 2, 3, 4, 5, 6] : [0, 2, 4, 5, 6, 7, 8]), 1) },
  header_spaces: { refuses: false, apply: (_r, d) => (d.header = d.header.map((h) => ` ${h} `)) },
  // The reader drops one BOM, and the header's names are trimmed of the other.
  bom_twice: {
    refuses: false,
    apply: (_r, d) => {
      d.bom = true;
      d.header[0] = `\uFEFF${d.header[0]}`;
    },
  },
  random_binary: {
    refuses: true,
    apply: (r, d) => (d.whole = Buffer.from(Array.from({ length: int(r, 200, 5000) }, () => int(r, 0, 255)))),
  },
  gzip_not_named_gz: { refuses: true, apply: (_r, d) => (d.whole = gzipSync(serialize(d))) },
  gzip_named_gz: {
    refuses: false,
    apply: (_r, d) => {
      d.whole = gzipSync(serialize(d));
      d.name = `${d.name}.gz`;
    },
  },
  gzip_cut_short: {
    refuses: true,
    apply: (r, d) => {
      // Enough rows that the compressed stream is long, then cut it in the middle.
      for (let i = 0; i < 400; i++) d.lines.push(Buffer.from(d.lines[i % Math.max(1, d.lines.length)] ?? b('2023-01-03,1,1,1,1,1,1')));
      const full = gzipSync(serialize(d));
      d.whole = full.subarray(0, Math.floor(full.length * (0.2 + 0.6 * r())));
      d.name = `${d.name}.gz`;
    },
  },
  named_gz_not_gzip: {
    refuses: true,
    apply: (_r, d) => {
      d.whole = serialize(d);
      d.name = `${d.name}.gz`;
    },
  },
  utf16: {
    refuses: true,
    apply: (r, d) => {
      const le = Buffer.from(`\uFEFF${serialize(d).toString('utf8')}`, 'utf16le');
      d.whole = r() < 0.5 ? le : Buffer.from(le).swap16();
    },
  },
  utf16_no_bom: { refuses: true, apply: (_r, d) => (d.whole = Buffer.from(serialize(d).toString('utf8'), 'utf16le')) },
  nul_filled: { refuses: true, apply: (r, d) => (d.whole = Buffer.alloc(int(r, 1, 70_000), 0)) },
  zip_magic: { refuses: true, apply: (_r, d) => (d.whole = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), serialize(d)])) },
  parquet_magic: { refuses: true, apply: (_r, d) => (d.whole = Buffer.concat([Buffer.from('PAR1', 'latin1'), Buffer.alloc(64, 0), serialize(d)])) },
};

const symbolDamage = new Set(['long_symbol', 'symbol_slash', 'symbol_nul', 'symbol_odd']);

/** The corpus: `count` cases from `seed`. */
export function csvCorpus(seed: number, count: number): CorpusCase[] {
  const rng = seeded(seed);
  const lineKinds = Object.keys(lineDamage);
  const fileKinds = Object.keys(fileDamage);
  const cases: CorpusCase[] = [];
  for (let id = 0; id < count; id++) {
    const layout = rng() < 0.7 ? 'yahoo' : 'stooq';
    // Several files in one chunk take DuckDB's other scan path (more files than twice its threads).
    const fileCount = rng() < 0.3 ? int(rng, 5, 7) : int(rng, 1, 2);
    const files: CorpusFile[] = [];
    const damage: string[] = [];
    let refused = false;
    for (let f = 0; f < fileCount; f++) {
      const symbol = `S${id}${String.fromCharCode(65 + f)}`;
      const d = cleanDraft(rng, layout, symbol);
      const done: string[] = [];
      // Most files get line damage; some a whole-file kind (rarely more than one file a case).
      if (rng() < 0.2 && (f === 0 || rng() < 0.2)) {
        const kind = pick(rng, fileKinds);
        // Line damage first, so that the kinds that encode or compress the file carry it.
        for (let n = int(rng, 0, 2); n > 0 && d.lines.length > 0; n--) {
          const k = pick(rng, lineKinds.filter((x) => layout === 'stooq' || !symbolDamage.has(x)));
          lineDamage[k]!(rng, d, someLine(rng, d));
          done.push(k);
        }
        fileDamage[kind]!.apply(rng, d);
        done.push(kind);
        if (fileDamage[kind]!.refuses) refused = true;
      } else {
        for (let n = int(rng, f === 0 ? 1 : 0, 3); n > 0 && d.lines.length > 0; n--) {
          const k = pick(rng, lineKinds.filter((x) => layout === 'stooq' || !symbolDamage.has(x)));
          lineDamage[k]!(rng, d, someLine(rng, d));
          done.push(k);
        }
      }
      files.push({ name: d.name, bytes: serialize(d) });
      damage.push(`${d.name}: ${done.join('+') || 'clean'}`);
    }
    cases.push({ id, layout, calendar: rng() < 0.5, files, damage, refused });
  }
  return cases;
}

/**
 * The records of a CSV file by the rules the reader promises (src/sources/file/csv-records.ts
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
