/**
 * Wall-clock time in an IANA zone to a UTC instant, with Intl (ICU) only: no I/O, no library.
 * A formatter per zone is kept: building one costs ~50 µs.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in minutes (New York in winter: -300). */
export function zoneOffsetMinutes(at: Date, zone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60000);
}

/** `2024-03-08` at `09:30` in America/New_York -> 2024-03-08T14:30:00Z. */
export function zonedTimeToUtc(date: string, time: string, zone: string): Date {
  const [h, m] = time.split(':').map(Number);
  const wall = Date.parse(`${date}T00:00:00Z`) + (h! * 60 + m!) * 60000;
  // Two passes settle the offset except inside a clock change, where markets do not open.
  let guess = wall - zoneOffsetMinutes(new Date(wall), zone) * 60000;
  guess = wall - zoneOffsetMinutes(new Date(guess), zone) * 60000;
  return new Date(guess);
}

/** Whether Intl (ICU) knows an IANA zone name. */
export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
