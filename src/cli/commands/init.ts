import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { migrationStatus } from '../../catalog/migrate.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { homePaths, resolveSettings } from '../../core/settings.js';
import { withContext, type GlobalOptions } from '../run-command.js';

/**
 * Creates MDW_HOME (lake, quarantine, logs, tmp) and the catalog with its schema. On a terminal
 * it asks where and which catalog; with --yes or without a terminal it uses the flags and env.
 */
export async function initCommand(opts: GlobalOptions): Promise<number> {
  let home = opts.home;
  let databaseUrl = (opts.databaseUrl as string | undefined) ?? process.env.MDW_DATABASE_URL;
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.yes;
  if (interactive) {
    const answers = await ask(resolveSettings({ home }, process.env).home, databaseUrl);
    if (!answers) return ExitCode.usage;
    home = answers.home;
    databaseUrl = answers.databaseUrl;
  }
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new UsageError(`the database URL must start with postgres:// or postgresql://`);
  return withContext({ ...opts, home, databaseUrl }, 'mdw init', async (ctx) => {
    const paths = homePaths(ctx.settings.home);
    for (const dir of [paths.lake, paths.quarantine, paths.logs, paths.tmp, paths.run]) mkdirSync(dir, { recursive: true });
    const catalog = await ctx.catalog('mdw init');
    const migrations = await migrationStatus(catalog.sql);
    const where = catalog.kind === 'embedded' ? `embedded PGlite at ${paths.catalog}` : 'Postgres server from MDW_DATABASE_URL';
    const lines = [
      `warehouse  ${ctx.settings.home}`,
      `lake       ${paths.lake}`,
      `catalog    ${where} (schema mdw, ${migrations.filter((m) => m.appliedAt).length} migrations applied)`,
      `configs    ${ctx.settings.configDir}`,
      '',
      'next:',
      ...(path.resolve(ctx.settings.home) !== path.resolve('warehouse') ? [`  export MDW_HOME=${ctx.settings.home}`] : []),
      ...(catalog.kind === 'server' && opts.databaseUrl ? ['  export MDW_DATABASE_URL=<that URL> in the shell and the crontab that run mdw'] : []),
      '  mdw jobs list',
      '  mdw ingest <job>',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.ok;
  });
}

async function ask(defaultHome: string, databaseUrl: string | undefined): Promise<{ home: string; databaseUrl: string | undefined } | null> {
  const p = await import('@clack/prompts');
  p.intro('mdw init');
  const home = await p.text({ message: 'Where should the warehouse live (MDW_HOME)?', defaultValue: defaultHome, placeholder: defaultHome });
  if (p.isCancel(home)) return cancelled(p);
  const kind = await p.select({
    message: 'Which catalog?',
    initialValue: databaseUrl ? 'server' : 'embedded',
    options: [
      { value: 'embedded', label: 'embedded', hint: 'PGlite inside MDW_HOME, one mdw process at a time' },
      { value: 'server', label: 'Postgres server', hint: 'MDW_DATABASE_URL; many processes, backups by your DBA' },
    ],
  });
  if (p.isCancel(kind)) return cancelled(p);
  let url: string | undefined;
  if (kind === 'server') {
    const answer = await p.text({
      message: 'Postgres URL',
      defaultValue: databaseUrl,
      placeholder: databaseUrl ?? 'postgres://user@127.0.0.1:5432/mdw',
      validate: (v) => (v && !/^postgres(ql)?:\/\//.test(v) ? 'start with postgres://' : undefined),
    });
    if (p.isCancel(answer)) return cancelled(p);
    url = answer || databaseUrl;
  }
  const ok = await p.confirm({ message: `Create ${path.resolve(home || defaultHome)}?` });
  if (p.isCancel(ok) || !ok) return cancelled(p);
  p.outro('creating the warehouse');
  return { home: path.resolve(home || defaultHome), databaseUrl: url };
}

function cancelled(p: typeof import('@clack/prompts')): null {
  p.cancel('nothing was created');
  return null;
}
