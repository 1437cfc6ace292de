import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { maxRecordBytes, profileCsv, repairCsv, type CsvLayout } from '../../src/sources/file/csv-records.js';
import { referenceRecords } from '../support/csv-corpus.js';
import { removeDir, tempDir } from '../support/helpers.js';

const layout: CsvLayout = { delimiter: ',', quote: '"', skip: 0, header: true, columns: 3 };
let dir: string;
let n = 0;

beforeAll(() => {
  dir = tempDir('mdw-csv-records-');
});

afterAll(() => removeDir(dir));

function file(content: string | Buffer, name = `f${n++}.csv`): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? Buffer.from(content, 'latin1') : content);
  return p;
}

const profile = (content: string | Buffer, l: Partial<CsvLayout> = {}) => profileCsv(file(content), { ...layout, ...l });

describe('profileCsv counts records as DuckDB splits them', () => {
  test('plain LF and CRLF files, with and without a final line end', async () => {
    expect(await profile('A,B,C\n1,2,3\n4,5,6\n')).toEqual({ crlf: false, quoted: true, records: 2, damage: [] });
    expect(await profile('A,B,C\n1,2,3\n4,5,6')).toEqual({ crlf: false, quoted: true, records: 2, damage: [] });
    expect(await profile('A,B,C\r\n1,2,3\r\n4,5,6\r\n')).toEqual({ crlf: true, quoted: true, records: 2, damage: [] });
    expect(await profile('A,B,C\r\n1,2,3\r\n4,5,6')).toEqual({ crlf: true, quoted: true, records: 2, damage: [] });
    expect(await profile('A,B,C')).toEqual({ crlf: false, quoted: true, records: 0, damage: [] });
  });

  test('a BOM, skipped lines, empty lines (no record) and lines of blanks (a record each)', async () => {
    expect(await profile('\xef\xbb\xbfA,B,C\n1,2,3\n')).toMatchObject({ records: 1 });
    expect(await profile('junk "\nmore junk\nA,B,C\n1,2,3\n', { skip: 2 })).toMatchObject({ quoted: true, records: 1 });
    expect(await profile('A,B,C\n\n1,2,3\n\n\n4,5,6\n\n')).toMatchObject({ records: 2 });
    expect(await profile('A,B,C\r\n\r\n1,2,3\r\n \r\n\t\r\n')).toMatchObject({ crlf: true, records: 3, damage: [] });
  });

  test('quoted fields: delimiters and line breaks inside, escaped quotes, a quote inside an unquoted field', async () => {
    expect(await profile('A,B,C\n"1,0",2,3\n"a\nb\n\nc",2,3\n"x""y",2,3\nab"c,2,3\n')).toEqual({ crlf: false, quoted: true, records: 4, damage: [] });
  });

  test('a quote that never closes, or closes after a line break with text after it: the file is read line by line', async () => {
    expect(await profile('A,B,C\n1,2,3\n"4,5,6\n7,8,9\n')).toEqual({ crlf: false, quoted: false, records: 3, damage: [] });
    expect(await profile('A,B,C\n"1,2,3\n4,"5",6\n7,8,9\n')).toEqual({ crlf: false, quoted: false, records: 3, damage: [] });
    // Text after a closing quote within one line: DuckDB rejects that line alone.
    expect(await profile('A,B,C\n"1"x,2,3\n4,5,6\n')).toEqual({ crlf: false, quoted: true, records: 2, damage: [] });
    // No quoting in the layout: quotes are text.
    expect(await profile('A,B,C\n"1,2,3\n4,5,6\n', { quote: '' })).toEqual({ crlf: false, quoted: false, records: 2, damage: [] });
  });

  test('what DuckDB cannot read as it is: a CR inside a line, mixed line ends, a line too long or too wide', async () => {
    expect(await profile('A,B,C\n1,2\r,3\n4,5,6\n')).toMatchObject({ records: 2, damage: ['stray_cr'] });
    expect(await profile('A,B,C\n1,2,3\r\n4,5,6\n')).toMatchObject({ crlf: false, records: 2, damage: ['mixed_line_ends'] });
    expect(await profile('A,B,C\n1,2,3\n4,5,6\r')).toMatchObject({ records: 2, damage: ['stray_cr'] });
    expect(await profile(`A,B,C\n1,2,${'9'.repeat(maxRecordBytes)}\n`)).toMatchObject({ records: 1, damage: ['long_record'] });
    expect(await profile(`A,B,C\n${'1,'.repeat(66)}1\n`)).toMatchObject({ records: 1, damage: [] });
    expect(await profile(`A,B,C\n${'1,'.repeat(67)}1\n${'1,'.repeat(65)}1\n`)).toMatchObject({ records: 2, damage: ['many_fields'] });
    expect(await profile(`A,B,C\n"${'1,'.repeat(70)}",2,3\n`)).toMatchObject({ records: 1, damage: [] });
  });

  test('records across the 1 MiB blocks the file is read in, quoted or not, as the reference count has them', async () => {
    const rows: string[] = ['A,B,C'];
    for (let i = 0; i < 60_000; i++) {
      if (i % 997 === 0) rows.push(`"multi\nline ${i}","a ""quoted"" one",${i}`);
      else if (i % 101 === 0) rows.push(`"${i},${i}",x,${i}`);
      else if (i % 89 === 0) rows.push('');
      else rows.push(`${i},${i * 2},${'x'.repeat(i % 40)}`);
    }
    const text = `${rows.join('\n')}\n`;
    const expected = referenceRecords(Buffer.from(text), 'big.csv');
    // 668 of the rows are empty lines (multiples of 89 that are not of 997 or 101).
    expect(expected).toBe(60_000 - 668);
    expect(await profile(text)).toEqual({ crlf: false, quoted: true, records: expected, damage: [] });
    const crlf = text.replace(/\n/g, '\r\n');
    expect(await profile(crlf)).toEqual({ crlf: true, quoted: true, records: expected, damage: [] });
    expect(await profileCsv(file(gzipSync(Buffer.from(text)), 'big.csv.gz'), layout)).toEqual({ crlf: false, quoted: true, records: expected, damage: [] });
    // A stray quote near the end turns the whole file to lines.
    const stray = `${text}"1,2,3\n4,5,6\n`;
    expect(await profile(stray)).toEqual({ crlf: false, quoted: false, records: referenceRecords(Buffer.from(stray), 'x.csv'), damage: [] });
    expect(referenceRecords(Buffer.from(stray), 'x.csv')).toBe(text.split('\n').filter((l) => l).length - 1 + 2);
  });
});

describe('repairCsv writes a copy DuckDB can read, line for line', () => {
  test('line ends become LF; a record with a CR inside, too long or too wide becomes empty lines and a reject', async () => {
    const long = '9'.repeat(maxRecordBytes + 10);
    const src = file(`\xef\xbb\xbfA,B,C\r\n1,2,3\r\n4,5\r6\n"7\r\n8",9,0\r\n\r\n1,2,${long}\r\n${'1,'.repeat(70)}1\n \r\nx,y,z`);
    const to = path.join(dir, 'copy.csv');
    const r = await repairCsv(src, layout, true, to);
    expect(r.records).toBe(7);
    expect(r.rejects).toEqual([
      { line: 3, raw: '4,5\r6', reason: 'CARRIAGE RETURN: a CR inside the line (a line ends in LF or CRLF)' },
      { line: 7, raw: `1,2,${long.slice(0, 1020)}… (${long.length + 4} bytes)`, reason: `LINE SIZE OVER MAXIMUM: ${long.length + 4} bytes, over the limit of ${maxRecordBytes}` },
      { line: 8, raw: `${'1,'.repeat(70)}1`, reason: 'TOO MANY COLUMNS: 71 fields where the header has 3' },
    ]);
    expect(readFileSync(to, 'latin1')).toBe('\xef\xbb\xbfA,B,C\n1,2,3\n\n"7\n8",9,0\n\n\n\n \nx,y,z\n');
    // The copy is clean, and holds as many records as the file (those left out aside).
    expect(await profileCsv(to, layout)).toEqual({ crlf: false, quoted: true, records: 4, damage: [] });
  });

  test('read without quoting, each line is a record: a stray quote swallows nothing', async () => {
    const src = file('A,B,C\n1,2,3\r\n"4,5,6\n7,\r8,9\n');
    const r = await repairCsv(src, layout, false, path.join(dir, 'copy2.csv'));
    expect(r).toEqual({ records: 3, rejects: [{ line: 4, raw: '7,\r8,9', reason: 'CARRIAGE RETURN: a CR inside the line (a line ends in LF or CRLF)' }] });
    expect(readFileSync(path.join(dir, 'copy2.csv'), 'latin1')).toBe('A,B,C\n1,2,3\n"4,5,6\n\n');
  });
});
