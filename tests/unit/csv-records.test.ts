import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { profileCsv, type CsvLayout } from '../../src/adapters/file/csv-records.js';
import { referenceRecords } from '../support/csv-corpus.js';
import { removeDir, tempDir } from '../support/helpers.js';

const layout: CsvLayout = { delimiter: ',', quote: '"', skip: 0, header: true };
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
    expect(await profile('A,B,C\n1,2,3\n4,5,6\n')).toEqual({ quoted: true, records: 2 });
    expect(await profile('A,B,C\n1,2,3\n4,5,6')).toEqual({ quoted: true, records: 2 });
    expect(await profile('A,B,C\r\n1,2,3\r\n4,5,6\r\n')).toEqual({ quoted: true, records: 2 });
    expect(await profile('A,B,C\r\n1,2,3\r\n4,5,6')).toEqual({ quoted: true, records: 2 });
    expect(await profile('A,B,C')).toEqual({ quoted: true, records: 0 });
  });

  test('a BOM, skipped lines, empty lines (no record) and lines of blanks (a record each)', async () => {
    expect(await profile('\xef\xbb\xbfA,B,C\n1,2,3\n')).toMatchObject({ records: 1 });
    expect(await profile('junk "\nmore junk\nA,B,C\n1,2,3\n', { skip: 2 })).toMatchObject({ quoted: true, records: 1 });
    expect(await profile('A,B,C\n\n1,2,3\n\n\n4,5,6\n\n')).toMatchObject({ records: 2 });
    expect(await profile('A,B,C\r\n\r\n1,2,3\r\n \r\n\t\r\n')).toMatchObject({ records: 3 });
  });

  test('quoted fields: delimiters and line breaks inside, escaped quotes, a quote inside an unquoted field', async () => {
    expect(await profile('A,B,C\n"1,0",2,3\n"a\nb\n\nc",2,3\n"x""y",2,3\nab"c,2,3\n')).toEqual({ quoted: true, records: 4 });
  });

  test('a quote that never closes, or closes after a line break with text after it: the file is read line by line', async () => {
    expect(await profile('A,B,C\n1,2,3\n"4,5,6\n7,8,9\n')).toEqual({ quoted: false, records: 3 });
    expect(await profile('A,B,C\n"1,2,3\n4,"5",6\n7,8,9\n')).toEqual({ quoted: false, records: 3 });
    // Text after a closing quote within one line: DuckDB rejects that line alone.
    expect(await profile('A,B,C\n"1"x,2,3\n4,5,6\n')).toEqual({ quoted: true, records: 2 });
    // No quoting in the layout: quotes are text.
    expect(await profile('A,B,C\n"1,2,3\n4,5,6\n', { quote: '' })).toEqual({ quoted: false, records: 2 });
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
    expect(await profile(text)).toEqual({ quoted: true, records: expected });
    const crlf = text.replace(/\n/g, '\r\n');
    expect(await profile(crlf)).toEqual({ quoted: true, records: expected });
    expect(await profileCsv(file(gzipSync(Buffer.from(text)), 'big.csv.gz'), layout)).toEqual({ quoted: true, records: expected });
    // A stray quote near the end turns the whole file to lines.
    const stray = `${text}"1,2,3\n4,5,6\n`;
    expect(await profile(stray)).toEqual({ quoted: false, records: referenceRecords(Buffer.from(stray), 'x.csv') });
    expect(referenceRecords(Buffer.from(stray), 'x.csv')).toBe(text.split('\n').filter((l) => l).length - 1 + 2);
  });
});
