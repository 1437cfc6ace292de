import { coverage, coverageColumns } from '../../catalog/coverage.js';
import { ExitCode } from '../../core/errors.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

export async function statusCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw status', async (ctx) => {
    requireHome(ctx);
    const { sql } = await ctx.catalog('mdw status');
    const out = await coverage(sql, { dataset: (opts.dataset as string | undefined) ?? null, source: (opts.source as string | undefined) ?? null }, ctx.clock.now());
    if (out.length === 0 && format === 'table') {
      process.stdout.write('The warehouse is empty: run `mdw ingest <job>` (see `mdw jobs list`).\n');
    } else {
      process.stdout.write(
        formatRecords(out as unknown as Record<string, Cell>[], coverageColumns, format),
      );
    }
    return ExitCode.ok;
  });
}
