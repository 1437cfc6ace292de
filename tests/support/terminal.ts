/**
 * What a terminal shows after a stream of text and the escape sequences progress displays use
 * (cursor moves, erase, cursor visibility; colours are dropped). A newline is a carriage return
 * and a line feed, as a terminal's onlcr makes it.
 */
export function screen(text: string): { lines: string[]; cursorVisible: boolean } {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let cursorVisible = true;
  const line = () => (lines[row] ??= []);
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch === '\x1b') {
      const m = /^\x1b\[(\??)([0-9;]*)([A-Za-z])/.exec(text.slice(i, i + 16));
      if (!m) throw new Error(`an escape sequence this screen does not know: ${JSON.stringify(text.slice(i, i + 8))}`);
      i += m[0].length;
      const n = m[2] === '' ? 1 : Number(m[2]!.split(';')[0]);
      switch (m[3]) {
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'B':
          row += n;
          break;
        case 'C':
          col += n;
          break;
        case 'D':
          col = Math.max(0, col - n);
          break;
        case 'G':
          col = n - 1;
          break;
        case 'J': // erase from the cursor to the end of the screen
          line().length = Math.min(line().length, col);
          lines.length = row + 1;
          break;
        case 'K':
          if (m[2] === '2') lines[row] = [];
          else line().length = Math.min(line().length, col);
          break;
        case 'h':
        case 'l':
          if (m[1] === '?' && m[2] === '25') cursorVisible = m[3] === 'h';
          break;
        case 'm':
          break;
        default:
          throw new Error(`an escape sequence this screen does not know: ${JSON.stringify(m[0])}`);
      }
      continue;
    }
    i++;
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
    } else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = ch;
    }
  }
  const out = lines.map((l) => (l ?? []).join('').trimEnd());
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return { lines: out, cursorVisible };
}
