import { rmSync } from 'node:fs';
import path from 'node:path';
import { resolveBackup, tempName } from '../../backup/backup-folder.js';
import { restoreBackup, type RestoreReport } from '../../backup/restore.js';
import { runBackup } from '../../backup/run-backup.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { formatRecords, resolveFormat, type Format } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

/** `mdw backup --to DIR`: a consistent snapshot of the warehouse in a new folder of DIR; older ones beyond --keep removed. */
export async function backupCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  if (!opts.to) throw new UsageError('name the folder that holds the backups: mdw backup --to /srv/mdw/backups');
  return withContext(opts, 'mdw backup', async (ctx) => {
    requireHome(ctx);
    const r = await runBackup(ctx, { to: String(opts.to), keep: opts.keep as number, raw: Boolean(opts.raw) });
    ctx.progress.done();
    ctx.logger.info(
      `backup: ${r.dir}: ${r.catalogRows} catalog rows of ${r.tables} tables, ${r.files} files (${r.linked} hard-linked, ${r.copied} copied), ${r.bytes} bytes` +
        (r.removed.length ? `; removed ${r.removed.length} older (--keep ${String(opts.keep)})` : ''),
    );
    process.stdout.write(
      formatRecords(
        [{ backup: r.dir, tables: r.tables, catalog_rows: r.catalogRows, files: r.files, bytes: r.bytes, linked: r.linked, copied: r.copied, removed: r.removed.join(' ') }],
        ['backup', 'tables', 'catalog_rows', 'files', 'bytes', 'linked', 'copied', 'removed'],
        format,
      ),
    );
    return ExitCode.ok;
  });
}

/** `mdw restore DIR --home NEW [--database-url URL]`: the backup into a new warehouse, then checked. */
export async function restoreCommand(opts: GlobalOptions, dir: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  if (!opts.home && !process.env.MDW_HOME) throw new UsageError('name the new warehouse to restore into: mdw restore <backup> --home /srv/mdw/restored');
  const backup = resolveBackup(dir);
  // The catalog is the one named here or the embedded one: never MDW_DATABASE_URL, which names the live warehouse's.
  const env = { ...process.env, MDW_DATABASE_URL: undefined };
  return withContext(
    opts,
    'mdw restore',
    async (ctx) => {
      const report = await restoreBackup(ctx, backup);
      ctx.progress.done();
      return finish(report, format, (m) => ctx.logger.info(m), (m) => ctx.logger.error(m), 'restore');
    },
    { env },
  );
}

/** `mdw backup verify [DIR]`: the newest backup in DIR (or the one named) restored into a temporary home and audited; removed after. */
export async function backupVerifyCommand(opts: GlobalOptions, dir: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const backup = resolveBackup(dir);
  // Beside the backup, so that the restore hard-links instead of copying the lake.
  const home = path.join(path.dirname(backup.dir), tempName('verify', backup.name, process.pid));
  const env = { ...process.env, MDW_DATABASE_URL: undefined, MDW_HOME: undefined };
  try {
    return await withContext(
      { ...opts, home, databaseUrl: undefined },
      'mdw backup verify',
      async (ctx) => {
        const report = await restoreBackup(ctx, backup);
        ctx.progress.done();
        return finish(report, format, (m) => ctx.logger.info(m), (m) => ctx.logger.error(m), 'verify');
      },
      { env, fileLog: false },
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function finish(r: RestoreReport, format: Format, info: (m: string) => void, error: (m: string) => void, what: 'restore' | 'verify'): number {
  const restored = r.files > 0 || r.catalogRows > 0;
  if (r.problems.length === 0) {
    info(
      `${what}: ${r.backup} is sound: every file matches its sha256, ${r.catalogRows} catalog rows loaded (${r.catalog}), ` +
        `${r.files} files (${r.linked} hard-linked, ${r.copied} copied), integrity clean in ${r.series} series` +
        (what === 'restore' ? `; the warehouse is ${r.home} (its configs in ${path.join(r.home, 'configs')})` : ''),
    );
  } else {
    error(
      `${what}: ${r.backup}: ${r.problems.length} problem(s): ${r.problems.slice(0, 5).map((p) => `${p.file} (${p.problem})`).join(', ')}${r.problems.length > 5 ? ', ...' : ''}` +
        (restored ? '' : '; the backup is damaged and was not restored'),
    );
  }
  if (r.problems.length > 0) process.stdout.write(formatRecords(r.problems.map((p) => ({ ...p })), ['file', 'problem', 'detail'], format));
  return r.problems.length === 0 ? ExitCode.ok : ExitCode.failed;
}
