import path from 'node:path';
import { isCurateFile, loadCurateJob } from '../../config/curate.js';
import { listJobFiles, loadJob, resolveJobFile } from '../../config/jobs.js';
import { ConfigError, ExitCode, MdwError, errorMessage } from '../../core/errors.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { keyVariables, loadEndpoints } from '../../config/endpoints.js';
import { fetchers } from '../../sources/index.js';
import type { Fetcher } from '../../sources/fetcher.js';
import { stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

export async function jobsListCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw jobs list', async (ctx) => {
    const rows: Record<string, Cell>[] = listJobFiles(ctx.settings.configDir).map((file) => {
      const name = path.basename(file).replace(/\.ya?ml$/, '');
      try {
        if (isCurateFile(file)) {
          const curate = loadCurateJob(ctx.settings.configDir, file, ctx.env);
          const reads = [
            ...(curate.adjustments ? [curate.adjustments.bars, ...curate.adjustments.actions] : []),
            ...(curate.gold ? curate.gold.sources : []),
            ...(curate.resample ? [curate.resample.bars] : []),
          ];
          return {
            job: curate.name,
            dataset: [...(curate.adjustments ? ['adjustments'] : []), ...(curate.gold ? ['ohlcv_gold'] : []), ...(curate.resample ? ['ohlcv_resampled'] : [])].join(' '),
            granularity: curate.resample ? curate.resample.to.map((g) => g.text).join(' ') : (curate.adjustments?.bars ?? curate.gold!.sources[0]!).granularity.text,
            source: [
              ...new Set([
                ...(curate.adjustments ? [curate.adjustments.bars.spec.source.name] : []),
                ...(curate.gold ? [curate.gold.name] : []),
                ...(curate.resample ? [curate.resample.bars.spec.source.name] : []),
              ]),
            ].join(' '),
            adapter: 'curate',
            transform: [...new Set(reads.map((j) => j.name))].join(' + '),
            status: 'ok',
            description: curate.description,
          };
        }
        const job = loadJob(ctx.settings.configDir, file, ctx.env);
        return {
          job: job.name,
          dataset: job.spec.dataset,
          granularity: job.granularity.text,
          source: job.spec.source.name,
          adapter: job.spec.source.adapter,
          transform: job.spec.transform,
          status: 'ok',
          description: job.spec.description ?? '',
        };
      } catch (err) {
        return { job: name, status: 'invalid', description: errorMessage(err) };
      }
    });
    if (rows.length === 0) ctx.logger.warn(`no jobs in ${path.join(ctx.settings.configDir, 'jobs')}`);
    process.stdout.write(formatRecords(rows, ['job', 'dataset', 'granularity', 'source', 'adapter', 'transform', 'status', 'description'], format));
    return ExitCode.ok;
  });
}

/** Checks every named job (or all of them); prints one line per job; exit 2 if any is invalid. */
export async function jobsValidateCommand(opts: GlobalOptions, names: string[]): Promise<number> {
  return withContext(opts, 'mdw jobs validate', async (ctx) => {
    const files = names.length ? names.map((n) => resolveJobFile(ctx.settings.configDir, n)) : listJobFiles(ctx.settings.configDir);
    let bad = 0;
    for (const file of files) {
      try {
        const job = isCurateFile(file) ? loadCurateJob(ctx.settings.configDir, file, ctx.env) : loadJob(ctx.settings.configDir, file, ctx.env);
        process.stdout.write(`ok       ${job.name}  (${path.relative(process.cwd(), file)})\n`);
      } catch (err) {
        if (!(err instanceof ConfigError) && !(err instanceof MdwError)) throw err;
        bad++;
        process.stdout.write(`invalid  ${err.message}\n`);
      }
    }
    if (bad > 0) process.stderr.write(`mdw: ${bad} of ${files.length} jobs are invalid\n`);
    return bad > 0 ? ExitCode.usage : ExitCode.ok;
  });
}

/** The fetcher registry as a table: what a job can name, and what the backfill router will weigh. */
export async function jobsSourcesCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw jobs sources', async (ctx) => {
    const endpoints = loadEndpoints(ctx.settings.configDir, ctx.env);
    const rows: Record<string, Cell>[] = Object.entries(fetchers).map(([, f]: [string, Fetcher]) => {
      const spec = endpoints.value.providers[f.vendor];
      const granularities = f.granularities === null ? '' : Object.entries(f.granularities).map(([unit, counts]) => (counts === 'any' ? `n${unit}` : counts.map((c) => `${c}${unit}`).join(' '))).join(' ');
      return {
        vendor: f.vendor,
        endpoint: f.endpoint,
        dataset: f.dataset,
        default: f.default,
        granularities,
        page_size: f.pageSize,
        history_years: f.historyYears,
        unique: f.unique,
        weight: f.weight,
        rpm: spec?.rpm ?? null,
        base_url: spec?.base_url ?? 'not in endpoints.yml',
        key: spec ? keyVariables(spec.auth).join(' ') : null,
        description: f.description,
      };
    });
    process.stdout.write(
      formatRecords(rows, ['vendor', 'endpoint', 'dataset', 'default', 'granularities', 'page_size', 'history_years', 'unique', 'weight', 'rpm', 'base_url', 'key', 'description'], format),
    );
    return ExitCode.ok;
  });
}
