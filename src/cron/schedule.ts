import type { ConfigError } from '../core/errors.js';
import { isValidZone } from '../core/zone.js';
import { CronSyntaxError, parseCron, type CronExpression } from './cron-expression.js';

/**
 * As a job file or configs/schedule.yml writes it (schema: configs/schema/schedule.schema.json,
 * definitions/schedule): the five cron fields, or those and the zone they are read in.
 */
export type ScheduleSpec = string | { readonly cron: string; readonly tz?: string };

/** When something runs: a cron expression read in a time zone. */
export interface Schedule {
  readonly cron: CronExpression;
  readonly zone: string;
}

/** The zone a schedule is read in when it names none: the equity market's. */
export const defaultScheduleZone = 'America/New_York';

/**
 * A schedule checked beyond its schema (fields in range, a zone ICU knows); a problem is a
 * ConfigError at `pointer` (the schedule key) of its file.
 */
export function readSchedule(
  spec: ScheduleSpec,
  defaultZone: string,
  errorAt: (pointer: string, message: string) => ConfigError,
  pointer: string,
): Schedule {
  const text = typeof spec === 'string' ? spec : spec.cron;
  const zone = typeof spec === 'string' ? defaultZone : (spec.tz ?? defaultZone);
  const at = typeof spec === 'string' ? pointer : `${pointer}/cron`;
  let cron: CronExpression;
  try {
    cron = parseCron(text);
  } catch (err) {
    if (err instanceof CronSyntaxError) throw errorAt(at, `schedule: ${err.message}`);
    throw err;
  }
  if (!isValidZone(zone)) throw errorAt(`${pointer}/tz`, `schedule: unknown time zone "${zone}" (use an IANA name such as America/New_York or UTC)`);
  return { cron, zone };
}
