import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';

export interface Measured {
  readonly ms: number;
  /** Peak resident set of the command, in MB. */
  readonly peakRssMb: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * Runs a command and reports its wall time and peak RSS. GNU time reports the peak exactly;
 * without it, /proc/<pid>/status VmHWM is polled. stdout can go to /dev/null, as a user's
 * redirect would (no pipe in between).
 */
export async function measure(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdout?: 'pipe' | 'null' } = {}): Promise<Measured> {
  const out = options.stdout === 'null' ? openSync('/dev/null', 'w') : 'pipe';
  const [file, argv] = gnuTime ? [gnuTime, ['-f', 'mdw-bench-peak-kb=%M', cmd, ...args]] : [cmd, [...args]];
  const started = process.hrtime.bigint();
  const child = spawn(file, argv, { env: options.env ?? process.env, stdio: ['ignore', out, 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let polledKb = 0;
  const poll = gnuTime
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) polledKb = Math.max(polledKb, Number(m[1]));
        } catch {
          // Exited between polls.
        }
      }, 20);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (poll) clearInterval(poll);
  if (typeof out === 'number') closeSync(out);
  const reported = /mdw-bench-peak-kb=(\d+)/.exec(stderr);
  if (reported) stderr = stderr.replace(reported[0], '').trim();
  const kb = reported ? Number(reported[1]) : polledKb;
  return { ms, peakRssMb: kb / 1024, code, stdout, stderr };
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 0.5);
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = (s.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
