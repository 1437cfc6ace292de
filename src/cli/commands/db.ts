import { migrationStatus } from '../../catalog/migrate.js';
import { ExitCode } from '../../core/errors.js';
import { formatRecords, resolveFormat } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

export async function dbMigrateCommand(opts: GlobalOptions): Promise<number> {
  return withContext(opts, 'mdw db migrate', async (ctx) => {
    // Opening the catalog applies whatever is pending.
    requireHome(ctx);
    const catalog = await ctx.catalog('mdw db migrate');
    const status = await migrationStatus(catalog.sql);
    process.stdout.write(`catalog (${catalog.kind}) is at migration ${status.filter((m) => m.appliedAt).length} of ${status.length}\n`);
    return ExitCode.ok;
  });
}

export async function dbStatusCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw db status', async (ctx) => {
    requireHome(ctx);
    const catalog = await ctx.catalog('mdw db status');
    const rows = (await migrationStatus(catalog.sql)).map((m) => ({ ...m, applied_at: m.appliedAt }));
    process.stdout.write(formatRecords(rows, ['version', 'name', 'applied_at'], format));
    return ExitCode.ok;
  });
}
