import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';
import type winstonType from 'winston';

/** The narrow logging interface the rest of the code sees; only this file knows winston. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  /** Masks these values wherever they would appear in a log line. */
  addSecrets(values: readonly string[]): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: string;
  /** When set, JSON lines also go to <logDir>/mdw-YYYY-MM-DD.log. */
  logDir?: string | undefined;
  /** Human lines with colour when stderr is a terminal. */
  color: boolean;
  /** Date used to name the log file (from the context clock). */
  today: Date;
  /** Where human lines go, when not straight to process.stderr (a terminal's progress line shares it). */
  stderr?: { write(text: string): unknown } | undefined;
}

const levels: Record<string, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * winston is loaded on the first line that is actually written: a quick query that logs
 * nothing does not pay for it.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets: string[] = [];
  let base: winstonType.Logger | undefined;
  const threshold = options.logDir ? levels.debug! : (levels[options.level] ?? levels.info!);
  const open = (): winstonType.Logger => {
    if (base) return base;
    const winston = createRequire(import.meta.url)('winston') as typeof winstonType;
    const human = winston.format.printf((info) => {
      const { level, message, timestamp: _ts, ...meta } = info;
      const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
      return `${level}: ${String(message)}${extra}`;
    });
    const format = options.color ? winston.format.combine(winston.format.colorize(), human) : human;
    const sink = options.stderr;
    const transports: winstonType.transport[] = [
      sink
        ? new winston.transports.Stream({ format, eol: '\n', stream: new Writable({ write: (chunk: Buffer, _enc, next) => (sink.write(chunk.toString()), next()) }) })
        : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug', 'silly'], format }),
    ];
    const filename = options.logDir ? path.join(options.logDir, `mdw-${options.today.toISOString().slice(0, 10)}.log`) : undefined;
    let fileProblem: unknown;
    if (options.logDir && filename) {
      try {
        mkdirSync(options.logDir, { recursive: true });
        transports.push(
          new winston.transports.File({
            filename,
            level: 'debug',
            format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
          }),
        );
      } catch (err) {
        fileProblem = err;
      }
    }
    const logger = winston.createLogger({ level: 'debug', transports });
    base = logger;
    // The console honours the requested level; the file keeps debug detail.
    transports[0]!.level = options.level;
    // A log file that cannot be written (a full disk, another user's file) must not end the
    // process with an unhandled 'error' event: the lines still reach stderr, and the failure
    // that matters (the full disk) is the command's own error.
    const file = transports[1];
    let dropped = false;
    logger.on('error', (err: unknown, transport: unknown) => {
      if (dropped || !file || transport !== file) return;
      dropped = true;
      logger.remove(file);
      logger.debug(`the log file ${filename} cannot be written: ${err instanceof Error ? err.message : String(err)}; logging to stderr only`);
    });
    if (fileProblem) logger.debug(`the log folder ${options.logDir} cannot be written: ${fileProblem instanceof Error ? fileProblem.message : String(fileProblem)}; logging to stderr only`);
    return logger;
  };
  const log = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    if ((levels[level] ?? 0) > threshold) return;
    open().log(level, maskSecrets(message, secrets), deepMask(meta ?? {}, secrets) as Record<string, unknown>);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    addSecrets(values) {
      for (const v of values) if (v && v.length >= 4 && !secrets.includes(v)) secrets.push(v);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!base) return resolve();
        // A log file on a full disk never finishes. The wait must hold the process open until
        // it ends (an unref'd timer let Node exit at once, with code 0 and the error unsaid).
        const timer = setTimeout(resolve, 200);
        base.on('finish', () => {
          clearTimeout(timer);
          resolve();
        });
        base.end();
      }),
  };
}

export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

function deepMask(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return maskSecrets(value, secrets);
  if (Array.isArray(value)) return value.map((v) => deepMask(v, secrets));
  if (value instanceof Error) return maskSecrets(value.message, secrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepMask(v, secrets)]));
  }
  return value;
}
