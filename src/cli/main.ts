import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode, MdwError, errorMessage } from '../core/errors.js';
import type { GlobalOptions } from './run-command.js';

/**
 * The mdw command line. Commands are declared here so that --help knows them all; each one's
 * code is imported only when it runs. Only this module ends the process.
 */
export async function main(argv: readonly string[]): Promise<void> {
  // `mdw ... | head` closes the pipe early: that is the reader's choice, not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ok);
    throw err;
  });
  const program = buildProgram();
  let code: number = ExitCode.ok;
  try {
    await program.parseAsync(argv as string[]);
    code = Number(process.exitCode ?? 0);
  } catch (err) {
    code = exitCodeFor(err);
  }
  process.exitCode = code;
}

function exitCodeFor(err: unknown): number {
  if (isBrokenPipe(err)) return ExitCode.ok;
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; usage mistakes are exit 2 (commander printed why).
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (err instanceof MdwError) {
    process.stderr.write(`mdw: ${err.message}\n`);
    return err.exitCode;
  }
  // One line (DuckDB appends the query and a caret); -v logs the whole message.
  process.stderr.write(`mdw: ${errorMessage(err).split('\n')[0]!.trim()}\n`);
  return ExitCode.failed;
}

function isBrokenPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'EPIPE' || /Broken pipe/.test(errorMessage(err));
}

const formatHelp = 'output format: table, csv, json, ndjson (default: table on a terminal, csv when piped)';

function buildProgram(): Command {
  const program = new Command('mdw')
    .description('Market-data warehouse: fetch, validate and store market data as partitioned Parquet with a Postgres catalog; query it with DuckDB.')
    .version('0.1.0', '-V, --version')
    .option('--home <dir>', 'warehouse folder: lake, embedded catalog, quarantine, logs (env MDW_HOME, default ./warehouse)')
    .option('--config-dir <dir>', 'folder with jobs/, transforms/, validation/ (env MDW_CONFIG_DIR, default ./configs)')
    .option('--lock-timeout <seconds>', 'how long to wait for a lock another run holds before exiting 4 (env MDW_LOCK_TIMEOUT, default 10)', parseSeconds)
    .option('-v, --verbose', 'log debug detail to stderr')
    .option('-q, --quiet', 'log only warnings and errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      [
        '',
        'The catalog is embedded (PGlite under MDW_HOME/catalog, one process at a time) unless',
        'MDW_DATABASE_URL names a Postgres server.',
        '',
        'Exit codes: 0 ok, 1 failed, 2 bad usage or config, 3 partial, 4 another run holds the lock.',
        '',
        'Examples:',
        '  mdw init',
        '  mdw ingest demo',
        '  mdw query ohlcv AAPL --from 2024-01-01 --to 2024-03-31',
        '  mdw query sql "select symbol, count(*) from ohlcv group by 1"',
        '  mdw status',
        '  mdw audit --fail-on red,integrity',
        '  mdw quarantine list demo',
        '  mdw retention --dry-run',
        '  mdw backup --to /srv/mdw/backups && mdw backup verify /srv/mdw/backups',
        '  mdw calendar sessions XNYS --from 2024-11-25 --to 2024-11-29',
        '  mdw cron --install                        # the crontab lines of the scheduled jobs',
      ].join('\n'),
    );
  program.configureHelp({ showGlobalOptions: true });

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;
  const lazy =
    <A extends unknown[]>(load: () => Promise<(opts: GlobalOptions, ...args: A) => Promise<number>>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const run = await load();
      process.exitCode = await run(globals(cmd), ...(args.slice(0, -2) as A));
    };

  program
    .command('init')
    .description('create MDW_HOME with its lake, catalog and folders (asks on a terminal; flags without one)')
    .option('-y, --yes', 'accept the defaults without asking')
    .option('--database-url <url>', 'use this Postgres server for the catalog (default: MDW_DATABASE_URL, else embedded)')
    .action(lazy(async () => (await import('./commands/init.js')).initCommand));

  program
    .command('ingest')
    .description('run a job: read its source, apply transform rules, validate, and load the lake')
    .argument('<job>', 'a job name in configs/jobs, or a path to a job YAML file')
    .option('--from <date>', 'only rows (bars, ex-dates, as-of dates) at or after this date (YYYY-MM-DD) or time (ISO 8601 with offset)')
    .option('--to <date>', 'only rows up to this date (inclusive) or time; a vendor job asks up to it')
    .option('--symbols <list>', 'only these symbols, comma-separated', splitList)
    .option('--dry-run', 'read, transform and validate, report what would be written, write nothing; a vendor job fetches nothing and names the requests it would send')
    .option('--full', 'read every input, also those already loaded and unchanged since (they are skipped by default)')
    .option('--refetch', 'vendor jobs: ask again for windows that have closed and were fetched before (their pages are reused by default); for a vendor correction')
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText('after', '\nExamples:\n  mdw ingest demo\n  mdw ingest demo --from 2020-01-01 --symbols AAPL,MSFT --dry-run\n  mdw ingest ./my-job.yml\n' +
        '  POLYGON_API_KEY=... mdw ingest polygon-daily --from 2024-01-01 --symbols AAPL   # vendor jobs land every page under lake/raw first\n' +
        '  mdw ingest polygon-splits --symbols AAPL,TSLA      # corporate actions; polygon-tickers for the reference tickers')
    .action(lazy(async () => (await import('./commands/ingest.js')).ingestCommand));

  const backfill = program
    .command('backfill')
    .description('fill the holes of the targets in configs/backfill.yml: plan the missing windows, queue them, fetch each from the best vendor with budget left')
    .argument('[targets...]', 'target names in configs/backfill.yml (default: all, by priority)')
    .option('--symbols <list>', "these symbols instead of each target's universe, comma-separated", splitList)
    .option('--from <date>', 'no session before this date (YYYY-MM-DD); default: the target\'s earliest')
    .option('--to <date>', 'no session after this date (YYYY-MM-DD); default: the last ended session')
    .option('--vendor <name>', 'ask only this vendor')
    .option('--max-requests <n>', 'stop after this many requests (the rest waits in the queue for the next run)', parsePositiveInt)
    .option('--dry-run', 'plan and print chunks and requests per target and vendor, and each vendor\'s budget today; fetch and queue nothing')
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText(
      'after',
      '\nA chunk is a window of one symbol\'s missing sessions; chunks wait in the catalog\'s queue, so a run that is killed\n' +
        'or runs out of budget (exit 3) is resumed by the next one, and several runs share the queue. A vendor that answers\n' +
        'no data for a window makes it a known hole, asked again after 7 days, then 30; `mdw backfill accept` explains one for good.\n' +
        '\nExamples:\n  mdw backfill --dry-run\n  mdw backfill equities-daily --symbols AAPL --from 2020-01-01\n  mdw backfill --vendor alpaca --max-requests 100\n' +
        '  mdw backfill status\n  mdw backfill accept equities-daily XYZ 2021-03-01 2021-03-05 --reason "halted"',
    )
    .action(lazy(async () => (await import('./commands/backfill.js')).backfillCommand));
  backfill
    .command('status')
    .description('the backfill queue: chunks by status per target, expired leases, days to finish at the backfill budgets, the oldest failure')
    .argument('[targets...]', 'target names (default: all)')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/backfill.js')).backfillStatusCommand));
  backfill
    .command('accept')
    .description('record a hole as known and accepted (a halt, a listing that began later): not planned again, not RED in the audit')
    .argument('<target>', 'the target in configs/backfill.yml')
    .argument('<symbol>', 'the symbol')
    .argument('<from>', 'first session of the hole (YYYY-MM-DD)')
    .argument('<to>', 'last session of the hole (YYYY-MM-DD)')
    .requiredOption('--reason <text>', 'why the hole is accepted')
    .action(lazy(async () => (await import('./commands/backfill.js')).backfillAcceptCommand));

  const curate = program
    .command('curate')
    .description('build curated datasets from what ingest stored (lake/curated/): the adjustment log of a bars source from its corporate actions, and gold series chosen from several sources')
    .argument('[jobs...]', 'curate jobs in configs/jobs (kind: curate; default: all of them)')
    .option('--symbols <list>', 'only these symbols, comma-separated', splitList)
    .option('--dry-run', "compute and say how many symbols' logs would change; write nothing")
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText(
      'after',
      '\nA curate job names the ingest job of its bars and the ingest jobs of corporate actions. For each split or dividend\n' +
        'after a symbol\'s first bar, the log records the factor it applies to earlier prices: 1/ratio for a split, and\n' +
        '1 - cash / (the close before the ex-date) for a dividend. A source whose transform says adjusted_for: [splits]\n' +
        'gets no split factor, so a split is never applied twice. Only symbols whose log changed are loaded again, and a\n' +
        'row that fails the rules (a dividend at or above its close) is quarantined, never applied.\n' +
        '\nRead adjusted prices with `mdw query ohlcv AAPL --adjust splits|all`; see why with `mdw curate explain AAPL 2014-06-06`.\n' +
        '\nA gold job (gold: { sources: [jobs by priority], tolerance }) picks each bar from the first source whose bar passes\n' +
        'its quality threshold, else the next one that has it; never an average. Each bar keeps its gold_source, how many\n' +
        'sources had it, and whether their closes disagree beyond the tolerance. Only partitions whose sources changed are\n' +
        'chosen again. Read it with `mdw query ohlcv AAPL --gold --columns ts,close,gold_source,sources,disagree`.\n' +
        '\nExamples:\n  mdw ingest zipline-csvdir && mdw ingest zipline-csvdir-splits && mdw ingest zipline-csvdir-dividends\n  mdw curate curate-zipline\n  mdw curate gold-equities-daily\n  mdw curate --dry-run',
    )
    .action(lazy(async () => (await import('./commands/curate.js')).curateCommand));
  curate
    .command('explain')
    .description("the actions behind a bar's adjusted price: each split and dividend after it, the close a dividend used, the factors")
    .argument('<symbol>', 'the symbol')
    .argument('<date>', "the bar's date (YYYY-MM-DD)")
    .option('--source <name>', 'the bars source (needed when several have a log for the symbol)')
    .option('-g, --granularity <g>', 'bar size', '1d')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/curate.js')).curateExplainCommand));

  const retention = program
    .command('retention')
    .description('apply the retention policies (configs/retention.yml): older partitions to the trash or the archive, the one straddling the cut rewritten; purge old trash; compact (merge small partitions into the next grain up, rewrite fragmented files)')
    .option('--dry-run', 'print the plan (per policy and action: partitions, rows, bytes) and change nothing')
    .option('--compact', 'also compact every series: merge small partitions into the next grain up, rewrite fragmented files (a policy can ask with compact: true or { below: 8MB, into: month })')
    .addOption(new Option('--purge-after <age>', 'remove trash older than this for good: 7d, 12h, 2w (a bare number is days)').argParser(parseAge).default(7 * 86_400_000, '7d'))
    .option('--config <file>', 'the policies file (default: retention.yml in the config folder)')
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText(
      'after',
      '\nEach policy names a dataset (and optionally a source and a bar size), what to keep (keep: { days: N } or\n' +
        '{ sessions: N }, the last N ended sessions of the job\'s calendar) and what becomes of older rows:\n' +
        '  archive  files move to MDW_HOME/archive and stay listed in the catalog as archived; queries no longer read them\n' +
        '  delete   files move to MDW_HOME/trash (the catalog keeps a tombstone); removed for good after --purge-after\n' +
        'A policy with raw: true keeps the raw landing\'s vendor pages by the day they were fetched (keep: { days: N }).\n' +
        'The partition that straddles the cut is rewritten without its older rows (kept too), atomically, as a load writes. The audit\n' +
        'expects no session before the cut. A series no policy matches is kept whole. A run that is killed is finished or\n' +
        'undone by the next one (or by the next ingest of the series): the manifest never names a file that is gone.\n' +
        '\nCompaction merges a symbol\'s partitions of an ended period of the next grain up (the days of a month of second\n' +
        'bars) into one partition of that grain when their files add up to less than `below` (default 8MB), and rewrites\n' +
        'a file whose row groups are more than its rows need. Rows, their order and their lineage are kept; the manifest\n' +
        'changes in one transaction and readers switch to the merged file at its rename. Later loads of a merged period\n' +
        'write into the merged partition. --dry-run lists the merges (partitions, rows, bytes).\n' +
        '\nExamples:\n  mdw retention --dry-run\n  mdw retention                      # weekly, from cron\n  mdw retention --purge-after 30d --compact\n  mdw retention list --state archived',
    )
    .action(lazy(async () => (await import('./commands/retention.js')).retentionCommand));
  retention
    .command('list')
    .description('what retention moved out of the lake: each partition, its policy, state (trash, archived, purged) and where its file is')
    .option('--state <state>', 'only trash, archived or purged')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/retention.js')).retentionListCommand));

  const backup = program
    .command('backup')
    .description('a consistent snapshot of the warehouse (catalog, lake files, quarantine, configs) in a new folder of --to, with the sha256 of every file; older backups beyond --keep removed')
    .option('--to <dir>', 'the folder that holds the backups (a new mdw-backup-<time>/ in it each run); beside MDW_HOME, ideally on another disk')
    .addOption(new Option('--keep <n>', 'keep the newest n backups in --to, this one included; older mdw backups there are removed (nothing else is)').argParser(parsePositiveInt).default(12))
    .option('--raw', 'also the raw landing (lake/raw: vendor pages as fetched); large, and not needed to query')
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText(
      'after',
      '\nThe catalog is read first, from one snapshot (a read-only repeatable-read transaction), as one JSON-rows file per\n' +
        'table; then exactly the lake files that snapshot lists are taken: hard links when --to is on the warehouse\'s file\n' +
        'system (no bytes copied: lake files are never changed in place), copies otherwise; each is checked against the\n' +
        'catalog\'s sha256. So a backup taken while cron ingests holds each batch whole or not at all. It is written under a\n' +
        'temporary name and renamed when complete: a killed backup never counts, and the next run removes what it left.\n' +
        'A hard link does not survive the disk it is on: put --to on another disk to survive one.\n' +
        '\nExamples:\n  mdw backup --to /srv/mdw/backups                 # weekly, from cron\n  mdw backup --to /mnt/usb/mdw --keep 4 --raw\n' +
        '  mdw backup verify /srv/mdw/backups               # monthly: restore the newest into a temporary home, audit it\n' +
        '  mdw restore /srv/mdw/backups/mdw-backup-20261205T120000Z --home /srv/mdw/restored',
    )
    .action(lazy(async () => (await import('./commands/backup.js')).backupCommand));
  backup
    .command('verify')
    .description('restore a backup into a temporary home beside it and audit it: every file against its sha256, the integrity of every series; exit 1 naming each damaged or missing file')
    .argument('<dir>', 'a backup, or a folder of backups (then the newest)')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/backup.js')).backupVerifyCommand));

  program
    .command('restore')
    .description('restore a backup into a new warehouse (--home, which must be empty or absent) and a new catalog, then check it as backup verify does')
    .argument('<dir>', 'a backup, or a folder of backups (then the newest)')
    .option('--database-url <url>', 'restore the catalog into this Postgres database (it must hold no mdw schema); default: the embedded catalog of the new home. MDW_DATABASE_URL is not used')
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText(
      'after',
      '\nEither kind of catalog restores into either: a backup of an embedded catalog into a server, and back. The catalog is\n' +
        'built by the migrations the backup was taken at, loaded with its rows, then migrated to this mdw\'s version. The\n' +
        'configs are restored to <home>/configs. Exit 1 when a file of the backup does not match its sha256 (nothing is\n' +
        'restored then) or the restored warehouse fails the integrity audit; the problems are listed on stdout.\n' +
        '\nExamples:\n  mdw restore /srv/mdw/backups --home /srv/mdw/restored\n' +
        '  mdw restore /srv/mdw/backups/mdw-backup-20261205T120000Z --home /srv/mdw/warehouse2 --database-url postgres://mdw@db/mdw2\n' +
        '  MDW_HOME=/srv/mdw/restored MDW_CONFIG_DIR=/srv/mdw/restored/configs mdw audit --fail-on integrity',
    )
    .action(lazy(async () => (await import('./commands/backup.js')).restoreCommand));

  const query = program.command('query').description('read the lake (no catalog needed)');
  query
    .command('ohlcv')
    .description('bars for one or more symbols')
    .argument('<symbols...>', 'symbols, e.g. AAPL MSFT')
    .option('--from <date>', 'first date (YYYY-MM-DD) or time (ISO 8601 with offset)')
    .option('--to <date>', 'last date, inclusive, or time')
    .option('-g, --granularity <g>', 'bar size: 1m, 5m, 1h, 1d, 1w, 1mo ...; resampled from finer stored bars when not stored', '1d')
    .option('--calendar <name>', 'trading calendar of resampled bars: XNYS, 24/7 or 24/5', 'XNYS')
    .option('--extended-hours', 'resampled bars keep the pre- and post-market minutes')
    .option('--source <name>', 'one source (default: every source with the series; a source column is added when there are several)')
    .option('--columns <list>', 'columns to show, comma-separated (symbol,ts,open,high,low,close,volume,vwap,trades,adj_close,quote_volume (crypto),source,granularity,batch_id,quality,flags; total_return,tr_index from the adjustment log)', splitList)
    .option('--limit <n>', 'at most n rows', parsePositiveInt)
    .option('--min-quality <score>', 'only rows whose quality score (0-1) is at least this; 0.85 keeps the validated rows', parseScore)
    .option('--gold', 'the gold series a gold curate job chose from several sources (lake/curated/ohlcv_gold); --source names the series; add gold_source,sources,disagree,spread to --columns for provenance')
    .addOption(
      new Option('--adjust <basis>', "none: prices as stored; splits: adjusted for splits (volumes inversely); all: for splits and dividends (the source's adjustment log, built by mdw curate)")
        .choices(['none', 'splits', 'all'])
        .default('none'),
    )
    .addOption(new Option('--format <format>', `${formatHelp}, arrow, parquet`))
    .addHelpText(
      'after',
      '\nEvery stored bar has a quality score (1 = nothing flagged) and its series flags (gap, volume_spike,\nvolume_low, stale): add quality,flags to --columns to see them.\n' +
        '\n--adjust multiplies each bar\'s prices by the factors of every split and dividend after it, from one source\'s\nadjustment log (`mdw curate`; `mdw curate explain AAPL 2014-06-06` shows the chain). Bars after the last ex-date\nare as stored. total_return is a bar\'s return with its dividends reinvested (null on the first bar), tr_index\nthe growth of 1 from the first bar: `--columns ts,close,total_return,tr_index`.\n' +
        '\nResampling: when the lake holds no bars of the asked size for the source(s) but finer ones that divide\n' +
        'it, the finest are resampled on the --calendar\'s sessions (stderr says so). Intraday bars align to the\n' +
        'exchange clock from local midnight (the 09:00 hourly bar holds the 09:30 open) and never span two\n' +
        'sessions; 1d is one bar per session (an early close gives a shorter one), stamped at its date 00:00Z;\n' +
        '1w and 1mo hold the sessions of a week (Monday-Sunday) or month, stamped at its first session date.\n' +
        'First open, highest high, lowest low, last close, volume summed, vwap weighted by volume. 1d, 1w and\n' +
        '1mo add a partial column: true when the session had fewer bars than its hours hold, or the period\n' +
        'fewer sessions than the calendar has in it.\n' +
        '\nA query that returns no rows says on stderr which asked symbols the lake lacks (any source or\ngranularity) and the nearest it holds; the output stays empty and the exit code 0.\n' +
        '\nExamples:\n  mdw query ohlcv AAPL --from 2024-01-01 --to 2024-01-31\n  mdw query ohlcv AAPL --source polygon       # one source; without it, rows of several come with a source column\n  mdw query ohlcv AAPL MSFT -g 1m --from 2024-03-01 --to 2024-03-01 --format json\n  mdw query ohlcv AAPL --min-quality 0.85 --columns ts,close,quality,flags\n  mdw query ohlcv ACME -g 1h --from 2024-03-08   # from stored 1m bars, on XNYS sessions\n  mdw query ohlcv X:BTCUSD -g 1d --calendar 24/7  # crypto minutes to UTC days\n  mdw query ohlcv MSTF                         # no rows; stderr: MSTF: ... nearest: MSFT',
    )
    .action(lazy(async () => (await import('./commands/query.js')).queryOhlcvCommand));
  query
    .command('sql')
    .description('one SELECT over views named after the datasets (ohlcv, ...); it only reads the lake')
    .argument('<sql>', 'the query, e.g. "select symbol, count(*) from ohlcv group by 1"')
    .addOption(new Option('--format <format>', `${formatHelp}, arrow, parquet`))
    .addHelpText(
      'after',
      '\nIt reads only: one SELECT (or WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE) over the dataset\n' +
        'views and files under the lake (MDW_HOME/lake, e.g. read_parquet(\'<lake>/ohlcv/**/*.parquet\')).\n' +
        'COPY, ATTACH, CREATE, INSERT, SET, PRAGMA, INSTALL, LOAD, a second statement, a file outside the lake\n' +
        'and functions that act beyond the result (query(), enable_logging(), write_log()) exit 2.\n' +
        '\nValues print by their column type, as in query ohlcv: times in ISO 8601 UTC (2024-01-02T00:00:00Z,\n' +
        'sub-second digits only when there are some), whole numbers without .0; arrow keeps the types.\n' +
        '\nExamples:\n  mdw query sql "select symbol, min(ts), max(ts), sum(volume) from ohlcv group by 1"\n' +
        '  mdw query sql "select * from ohlcv where symbol = \'AAPL\'" --format arrow > aapl.arrow',
    )
    .action(lazy(async () => (await import('./commands/query.js')).querySqlCommand));

  program
    .command('status')
    .description('per dataset and symbol: rows, first and last bar, last run and lag, last backfill, validation score and sessions behind')
    .addHelpText(
      'after',
      '\nscore: the share of the symbol\'s records in its last batch that passed validation (1 = all).\n' +
        'sessions_behind: ended sessions of the job\'s calendar after the latest bar, counted when the series was last loaded.\n',
    )
    .option('--dataset <name>', 'only this dataset')
    .option('--source <name>', 'only this source')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/status.js')).statusCommand));

  program
    .command('audit')
    .description('completeness against the calendar, staleness, file integrity, quality and cross-source agreement')
    .argument('[jobs...]', 'the jobs whose series to audit (default: every job with data)')
    .option('--fail-on <list>', 'exit 1 when any is found, comma-separated: red, amber (partial or missing), integrity, disagreement, stale')
    .option('--tolerance <share>', 'closes of two sources disagree beyond this (0.5% or 0.005)', '0.5%')
    .option('--section <name>', 'one table for csv, ndjson and json: summary, ledger, staleness, integrity, quality, gaps, disagreements (default: summary; json without it is the whole report)')
    .option('--out <file>', 'write html, svg or png here instead of stdout (a terminal gets no picture: give --out, or pipe)')
    .addOption(new Option('--format <format>', `${formatHelp}; html, svg or png draw the completeness heatmap (svg and png: of one job)`))
    .addHelpText(
      'after',
      '\nThe ledger (GREEN complete, AMBER partial, RED missing, per symbol and session) is kept in the\n' +
        'catalog (mdw.completeness); sessions count from each symbol\'s first bar (or the job window) to its\n' +
        'last, and what follows is staleness. Jobs without a calendar get every check but those two.\n' +
        'A picture of it is drawn for jobs with a calendar: html for any number, svg and png for one job;\n' +
        'a mistake in asking for one is refused (exit 2) before the audit runs.\n' +
        '\nExamples:\n  mdw audit\n  mdw audit demo --section ledger --format csv\n  mdw audit --fail-on red,integrity          # for cron\n  mdw audit --format html --out coverage.html\n  mdw audit demo --format png --out demo.png',
    )
    .action(lazy(async () => (await import('./commands/audit.js')).auditCommand));

  const quarantine = program
    .command('quarantine')
    .description('records that failed a record rule: list them, show one whole, replay them after a fix')
    .addHelpText(
      'after',
      '\nA rejected record keeps its raw form, rule, reason, job, batch and input (file and record number)\n' +
        'in the catalog and in MDW_HOME/quarantine. After a fix to a transform or a rule, replay runs the\n' +
        "open records through the job's current rules and loads those that now pass, once.\n" +
        '\nExamples:\n  mdw quarantine list demo\n  mdw quarantine list ./my-job.yml     # a job given by path, as ingest was given it\n  mdw quarantine show 3f2a9c1e\n  mdw quarantine replay demo --dry-run\n  mdw quarantine replay demo --rule ohlc_bracket',
    );
  quarantine
    .command('list')
    .description('quarantined records, newest first (open ones unless --all)')
    .argument('[job]', 'only records of this job: a name in configs/jobs, or a path to its YAML file')
    .option('--source <name>', 'only this source')
    .option('--batch <id>', 'only this batch (an id or its first characters)')
    .option('--rule <rule>', 'only records that broke this rule (e.g. ohlc_bracket, parse, in_session)')
    .option('--all', 'replayed and superseded records too (a record is superseded when a later run read its input or its key again)')
    .option('--limit <n>', 'at most n records (default 50 in a table, all otherwise)', parsePositiveInt)
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/quarantine.js')).quarantineListCommand));
  quarantine
    .command('show')
    .description('one record whole: rules, reason, input, and the record as the source had it')
    .argument('<id>', 'a record id, or its first 8 characters as list shows them')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/quarantine.js')).quarantineShowCommand));
  quarantine
    .command('replay')
    .description("run a job's open quarantined records through its current rules; load those that pass")
    .argument('<job>', 'the job whose records to replay: a name in configs/jobs, or a path to its YAML file')
    .option('--batch <id>', 'only records of this batch')
    .option('--rule <rule>', 'only records that broke this rule')
    .option('--dry-run', 'say what would load, load nothing')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/quarantine.js')).quarantineReplayCommand));

  const calendar = program.command('calendar').description('trading calendars: sessions in UTC and the weekdays without one (no warehouse needed)');
  const range = (cmd: Command) =>
    cmd
      .option('--from <date>', 'first date, YYYY-MM-DD (default: 1 January this year)')
      .option('--to <date>', 'last date, inclusive (default: 31 December this year)')
      .addOption(new Option('--format <format>', formatHelp));
  calendar
    .command('list')
    .description('the calendars jobs can name')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/calendar.js')).calendarListCommand));
  range(calendar.command('sessions'))
    .description('each session with its open and close in UTC (ISO 8601, Z) and whether it closes early')
    .argument('<calendar>', 'XNYS, 24/7 (crypto) or 24/5 (FX)')
    .option('-g, --granularity <g>', 'also the intraday bars a complete session holds: count, first and last bar start (e.g. 1m, 5m, 1h); bars start on the clock and belong to the session whose hours they overlap (XNYS 1h: 09:00 to 15:00 New York)')
    .option('--extended', 'pre- and post-market hours too (XNYS 04:00-20:00 New York)')
    .addHelpText(
      'after',
      '\nExamples:\n  mdw calendar sessions XNYS --from 2024-11-25 --to 2024-11-29\n  mdw calendar sessions XNYS --from 2024-07-01 --to 2024-07-05 -g 1m\n  mdw calendar sessions XNYS --from 2024-01-01 --to 2024-12-31 --format csv > sessions.csv',
    )
    .action(lazy(async () => (await import('./commands/calendar.js')).calendarSessionsCommand));
  range(calendar.command('holidays'))
    .description('the weekdays with no session, and why')
    .argument('<calendar>', 'XNYS, 24/7 or 24/5')
    .addHelpText('after', '\nExample:\n  mdw calendar holidays XNYS --from 2025-01-01 --to 2025-12-31')
    .action(lazy(async () => (await import('./commands/calendar.js')).calendarHolidaysCommand));

  const jobs = program.command('jobs').description('the jobs in configs/jobs');
  jobs
    .command('list')
    .description('list jobs with their dataset, source and transform')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/jobs.js')).jobsListCommand));
  jobs
    .command('validate')
    .description('check job files and the transforms and rules they name; exit 2 on the first problem in each')
    .argument('[jobs...]', 'job names or files (default: all)')
    .action(lazy(async () => (await import('./commands/jobs.js')).jobsValidateCommand));
  jobs
    .command('sources')
    .description('what each vendor serves: its fetchers, by endpoint, with the dataset, bar sizes, page size, history, weight and key')
    .addOption(new Option('--format <format>', formatHelp))
    .addHelpText(
      'after',
      '\nA job picks one with source.adapter (the vendor) and source.endpoint (default: the one marked default for its dataset).\n' +
        'Point a vendor at another server (a proxy, a recorded-response server) with MDW_<VENDOR>_URL, e.g. MDW_FINNHUB_URL=http://127.0.0.1:8080/api/v1.\n',
    )
    .action(lazy(async () => (await import('./commands/jobs.js')).jobsSourcesCommand));

  program
    .command('serve')
    .description('the HTTP API: bars, the other datasets, status, health and the audit ledger as JSON, CSV, NDJSON, Arrow or Parquet, read-only')
    .option('--host <address>', 'the address to listen on (loopback by default; another needs MDW_API_TOKEN to be safe)', '127.0.0.1')
    .option('--port <n>', 'the port (0 picks a free one)', '8600')
    .option('--connections <n>', 'answers computed at once, one DuckDB thread each (default: the cores, at least 2)', parsePositiveInt)
    .addHelpText(
      'after',
      '\nWith MDW_API_TOKEN set, every route but /health wants `Authorization: Bearer <token>` (401 otherwise).\n' +
        'Bars are read by the code `mdw query ohlcv` uses, with the same parameters; the format by ?format= or Accept.\n' +
        'Every route and parameter: /docs, or /openapi.json for tools. Stop it with Ctrl-C or SIGTERM (systemd: mdw-serve.service beside crontab.example).\n' +
        '\nExamples:\n  mdw serve\n  curl \'http://127.0.0.1:8600/api/v1/historical/AAPL?start=2024-01-02&end=2024-01-31\'\n' +
        "  curl -H 'Accept: text/csv' 'http://127.0.0.1:8600/api/v1/prices?symbols=AAPL,MSFT&granularity=1m&start=2024-03-01'\n" +
        '  MDW_API_TOKEN=s3cret mdw serve --host 0.0.0.0 --port 8600',
    )
    .action(lazy(async () => (await import('./commands/serve.js')).serveCommand));

  const cron = program
    .command('cron')
    .description('print the crontab lines for the jobs that declare a schedule and the commands in configs/schedule.yml; --install puts them in your crontab')
    .option('--install', "put the lines into your crontab (crontab -l / crontab -) between '# >>> mdw >>>' and '# <<< mdw <<<', in place of the last ones; every other line is kept")
    .option('--bin <path>', 'the mdw the lines run, when not this one (a crontab for another machine); its configs/ and .tools/node/ are named beside it')
    .option('--server-tz <zone>', "the zone the server's cron runs in (default: this system's, from /etc/localtime)")
    .addHelpText(
      'after',
      '\nWhat it prints: the environment cron lacks (SHELL, PATH with the node mdw runs on, MDW_HOME, MDW_CONFIG_DIR),\n' +
        'which vendor keys the lines need (set them above the block: mdw prints no secret), then per schedule a comment\n' +
        'saying what runs and when, and its line: the absolute mdw, --lock-timeout, output appended to MDW_HOME/logs/cron.log.\n' +
        '\nSchedules: a job file\'s `schedule: 30 17 * * 1-5` (or { cron, tz }) is read in its calendar\'s zone (XNYS and 24/5\n' +
        'New York, 24/7 UTC, New York without one); configs/schedule.yml holds backfill, curate, audit, retention, backup and\n' +
        'backup verify. `mdw jobs validate` checks them.\n' +
        '\nZones: Debian\'s cron runs each line in the server\'s zone and knows no other. A schedule whose zone keeps the\n' +
        'server\'s distance all year becomes one line; one whose distance changes (New York on a UTC server) becomes a line\n' +
        'at each server time it can fall on, guarded by `mdw cron due \'<expr>\' --tz <zone> &&`, which exits 0 only in the\n' +
        'minute the expression names in that zone: right in summer and winter, on the days the clocks change too. As cron\n' +
        'does in its own zone, a fixed time in the hour the change to winter time repeats runs once (the first 01:30), and\n' +
        'a time the change to summer time skips (02:30 New York that Sunday) does not run that day.\n' +
        '\nExamples:\n  mdw cron                                   # print the block\n  mdw cron --install                         # install it; run again after changing a schedule\n' +
        '  mdw cron --home /srv/mdw/warehouse --bin /srv/mdw/bin/mdw --server-tz UTC > crontab.example\n' +
        "  mdw cron due '30 17 * * 1-5' --tz America/New_York --at 2026-03-09T21:30:00Z; echo $?   # 0: due, 1: not",
    )
    .action(lazy(async () => (await import('./commands/cron.js')).cronCommand));
  cron
    .command('due')
    .description('exit 0 when this minute (or --at) is one the cron expression names in --tz, else 1: the guard of lines whose zone is not the server\'s')
    .argument('<expression>', "five cron fields, quoted: '30 17 * * 1-5'")
    .option('--tz <zone>', "the zone the expression is read in (default: this system's)")
    .option('--at <time>', 'judge this time instead of now (ISO 8601 with its offset, e.g. 2026-03-09T21:30:00Z)')
    .action(lazy(async () => (await import('./commands/cron.js')).cronDueCommand));

  const db = program.command('db').description('the catalog database');
  db.command('migrate')
    .description('apply pending catalog migrations (every command that opens the catalog does this too)')
    .action(lazy(async () => (await import('./commands/db.js')).dbMigrateCommand));
  db.command('status')
    .description('list migrations and when they were applied')
    .addOption(new Option('--format <format>', formatHelp))
    .action(lazy(async () => (await import('./commands/db.js')).dbStatusCommand));

  return program;
}

function splitList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  // An empty list would quietly mean "all of them" to the code that reads it.
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list with at least one item, e.g. AAPL,MSFT');
  return items;
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

function parseAge(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected an age such as 7d, 12h or 2w');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(m[2] ?? 'd') as 's' | 'm' | 'h' | 'd' | 'w'] * 1000;
}

function parseScore(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a score from 0 to 1, e.g. 0.85');
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}
