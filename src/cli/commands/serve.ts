import os from 'node:os';
import { ExitCode, UsageError } from '../../core/errors.js';
import { requireHome, withContext, type GlobalOptions } from '../run-command.js';

/**
 * `mdw serve`: the HTTP API (serve/api-server.ts) until SIGINT or SIGTERM, then a clean stop:
 * requests in flight finish, the catalog and DuckDB close.
 */
export async function serveCommand(opts: GlobalOptions): Promise<number> {
  const host = String(opts.host ?? '127.0.0.1');
  const port = parsePort(String(opts.port ?? '8600'));
  const connections = opts.connections === undefined ? Math.max(2, os.availableParallelism()) : Number(opts.connections);
  return withContext(opts, 'mdw serve', async (ctx) => {
    requireHome(ctx);
    const token = ctx.env.MDW_API_TOKEN || undefined;
    if (token) ctx.logger.addSecrets([token]);
    const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
    if (!loopback && !token) ctx.logger.warn(`serving on ${host} without MDW_API_TOKEN: anyone who reaches this port reads the warehouse`);
    const [{ createApiServer }, { DuckSession }] = await Promise.all([import('../../serve/api-server.js'), import('../../lake/duckdb.js')]);
    // One thread per answer, answers side by side on their connections: for many small reads a
    // second thread per query costs more in handing work over than it saves (measured on 2 cores:
    // a month of minute bars as JSON in 20 ms on one thread, 60 ms on two under load).
    const duck = await DuckSession.open({ threads: 1, memoryLimit: ctx.settings.duckdbMemoryLimit, tempDir: ctx.paths.tmp });
    let server: Awaited<ReturnType<typeof createApiServer>>;
    try {
      server = await createApiServer({ settings: ctx.settings, paths: ctx.paths, logger: ctx.logger, clock: ctx.clock, duck, token, connections });
    } catch (err) {
      duck.close();
      throw err;
    }
    let address: string;
    try {
      address = await server.listen(host, port);
    } catch (err) {
      await server.close();
      duck.close();
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE') throw new UsageError(`--port ${port}: another process listens on ${host}:${port}; stop it or choose another port`);
      if (code === 'EADDRNOTAVAIL') throw new UsageError(`--host ${host}: no interface of this machine has that address`);
      throw err;
    }
    ctx.logger.info(`mdw serve: listening on ${address} (${token ? 'bearer token required' : 'no token'}); docs at ${address}/docs`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        ctx.logger.info(`mdw serve: ${signal}, stopping`);
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve();
      };
      const onInt = () => stop('SIGINT');
      const onTerm = () => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    await server.close();
    duck.close();
    return ExitCode.ok;
  });
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port ${text} is not a port (0-65535; 0 picks a free one)`);
  return Number(text);
}
