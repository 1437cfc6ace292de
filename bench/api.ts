import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { packageRoot } from '../src/core/settings.js';
import { parseWindow } from '../src/core/time-window.js';
import { DuckSession } from '../src/lake/duckdb.js';
import { planOhlcvQuery } from '../src/query/ohlcv-query.js';
import { median } from './measure.js';

/** One API figure: latency percentiles and throughput of a route, beside DuckDB's time for the same read. */
export interface ApiFigure {
  readonly name: string;
  readonly rows: number;
  readonly files: number;
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly errors: number;
  readonly bareP50: number;
  readonly target: number | null;
  /** The machine's 1-minute load average when the case ran: on a shared machine, what the figure competed with. */
  readonly load: number;
}

/**
 * `mdw serve` as a user runs it (its own process, loopback), loaded by autocannon with 10
 * connections for `seconds` per case: /historical for a month of 1m bars and for the whole span
 * of daily bars, as JSON and as Arrow. The baseline is bare DuckDB in this process running the
 * plan's SQL over the same files and reading every row, median of 50 runs.
 */
export async function benchApi(home: string, symbol: string, cases: readonly { name: string; granularity: string; from: string; to: string }[], seconds: number, log: (m: string) => void): Promise<ApiFigure[]> {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin', 'mdw'), '--home', home, 'serve', '--port', '0'], {
    // Its request log on, as a user runs it.
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const base = await waitForServer(child, () => stderr);
    const figures: ApiFigure[] = [];
    const duck = await DuckSession.open({ threads: 1 });
    try {
      for (const c of cases) {
        const plan = planOhlcvQuery(path.join(home, 'lake'), { symbols: [symbol], window: parseWindow(c.from, c.to), granularity: c.granularity });
        const bare: number[] = [];
        let rows = 0;
        for (let i = 0; i < 55; i++) {
          const t = performance.now();
          rows = (await duck.columns(plan.sql)).rowCount;
          if (i >= 5) bare.push(performance.now() - t);
        }
        for (const format of ['json', 'arrow'] as const) {
          const route = `/api/v1/historical/${encodeURIComponent(symbol)}?granularity=${c.granularity}&start=${c.from}&end=${c.to}&format=${format}`;
          const first = await fetch(`${base}${route}`);
          await first.arrayBuffer();
          if (first.status !== 200 || Number(first.headers.get('x-mdw-rows')) !== rows) throw new Error(`${route}: ${first.status}, ${first.headers.get('x-mdw-rows')} rows, expected ${rows}`);
          log(`api ${c.name} as ${format}: ${seconds} s of 10 connections`);
          const load = os.loadavg()[0]!;
          const r = await autocannon({ url: `${base}${route}`, connections: 10, duration: seconds, timeout: 600 });
          const monthOfMinutes = c.granularity === '1m';
          figures.push({
            name: `${c.name} as ${format}`,
            rows,
            files: plan.files.length,
            p50: r.latency.p50,
            p99: r.latency.p99,
            rps: r.requests.average,
            errors: r.errors + r.timeouts + r.non2xx,
            bareP50: median(bare),
            target: monthOfMinutes ? (format === 'json' ? 10 : 5) : null,
            load,
          });
        }
      }
    } finally {
      duck.close();
    }
    return figures;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function waitForServer(child: ReturnType<typeof spawn>, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const look = () => {
      const m = /listening on (http:\/\/\S+)/.exec(stderr());
      if (m) resolve(m[1]!);
    };
    child.stderr!.on('data', look);
    child.on('close', () => reject(new Error(`mdw serve exited: ${stderr()}`)));
  });
}
