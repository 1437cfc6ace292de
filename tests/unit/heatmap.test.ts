import { describe, expect, test } from '@jest/globals';
import { crc32, inflateSync } from 'node:zlib';
import type { Completeness, Heatmap, HeatmapCell } from '../../src/audit/heatmap.js';
import { heatmapPngLayout, renderHeatmapHtml, renderHeatmapPng, renderHeatmapSvg, renderHeatmapText } from '../../src/audit/heatmap.js';

function cell(status: Completeness, present: number, expected: number): HeatmapCell {
  return { status, present, expected, ratio: expected === 0 ? 0 : present / expected };
}

const G = cell('GREEN', 20, 20);
const A = cell('AMBER', 19, 21);
const R = cell('RED', 0, 20);

/** 2 rows x 3 months; MSFT starts a month later than AAPL. */
const small: Heatmap = {
  title: 'ohlcv 1d stooq: completeness by month',
  rows: ['AAPL', 'MSFT polygon'],
  columns: ['2023-12', '2024-01', '2024-02'],
  cells: [
    [G, A, R],
    [null, G, A],
  ],
};

function months(from: string, count: number): string[] {
  const [year, month] = from.split('-').map(Number) as [number, number];
  return Array.from({ length: count }, (_, i) => {
    const m = year * 12 + (month - 1) + i;
    return `${Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, '0')}`;
  });
}

describe('heatmap as text', () => {
  test('without colour: a year header, one letter per month, a legend', () => {
    expect(renderHeatmapText(small, { color: false }).split('\n')).toEqual([
      'ohlcv 1d stooq: completeness by month',
      '              24',
      'AAPL         GAR',
      'MSFT polygon .GA',
      'G complete  A partial  R missing  . not expected',
      '',
    ]);
  });

  test('with colour: 24-bit blocks, a dim dot where nothing was expected, one escape per run', () => {
    const lines = renderHeatmapText(small, { color: true }).split('\n');
    const green = '\x1b[0;38;2;46;125;50m';
    const amber = '\x1b[0;38;2;249;168;37m';
    const red = '\x1b[0;38;2;198;40;40m';
    const dim = '\x1b[0;2m';
    expect(lines[2]).toBe(`AAPL         ${green}█${amber}█${red}█\x1b[0m`);
    expect(lines[3]).toBe(`MSFT polygon ${dim}·${green}█${amber}█\x1b[0m`);
    expect(lines[4]).toBe(`${green}█\x1b[0m complete  ${amber}█\x1b[0m partial  ${red}█\x1b[0m missing  ${dim}·\x1b[0m not expected`);
    const runs: Heatmap = { ...small, rows: ['X'], cells: [[G, G, G]] };
    expect(renderHeatmapText(runs, { color: true }).split('\n')[2]).toBe(`X ${green}███\x1b[0m`);
  });

  test('too many months for the width: the most recent ones are kept and the rest are counted', () => {
    const columns = months('2022-01', 30); // 2022-01 .. 2024-06
    const row = columns.map((month) => (month === '2023-01' ? R : month === '2024-06' ? A : month < '2023-01' ? null : G));
    const text = renderHeatmapText({ title: 't', rows: ['X'], columns, cells: [row] }, { color: false, width: 20 });
    expect(text.split('\n')).toEqual([
      't',
      '  2023        2024',
      `X R${'G'.repeat(16)}A`,
      '12 earlier months left out (2022-01..2022-12)',
      'G complete  A partial  R missing  . not expected',
      '',
    ]);
    expect(text.split('\n')[2]).toHaveLength(20);
    const one = renderHeatmapText({ title: 't', rows: ['X'], columns: columns.slice(0, 19), cells: [row.slice(0, 19)] }, { color: false, width: 20 });
    expect(one).toContain('\n1 earlier month left out (2022-01..2022-01)\n');
  });

  test('a year label needs room before the next year starts: full, two digits, or none', () => {
    const header = (columns: string[]): string => renderHeatmapText({ title: 't', rows: ['X'], columns, cells: [[]] }, { color: false }).split('\n')[1]!;
    expect(header(months('2023-11', 7))).toBe('    2024');
    expect(header(months('2023-10', 4))).toBe('  23');
    expect(header(months('2023-09', 8))).toBe('  23  2024');
    expect(header(months('2023-08', 9))).toBe('  2023 2024');
    expect(renderHeatmapText({ title: 't', rows: ['X'], columns: months('2023-11', 3), cells: [[]] }, { color: false })).toContain('\nX ...\n');
  });
});

function cellsGroup(svg: string): string {
  const start = svg.indexOf('<g class="cells">');
  return svg.slice(start, svg.indexOf('</g>', start));
}

describe('heatmap as SVG and HTML', () => {
  const tricky: Heatmap = {
    ...small,
    title: 'ohlcv <1d> & "stooq"',
    rows: ['A&B', 'MSFT'],
    cells: [
      [G, cell('AMBER', 20, 21), R],
      [null, G, A],
    ],
  };

  test('one rect per cell, coloured by status, with an escaped tooltip on each cell that expected data', () => {
    const svg = renderHeatmapSvg(tricky);
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" ')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const rects = [...cellsGroup(svg).matchAll(/<rect x="(\d+)" y="(\d+)" width="12" height="12" fill="(#[0-9a-f]{6})"(?:><title>(.*?)<\/title><\/rect>|\/>)/g)];
    expect(cellsGroup(svg).match(/<rect /g)).toHaveLength(6);
    expect(rects.map((m) => m[3])).toEqual(['#2e7d32', '#f9a825', '#c62828', '#e0e0e0', '#2e7d32', '#f9a825']);
    expect(rects.map((m) => m[4])).toEqual([
      'A&amp;B 2023-12: 20 of 20 sessions (100.0%)',
      'A&amp;B 2024-01: 20 of 21 sessions (95.2%)',
      'A&amp;B 2024-02: 0 of 20 sessions (0.0%)',
      undefined,
      'MSFT 2024-01: 20 of 20 sessions (100.0%)',
      'MSFT 2024-02: 19 of 21 sessions (90.5%)',
    ]);
    // Columns and rows step by the same pitch.
    expect(rects.map((m) => Number(m[1]) - Number(rects[0]![1]))).toEqual([0, 14, 28, 0, 14, 28]);
    expect(rects.map((m) => Number(m[2]) - Number(rects[0]![2]))).toEqual([0, 0, 0, 14, 14, 14]);
    expect(svg).toContain('<title>ohlcv &lt;1d&gt; &amp; &quot;stooq&quot;</title>');
    expect(svg).toContain('>A&amp;B</text>');
    const years = svg.slice(svg.indexOf('<g class="years">'), svg.indexOf('<g class="rows">'));
    expect([...years.matchAll(/>(\d+)<\/text>/g)].map((m) => m[1])).toEqual(['2024']); // 2023 has one column: no room
    expect(svg).toMatch(/>complete<\/text>[\s\S]*>partial<\/text>[\s\S]*>missing<\/text>/);
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
  });

  test('the tooltip names the unit when one is given', () => {
    expect(renderHeatmapSvg({ ...small, unit: 'bars' })).toContain('<title>AAPL 2024-01: 19 of 21 bars (90.5%)</title>');
  });

  test('the HTML page embeds the SVG and loads nothing from the network', () => {
    const html = renderHeatmapHtml(tricky);
    expect(html.startsWith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')).toBe(true);
    expect(html).toContain('<title>ohlcv &lt;1d&gt; &amp; &quot;stooq&quot;</title>');
    const svg = renderHeatmapSvg(tricky).replace('<?xml version="1.0" encoding="UTF-8"?>\n', '').trimEnd();
    expect(html).toContain(svg);
    expect(html).not.toContain('<?xml');
    expect(html.match(/https?:\/\/[^\s"'<>)]+/g)).toEqual(['http://www.w3.org/2000/svg']);
    expect(html).not.toMatch(/<script|<link|@import|url\(/);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });
});

interface Chunk {
  readonly type: string;
  readonly data: Buffer;
  readonly crc: number;
}

function chunks(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    out.push({ type, data: png.subarray(at + 8, at + 8 + length), crc: png.readUInt32BE(at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

function decode(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => number[] } {
  const all = chunks(png);
  const ihdr = all[0]!.data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const raw = inflateSync(Buffer.concat(all.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  expect(raw).toHaveLength(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) expect(raw[y * (1 + 3 * width)]).toBe(0);
  const pixel = (x: number, y: number): number[] => {
    const at = y * (1 + 3 * width) + 1 + x * 3;
    return [raw[at]!, raw[at + 1]!, raw[at + 2]!];
  };
  return { width, height, pixel };
}

describe('heatmap as PNG', () => {
  test('a valid PNG: signature, RGB 8-bit header, chunks whose CRCs verify', () => {
    const png = renderHeatmapPng(small);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const all = chunks(png);
    expect(all[0]!.type).toBe('IHDR');
    expect(all.at(-1)!.type).toBe('IEND');
    expect(all.slice(1, -1).every((c) => c.type === 'IDAT')).toBe(true);
    for (const c of all) expect(c.crc).toBe(crc32(Buffer.concat([Buffer.from(c.type, 'latin1'), c.data])));
    expect([...all[0]!.data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
  });

  test('the layout: labels 12 characters wide, three 11px columns, the legend sets the width', () => {
    const layout = heatmapPngLayout(small);
    // margin 4 + 12 chars * 6px + 3; title 7px + 4 gap; years 7px + 3; two rows of 11px + 4; legend 7px + margin 4
    expect(layout).toMatchObject({ gridX: 79, gridY: 25, pitch: 11, cell: 10, legendY: 51, width: 272, height: 62 });
    const wide = heatmapPngLayout({ ...small, columns: months('2021-01', 40), cells: [[], []] });
    expect(wide.width).toBe(79 + 40 * 11 - 1 + 4);
    const png = decode(renderHeatmapPng(small));
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
  });

  test('cells are filled squares in the status colour, with a white gap; the title is drawn in the built-in font', () => {
    const { gridX, gridY, pitch, cell } = heatmapPngLayout(small);
    const png = decode(renderHeatmapPng(small));
    const centre = (row: number, column: number): number[] => png.pixel(gridX + column * pitch + cell / 2, gridY + row * pitch + cell / 2);
    expect(centre(0, 0)).toEqual([0x2e, 0x7d, 0x32]);
    expect(centre(0, 1)).toEqual([0xf9, 0xa8, 0x25]);
    expect(centre(0, 2)).toEqual([0xc6, 0x28, 0x28]);
    expect(centre(1, 0)).toEqual([0xe0, 0xe0, 0xe0]);
    expect(png.pixel(gridX + cell, gridY + 5)).toEqual([255, 255, 255]);
    expect(png.pixel(gridX + 2 * pitch + cell - 1, gridY + cell - 1)).toEqual([0xc6, 0x28, 0x28]);
    // 'o' is drawn as 'O', whose top row is .###.
    expect([4, 5, 6, 7, 8].map((x) => png.pixel(x, 4)[0])).toEqual([255, 0x21, 0x21, 0x21, 255]);
  });
});
