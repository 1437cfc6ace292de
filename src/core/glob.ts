import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Expands a path pattern with `*`, `?`, `[abc]` and `**` (any depth) into the files it matches,
 * sorted. A pattern without wildcards is returned as is when the file exists. Node 20 has no
 * fs.glob, and this is all a job's file list needs.
 */
export function expandGlob(pattern: string, cwd: string): string[] {
  const absolute = path.resolve(cwd, pattern);
  const segments = absolute.split(path.sep);
  const firstWild = segments.findIndex((s) => /[*?[]/.test(s));
  if (firstWild < 0) return isFile(absolute) ? [absolute] : [];
  const root = segments.slice(0, firstWild).join(path.sep) || path.sep;
  const out: string[] = [];
  walk(root, segments.slice(firstWild), out);
  return [...new Set(out)].sort();
}

function walk(dir: string, rest: string[], out: string[]): void {
  const [head, ...tail] = rest;
  if (head === undefined) return;
  if (head === '**') {
    walk(dir, tail, out);
    for (const entry of list(dir)) if (entry.isDirectory()) walk(path.join(dir, entry.name), rest, out);
    return;
  }
  const re = segmentRegex(head);
  for (const entry of list(dir)) {
    if (!re.test(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (tail.length === 0) {
      if (entry.isFile() || (entry.isSymbolicLink() && isFile(full))) out.push(full);
    } else if (entry.isDirectory() || entry.isSymbolicLink()) {
      walk(full, tail, out);
    }
  }
}

function list(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${segment.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  // Hidden files only match a pattern that names the dot.
  return new RegExp(`^${segment.startsWith('.') ? '' : '(?!\\.)'}${re}$`);
}
