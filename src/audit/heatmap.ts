import { crc32, deflateSync } from 'node:zlib';

/** How much of a month's expected data a series holds; the caller picks the thresholds. */
export type Completeness = 'GREEN' | 'AMBER' | 'RED';

export interface HeatmapCell {
  readonly status: Completeness;
  /** bars (or sessions) present / expected in the month, 0..1 */
  readonly ratio: number;
  readonly expected: number;
  readonly present: number;
}

export interface Heatmap {
  readonly title: string;
  readonly rows: readonly string[];
  /** 'YYYY-MM', ascending, contiguous */
  readonly columns: readonly string[];
  /** cells[row][column]; null where nothing was expected (before a series starts, after it ends) */
  readonly cells: readonly (readonly (HeatmapCell | null)[])[];
  /** what `expected` and `present` count, for tooltips; 'sessions' unless told */
  readonly unit?: string;
}

export interface HeatmapTextOptions {
  readonly color: boolean;
  /** terminal columns; the most recent months that fit are shown (default 120) */
  readonly width?: number;
}

type Rgb = readonly [number, number, number];

interface Look {
  readonly hex: string;
  readonly letter: string;
  readonly meaning: string;
}

// One table for every renderer, so the terminal, the SVG and the PNG agree on colours and words.
const looks: Record<Completeness, Look> = {
  GREEN: { hex: '#2e7d32', letter: 'G', meaning: 'complete' },
  AMBER: { hex: '#f9a825', letter: 'A', meaning: 'partial' },
  RED: { hex: '#c62828', letter: 'R', meaning: 'missing' },
};
const blank: Look = { hex: '#e0e0e0', letter: '.', meaning: 'not expected' };
const legendLooks: readonly Look[] = [looks.GREEN, looks.AMBER, looks.RED, blank];
const ink = '#212121';

function lookOf(cell: HeatmapCell | null): Look {
  return cell ? looks[cell.status] : blank;
}

function cellAt(h: Heatmap, row: number, column: number): HeatmapCell | null {
  return h.cells[row]?.[column] ?? null;
}

function longest(labels: readonly string[]): number {
  return labels.reduce((max, label) => Math.max(max, [...label].length), 0);
}

interface YearMark {
  readonly column: number;
  readonly text: string;
}

/**
 * Where each year starts (and at the first column), labelled with the full year when it fits
 * before the next year starts with a character to spare, else its last two digits, else nothing.
 */
function yearMarks(columns: readonly string[], charsFitting: (span: number) => number): YearMark[] {
  const starts = columns.flatMap((month, i) => (i === 0 || month.slice(0, 4) !== columns[i - 1]!.slice(0, 4) ? [i] : []));
  return starts.flatMap((column, k) => {
    const next = starts[k + 1];
    const room = charsFitting((next ?? columns.length) - column) - (next === undefined ? 0 : 1);
    const year = columns[column]!.slice(0, 4);
    const text = room >= 4 ? year : room >= 2 ? year.slice(2) : '';
    return text ? [{ column, text }] : [];
  });
}

function tooltip(h: Heatmap, row: number, column: number, cell: HeatmapCell): string {
  const percent = (cell.ratio * 100).toFixed(1);
  return `${h.rows[row]} ${h.columns[column]}: ${cell.present} of ${cell.expected} ${h.unit ?? 'sessions'} (${percent}%)`;
}

// ---------------------------------------------------------------- text

// Each escape starts with a reset (0;) so that a dim '·' never leaks into the next block.
function sgr(look: Look): string {
  if (look === blank) return '\x1b[0;2m';
  const [r, g, b] = rgbOf(look.hex);
  return `\x1b[0;38;2;${r};${g};${b}m`;
}

function paint(cells: readonly (HeatmapCell | null)[], color: boolean): string {
  if (!color) return cells.map((cell) => lookOf(cell).letter).join('');
  let out = '';
  let current = '';
  for (const cell of cells) {
    const escape = sgr(lookOf(cell));
    if (escape !== current) out += escape;
    current = escape;
    out += cell ? '█' : '·';
  }
  return out && `${out}\x1b[0m`;
}

export function renderHeatmapText(h: Heatmap, options: HeatmapTextOptions): string {
  const labelWidth = longest(h.rows);
  const room = Math.max(1, (options.width ?? 120) - labelWidth - 1);
  const skipped = Math.max(0, h.columns.length - room);
  const shown = h.columns.slice(skipped);
  const header = shown.map(() => ' ');
  for (const mark of yearMarks(shown, (span) => span)) header.splice(mark.column, mark.text.length, ...mark.text);
  const lines = [h.title, `${' '.repeat(labelWidth + 1)}${header.join('')}`.trimEnd()];
  h.rows.forEach((row, r) => {
    const cells = shown.map((_, i) => cellAt(h, r, skipped + i));
    lines.push(`${row}${' '.repeat(labelWidth - [...row].length)} ${paint(cells, options.color)}`);
  });
  if (skipped > 0) {
    lines.push(`${skipped} earlier month${skipped === 1 ? '' : 's'} left out (${h.columns[0]}..${h.columns[skipped - 1]})`);
  }
  const key = (look: Look): string => (options.color ? `${sgr(look)}${look === blank ? '·' : '█'}\x1b[0m` : look.letter);
  lines.push(legendLooks.map((look) => `${key(look)} ${look.meaning}`).join('  '));
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- svg

const svgGeometry = { margin: 8, cell: 12, pitch: 14, charWidth: 6.6, titleHeight: 24, yearHeight: 16 } as const;

function escapeXml(text: string): string {
  const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  return text.replace(/[&<>"']/g, (ch) => entities[ch]!);
}

/** The <svg> element alone, so that the HTML page can embed it without an XML declaration. */
function svgElement(h: Heatmap): string {
  const { margin, cell, pitch, charWidth } = svgGeometry;
  const gridX = margin + Math.ceil(longest(h.rows) * charWidth) + 8;
  const gridY = margin + svgGeometry.titleHeight + svgGeometry.yearHeight;
  const legendY = gridY + h.rows.length * pitch + 10;
  const legendItems = legendLooks.map((look) => ({ look, width: cell + 6 + Math.ceil(look.meaning.length * charWidth) + 16 }));
  const legendWidth = legendItems.reduce((sum, item) => sum + item.width, 0);
  const width = Math.max(gridX + h.columns.length * pitch + margin, 2 * margin + Math.ceil(h.title.length * 8.4), 2 * margin + legendWidth);
  const height = legendY + cell + margin;

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11" fill="${ink}">`,
    `<title>${escapeXml(h.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin}" y="${margin + 14}" font-size="14" font-weight="bold">${escapeXml(h.title)}</text>`,
    '<g class="years">',
    ...yearMarks(h.columns, (span) => Math.floor((span * pitch) / charWidth)).map(
      (mark) => `<text x="${gridX + mark.column * pitch}" y="${gridY - 5}">${mark.text}</text>`,
    ),
    '</g>',
    '<g class="rows">',
    ...h.rows.map((row, r) => `<text x="${margin}" y="${gridY + r * pitch + cell - 2}">${escapeXml(row)}</text>`),
    '</g>',
    '<g class="cells">',
  ];
  h.rows.forEach((_, r) => {
    h.columns.forEach((_, c) => {
      const value = cellAt(h, r, c);
      const rect = `<rect x="${gridX + c * pitch}" y="${gridY + r * pitch}" width="${cell}" height="${cell}" fill="${lookOf(value).hex}"`;
      out.push(value ? `${rect}><title>${escapeXml(tooltip(h, r, c, value))}</title></rect>` : `${rect}/>`);
    });
  });
  out.push('</g>', '<g class="legend">');
  let x = margin;
  for (const { look, width: itemWidth } of legendItems) {
    out.push(`<rect x="${x}" y="${legendY}" width="${cell}" height="${cell}" fill="${look.hex}"/>`);
    out.push(`<text x="${x + cell + 6}" y="${legendY + cell - 2}">${look.meaning}</text>`);
    x += itemWidth;
  }
  out.push('</g>', '</svg>');
  return out.join('\n');
}

export function renderHeatmapSvg(h: Heatmap): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svgElement(h)}\n`;
}

// ---------------------------------------------------------------- html

export function renderHeatmapHtml(maps: Heatmap | readonly Heatmap[], pageTitle?: string): string {
  const list: readonly Heatmap[] = Array.isArray(maps) ? maps : [maps as Heatmap];
  const title = pageTitle ?? list[0]?.title ?? 'completeness';
  const unit = escapeXml(list[0]?.unit ?? 'sessions');
  const one = list.length === 1;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    `<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:${ink}}svg{display:block;max-width:100%;height:auto;margin-bottom:1.5rem}p{max-width:48rem}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeXml(title)}</h1>`,
    ...list.flatMap((h) => (one ? [svgElement(h)] : [`<h2>${escapeXml(h.title)}</h2>`, svgElement(h)])),
    `<p>One row per series, one column per month. Each cell compares the ${unit} present with the ${unit} the trading calendar expects:`,
    `green is complete, amber partial, red missing; grey where nothing was expected (before a series starts or after it ends).`,
    `Hover over a cell for its counts.</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- png

/** Where the PNG renderer puts things, in pixels; exported so that callers and tests can find a cell. */
export interface HeatmapPngLayout {
  readonly width: number;
  readonly height: number;
  readonly titleY: number;
  readonly yearY: number;
  /** left edge of column 0 and top edge of row 0 */
  readonly gridX: number;
  readonly gridY: number;
  readonly cell: number;
  /** distance between the left (top) edges of neighbouring cells: the cell plus a 1px gap */
  readonly pitch: number;
  readonly legendY: number;
}

const pngGeometry = { margin: 4, cell: 10, pitch: 11, advance: 6, glyphHeight: 7, gap: 4 } as const;

function textWidth(text: string): number {
  const chars = [...text].length;
  return chars === 0 ? 0 : chars * pngGeometry.advance - 1;
}

function pngLegend(): readonly { readonly look: Look; readonly text: string; readonly width: number }[] {
  return legendLooks.map((look) => {
    const text = look.meaning.toUpperCase();
    return { look, text, width: pngGeometry.glyphHeight + 3 + textWidth(text) + 8 };
  });
}

export function heatmapPngLayout(h: Heatmap): HeatmapPngLayout {
  const { margin, cell, pitch, glyphHeight, gap, advance } = pngGeometry;
  const titleY = margin;
  const yearY = titleY + glyphHeight + gap;
  const gridX = margin + longest(h.rows) * advance + (h.rows.length > 0 ? 3 : 0);
  const gridY = yearY + glyphHeight + 3;
  const legendY = gridY + h.rows.length * pitch + gap;
  // Each legend item's width includes the space before the next one, which the last one does not need.
  const legendWidth = pngLegend().reduce((sum, item) => sum + item.width, -8);
  const width = Math.max(gridX + h.columns.length * pitch - 1 + margin, 2 * margin + textWidth(h.title), 2 * margin + legendWidth);
  return { width, height: legendY + glyphHeight + margin, titleY, yearY, gridX, gridY, cell, pitch, legendY };
}

interface Raster {
  readonly width: number;
  readonly height: number;
  /** RGB, row after row */
  readonly pixels: Uint8Array;
}

function rgbOf(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function fill(img: Raster, x: number, y: number, w: number, h: number, rgb: Rgb): void {
  for (let yy = Math.max(0, y); yy < Math.min(img.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(img.width, x + w); xx++) img.pixels.set(rgb, (yy * img.width + xx) * 3);
  }
}

function drawText(img: Raster, x: number, y: number, text: string, rgb: Rgb): void {
  [...text].forEach((ch, i) => {
    const rows = glyphs.get(ch.toUpperCase()) ?? glyphs.get('?')!;
    rows.forEach((bits, dy) => {
      for (let dx = 0; dx < 5; dx++) if (bits & (0x10 >> dx)) fill(img, x + i * pngGeometry.advance + dx, y + dy, 1, 1, rgb);
    });
  });
}

export function renderHeatmapPng(h: Heatmap): Buffer {
  const layout = heatmapPngLayout(h);
  const img: Raster = { width: layout.width, height: layout.height, pixels: new Uint8Array(layout.width * layout.height * 3).fill(0xff) };
  const text = rgbOf(ink);
  const { gridX, gridY, pitch, cell } = layout;
  drawText(img, pngGeometry.margin, layout.titleY, h.title, text);
  for (const mark of yearMarks(h.columns, (span) => Math.floor((span * pitch + 1) / pngGeometry.advance))) {
    drawText(img, gridX + mark.column * pitch, layout.yearY, mark.text, text);
  }
  h.rows.forEach((row, r) => {
    drawText(img, pngGeometry.margin, gridY + r * pitch + Math.floor((cell - pngGeometry.glyphHeight) / 2), row, text);
    h.columns.forEach((_, c) => fill(img, gridX + c * pitch, gridY + r * pitch, cell, cell, rgbOf(lookOf(cellAt(h, r, c)).hex)));
  });
  let x = pngGeometry.margin;
  for (const item of pngLegend()) {
    fill(img, x, layout.legendY, pngGeometry.glyphHeight, pngGeometry.glyphHeight, rgbOf(item.look.hex));
    drawText(img, x + pngGeometry.glyphHeight + 3, layout.legendY, item.text, text);
    x += item.width;
  }
  return encodePng(img);
}

// A minimal encoder: 8-bit RGB, no interlace, filter 0 on every scanline; zlib does the rest.
function encodePng(img: Raster): Buffer {
  const stride = img.width * 3;
  const raw = Buffer.alloc(img.height * (stride + 1));
  for (let y = 0; y < img.height; y++) raw.set(img.pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(img.width, 0);
  header.writeUInt32BE(img.height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(typed.length + 8);
  out.writeUInt32BE(data.length, 0);
  typed.copy(out, 4);
  out.writeUInt32BE(crc32(typed), typed.length + 4);
  return out;
}

/**
 * 5x7 glyphs, one string per glyph: seven rows, top first, as hex of five bits (0x10 is the
 * leftmost pixel). Built in so that the PNG needs no fonts on the machine; lowercase is drawn
 * as uppercase and anything else as '?'.
 */
const font: Record<string, string> = {
  A: '0e 11 11 1f 11 11 11', B: '1e 11 11 1e 11 11 1e', C: '0e 11 10 10 10 11 0e', D: '1c 12 11 11 11 12 1c',
  E: '1f 10 10 1e 10 10 1f', F: '1f 10 10 1e 10 10 10', G: '0e 11 10 17 11 11 0f', H: '11 11 11 1f 11 11 11',
  I: '0e 04 04 04 04 04 0e', J: '07 02 02 02 02 12 0c', K: '11 12 14 18 14 12 11', L: '10 10 10 10 10 10 1f',
  M: '11 1b 15 15 11 11 11', N: '11 11 19 15 13 11 11', O: '0e 11 11 11 11 11 0e', P: '1e 11 11 1e 10 10 10',
  Q: '0e 11 11 11 15 12 0d', R: '1e 11 11 1e 14 12 11', S: '0f 10 10 0e 01 01 1e', T: '1f 04 04 04 04 04 04',
  U: '11 11 11 11 11 11 0e', V: '11 11 11 11 11 0a 04', W: '11 11 11 15 15 15 0a', X: '11 11 0a 04 0a 11 11',
  Y: '11 11 0a 04 04 04 04', Z: '1f 01 02 04 08 10 1f',
  0: '0e 11 13 15 19 11 0e', 1: '04 0c 04 04 04 04 0e', 2: '0e 11 01 02 04 08 1f', 3: '1f 02 04 02 01 11 0e',
  4: '02 06 0a 12 1f 02 02', 5: '1f 10 1e 01 01 11 0e', 6: '06 08 10 1e 11 11 0e', 7: '1f 01 02 04 08 08 08',
  8: '0e 11 11 0e 11 11 0e', 9: '0e 11 11 0f 01 02 0c',
  ' ': '00 00 00 00 00 00 00', '-': '00 00 00 1f 00 00 00', '.': '00 00 00 00 00 0c 0c', '/': '00 01 02 04 08 10 00',
  ':': '00 0c 0c 00 0c 0c 00', '(': '02 04 08 08 08 04 02', ')': '08 04 02 02 02 04 08', '%': '18 19 02 04 08 13 03',
  _: '00 00 00 00 00 00 1f', '?': '0e 11 01 02 04 00 04', '&': '0c 12 14 08 15 12 0d', '^': '04 0a 11 00 00 00 00',
  '=': '00 00 1f 00 1f 00 00', ',': '00 00 00 00 0c 04 08', '+': '00 04 04 1f 04 04 00', '!': '04 04 04 04 04 00 04',
};

const glyphs: ReadonlyMap<string, readonly number[]> = new Map(
  Object.entries(font).map(([ch, rows]) => [ch, rows.split(' ').map((row) => Number.parseInt(row, 16))]),
);
