import { globSync } from 'tinyglobby';

/**
 * The files a job's path pattern matches (`*`, `?`, `[abc]`, `{a,b}`, `**`; `\` escapes), as
 * sorted absolute paths; `cwd` is the job file's folder. A pattern without wildcards gives the
 * file when it exists. Hidden files and folders match only where the pattern names the dot.
 * Symbolic links are followed, to files and to folders (`**` too; a loop is walked once).
 */
export function expandGlob(pattern: string, cwd: string): string[] {
  // expandDirectories off: a pattern naming a folder matches nothing, rather than all under it.
  return globSync(pattern, { cwd, absolute: true, onlyFiles: true, expandDirectories: false }).sort();
}
