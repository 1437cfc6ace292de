/**
 * A corpus of malformed job files, each a damage to one valid job (the demo's layout over a
 * three-row Yahoo CSV): broken YAML, schema violations, values out of bounds, names that are
 * not names, references to nothing, environment references, resource bombs. Every case says
 * whether `mdw jobs validate` must refuse it ('refused': exit 2 with file:line, and the ingest
 * refuses it the same way) or accept it ('runs': the ingest stores, quarantines, or refuses its
 * input with exit 2, and never fails on something validate could have caught).
 */

export interface JobCase {
  readonly id: number;
  readonly damage: string;
  /** The job file's name (without folder): most are case-<id>.yml, some damage the name itself. */
  readonly fileName: string;
  readonly bytes: Buffer;
  readonly expect: 'refused' | 'runs';
}

/** The valid job every case damages; `data` is the folder of its CSV. */
function base(data: string): Record<string, string> {
  return {
    dataset: 'ohlcv',
    granularity: '1d',
    calendar: 'XNYS',
    source: `{ name: fz, adapter: file, files: ['${data}/*.csv'] }`,
    transform: 'yahoo',
  };
}

function render(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')
    .concat('\n');
}

type Damage = [damage: string, expect: JobCase['expect'], text: (data: string) => string | Buffer, fileName?: string];

const edit =
  (change: Record<string, string | undefined>) =>
  (data: string): string =>
    render({ ...base(data), ...change });
const source = (inner: string) => edit({ source: `{ ${inner} }` });

const damages: Damage[] = [
  // YAML itself
  ['an unclosed flow mapping', 'refused', (d) => render(base(d)).replace(`*.csv'] }`, `*.csv']`)],
  ['a tab in the indentation', 'refused', (d) => render(base(d)).replace('source: ', 'source:\n\t') ],
  ['a key given twice', 'refused', (d) => render(base(d)) + 'dataset: ohlcv\n'],
  ['an empty file', 'refused', () => ''],
  ['only a comment', 'refused', () => '# nothing here\n'],
  ['a list at the top', 'refused', () => '- dataset: ohlcv\n'],
  ['a scalar at the top', 'refused', () => 'ohlcv\n'],
  [
    'a billion laughs (aliases expanding to 9^7 nodes)',
    'refused',
    (d) =>
      render(base(d)) +
      ['a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`)].join('\n') +
      '\n',
  ],
  ['5,000 nested flow sequences', 'refused', (d) => render(base(d)) + `description: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
  ['random binary bytes', 'refused', () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256))],
  ['a NUL byte in a value', 'refused', (d) => render(base(d)).replace('transform: yahoo', 'transform: yah\0oo')],
  ['UTF-16 with a byte-order mark', 'refused', (d) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(render(base(d)), 'utf16le')])],
  ['a UTF-8 byte-order mark', 'runs', (d) => '\ufeff' + render(base(d))],
  ['CRLF line endings', 'runs', (d) => render(base(d)).replace(/\n/g, '\r\n')],
  ['a 1 MB comment', 'runs', (d) => render(base(d)) + `# ${'x'.repeat(1 << 20)}\n`],
  ['a merge key (<<), which YAML 1.2 does not have', 'refused', (d) => 'defaults: &d { dataset: ohlcv }\n' + render({ ...base(d), dataset: undefined, '<<': '*d' })],
  // The schema
  ['no dataset', 'refused', edit({ dataset: undefined })],
  ['no granularity', 'refused', edit({ granularity: undefined })],
  ['no source', 'refused', edit({ source: undefined })],
  ['no transform', 'refused', edit({ transform: undefined })],
  ['an unknown key', 'refused', edit({ schedule: 'daily' })],
  ['an unknown source key', 'refused', (d) => source(`name: fz, adapter: file, files: ['${d}/*.csv'], glob: yes`)(d)],
  ['an unknown dataset', 'refused', edit({ dataset: 'candles' })],
  ['a granularity that is a number', 'refused', edit({ granularity: '1' })],
  ['a granularity of 0d', 'refused', edit({ granularity: '0d' })],
  ['a granularity of 1x', 'refused', edit({ granularity: '1x' })],
  ['a granularity of 99999999999999999999d', 'refused', edit({ granularity: '99999999999999999999d' })],
  ['a granularity of 1.5d', 'refused', edit({ granularity: '1.5d' })],
  ['a granularity of -1d', 'refused', edit({ granularity: '-1d' })],
  ['a granularity of 1441m', 'refused', edit({ granularity: '1441m' })],
  ['minute bars from a layout of dates', 'refused', edit({ granularity: '1m' })],
  ['a source that is a string', 'refused', edit({ source: 'fz' })],
  ['files that is a string', 'refused', (d) => source(`name: fz, adapter: file, files: '${d}/*.csv'`)(d)],
  ['no files', 'refused', source(`name: fz, adapter: file, files: []`)],
  ['a file that is a number', 'refused', source(`name: fz, adapter: file, files: [123]`)],
  // Names
  ['a source name of 5,000 characters', 'refused', (d) => source(`name: ${'a'.repeat(5000)}, adapter: file, files: ['${d}/*.csv']`)(d)],
  ['an upper-case source name', 'refused', (d) => source(`name: FZ, adapter: file, files: ['${d}/*.csv']`)(d)],
  ['a source name that climbs out of the lake', 'refused', (d) => source(`name: '../fz', adapter: file, files: ['${d}/*.csv']`)(d)],
  ['a source name with a NUL', 'refused', (d) => source(`name: "f\\0z", adapter: file, files: ['${d}/*.csv']`)(d)],
  ['an empty source name', 'refused', (d) => source(`name: '', adapter: file, files: ['${d}/*.csv']`)(d)],
  ['a source name with a space', 'refused', (d) => source(`name: 'f z', adapter: file, files: ['${d}/*.csv']`)(d)],
  ['a name: that runs a command', 'refused', edit({ name: `'Evil Name;$(id).'` })],
  ['a name: of 65 characters', 'refused', edit({ name: 'n'.repeat(65) })],
  ['a good name:', 'runs', edit({ name: 'ok-name.v2' })],
  ['a file name that runs a command', 'refused', (d) => render(base(d)), 'Evil Name;$(id).yml'],
  ['a file name of 70 characters', 'refused', (d) => render(base(d)), `${'f'.repeat(70)}.yml`],
  ['a file name with a capital, and a good name:', 'runs', (d) => render({ name: 'from-name', ...base(d) }), 'Capital.yml'],
  // What the job names
  ['an unknown adapter', 'refused', (d) => source(`name: fz, adapter: ftp, files: ['${d}/*.csv']`)(d)],
  ['an endpoint on a file adapter', 'refused', (d) => source(`name: fz, adapter: file, endpoint: aggs, files: ['${d}/*.csv']`)(d)],
  ['an unknown transform', 'refused', edit({ transform: 'nope' })],
  ['a transform path that climbs out', 'refused', edit({ transform: '../../etc/passwd' })],
  ['a transform of another dataset', 'refused', edit({ transform: 'polygon-dividends' })],
  ['unknown validation rules', 'refused', edit({ validation: 'nope' })],
  ['validation rules of another dataset', 'refused', edit({ validation: 'tickers' })],
  ['an unknown calendar', 'refused', edit({ calendar: 'MARS' })],
  ['extended hours without a calendar', 'refused', edit({ calendar: undefined, extended_hours: 'true' })],
  ['extended hours as text', 'refused', edit({ extended_hours: 'sometimes' })],
  // Windows
  ['a window from month 13', 'refused', edit({ window: '{ from: 2024-13-01 }' })],
  ['a window that ends before it starts', 'refused', edit({ window: '{ from: 2024-02-01, to: 2024-01-01 }' })],
  ['a window from year 99999', 'refused', edit({ window: '{ from: 99999-01-01 }' })],
  ['a window with an unknown key', 'refused', edit({ window: '{ since: 2024-01-01 }' })],
  ['a good window', 'runs', edit({ window: '{ from: 2023-01-01, to: 2023-12-31 }' })],
  // Environment references
  ['an unset variable', 'refused', (d) => source(`name: fz, adapter: file, files: ['\${MDW_FUZZ_UNSET}/*.csv']`)(d)],
  ['an unclosed reference', 'refused', (d) => source(`name: fz, adapter: file, files: ['\${MDW_FUZZ_UNSET/*.csv']`)(d)],
  ['an empty reference', 'refused', (d) => source(`name: fz, adapter: file, files: ['\${}/*.csv']`)(d)],
  ['a reference to a name with a dash', 'refused', (d) => source(`name: fz, adapter: file, files: ['\${MDW-X}/*.csv']`)(d)],
  ['an unset variable with a default', 'runs', (d) => source(`name: fz, adapter: file, files: ['\${MDW_FUZZ_UNSET:-${d}}/*.csv']`)(d)],
  // Inputs the job names: the job is valid; what it reads is judged at ingest
  ['files that match nothing', 'runs', source(`name: fz, adapter: file, files: ['/nonexistent-mdw-fuzz/*.csv']`)],
  ['a system file as input', 'runs', source(`name: fz, adapter: file, files: ['/etc/passwd']`)],
  ['a folder as input', 'runs', source(`name: fz, adapter: file, files: ['/etc']`)],
  ['a description of 1 MB', 'runs', edit({ description: 'd'.repeat(1 << 20) })],
];

/** The corpus, cases numbered from 1 in the order above. */
export function jobCorpus(data: string): JobCase[] {
  return damages.map(([damage, expect, text, fileName], i) => {
    const content = text(data);
    return {
      id: i + 1,
      damage,
      fileName: fileName ?? `case-${i + 1}.yml`,
      bytes: typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
      expect,
    };
  });
}
