import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expandGlob } from '../../src/core/glob.js';
import { removeDir, tempDir } from '../support/helpers.js';

/** A job folder beside the data, as a job's `source.files` sees it. */
let root: string;
let jobs: string;
const at = (...names: string[]) => names.map((n) => path.join(root, n));

beforeAll(() => {
  root = tempDir();
  jobs = path.join(root, 'jobs');
  for (const file of ['a/x.csv', 'a/notes.txt', 'b/y.csv', 'c/z.csv', 'data[1].csv', 'data1.csv', '.hidden/h.csv', 'sub/deep/s.csv', 'jobs/j.yml']) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), 'Date,Close\n');
  }
  symlinkSync(path.join(root, 'a', 'x.csv'), path.join(root, 'link.csv'));
});
afterAll(() => removeDir(root));

describe('expandGlob', () => {
  test('braces pick folders', () => {
    expect(expandGlob('{a,b}/*.csv', root)).toEqual(at('a/x.csv', 'b/y.csv'));
    expect(expandGlob('../{a,c}/*.csv', jobs)).toEqual(at('a/x.csv', 'c/z.csv'));
  });

  test('an escaped bracket matches itself; an unescaped one is a character class', () => {
    expect(expandGlob('data\\[1\\].csv', root)).toEqual(at('data[1].csv'));
    expect(expandGlob('data[0-9].csv', root)).toEqual(at('data1.csv'));
  });

  test('** does not enter a hidden folder; a pattern that names the dot does', () => {
    expect(expandGlob('**/*.csv', root)).toEqual(at('a/x.csv', 'b/y.csv', 'c/z.csv', 'data1.csv', 'data[1].csv', 'link.csv', 'sub/deep/s.csv'));
    expect(expandGlob('.hidden/*.csv', root)).toEqual(at('.hidden/h.csv'));
  });

  test('a plain path gives the file when it exists, relative to the job folder or absolute', () => {
    expect(expandGlob('../a/x.csv', jobs)).toEqual(at('a/x.csv'));
    expect(expandGlob(path.join(root, 'sub', 'deep', 's.csv'), jobs)).toEqual(at('sub/deep/s.csv'));
    expect(expandGlob('link.csv', root)).toEqual(at('link.csv'));
  });

  test('no match gives an empty list: a missing file, a pattern that matches nothing, a folder', () => {
    expect(expandGlob('a/missing.csv', root)).toEqual([]);
    expect(expandGlob('nothing/*.csv', root)).toEqual([]);
    expect(expandGlob('*.parquet', root)).toEqual([]);
    expect(expandGlob('../sub', jobs)).toEqual([]);
  });
});
