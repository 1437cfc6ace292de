import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { barGridOrigin, barReach, sessionBarCount, sessionBarTimes, sessionsBehind, type Session, type TradingCalendar } from '../../src/calendar/calendar.js';
import { calendars } from '../../src/calendar/registry.js';
import { repoRoot } from '../support/helpers.js';

const reference = JSON.parse(readFileSync(path.join(repoRoot, 'tests/unit/fixtures/xnys-1990-2030.json'), 'utf8')) as {
  holidays: string[];
  earlyCloses: Record<string, string>;
};
const xnys = calendars.XNYS;
const nyTime = (d: Date) => d.toLocaleTimeString('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' });

describe('XNYS', () => {
  test('every weekday closure and early close 1990-2030 matches the reference', () => {
    expect(xnys.holidays('1990-01-01', '2030-12-31').map((h) => h.date)).toEqual(reference.holidays);
    const sessions = xnys.sessions('1990-01-01', '2030-12-31');
    const early = Object.fromEntries(sessions.filter((s) => s.early).map((s) => [s.date, nyTime(s.close)]));
    expect(early).toEqual(reference.earlyCloses);
    // Every other session is 09:30-16:00 New York, whatever the daylight-saving state.
    for (const s of sessions) {
      expect(nyTime(s.open)).toBe('09:30');
      if (!s.early) expect(nyTime(s.close)).toBe('16:00');
    }
    expect(sessions.length).toBe(10322);
  });

  test('the rules that trip people up', () => {
    const open = (d: string) => xnys.sessions(d, d).length === 1;
    expect(open('2021-12-31')).toBe(true); // New Year's Day 2022 was a Saturday: not observed on the Friday
    expect(open('1997-01-20')).toBe(true); // MLK Day from 1998 only
    expect(open('1998-01-19')).toBe(false);
    expect(open('2021-06-18')).toBe(true); // Juneteenth from 2022
    expect(open('2022-06-20')).toBe(false);
    expect(open('2012-10-29') || open('2012-10-30')).toBe(false); // Sandy
    expect(open('2025-01-09')).toBe(false); // Carter
    expect(xnys.holidays('2001-09-10', '2001-09-17').map((h) => h.date)).toEqual(['2001-09-11', '2001-09-12', '2001-09-13', '2001-09-14']);
    const [july3] = xnys.sessions('2024-07-03', '2024-07-03');
    expect([july3!.open.toISOString(), july3!.close.toISOString(), july3!.early]).toEqual(['2024-07-03T13:30:00.000Z', '2024-07-03T17:00:00.000Z', true]);
    const [eve1991] = xnys.sessions('1991-12-24', '1991-12-24');
    expect(eve1991!.close.toISOString()).toBe('1991-12-24T19:00:00.000Z'); // 14:00 EST before 1993
    expect(xnys.holidays('2024-01-01', '2024-12-31').map((h) => `${h.date} ${h.name}`)).toEqual([
      "2024-01-01 New Year's Day",
      '2024-01-15 Martin Luther King Jr. Day',
      "2024-02-19 Washington's Birthday",
      '2024-03-29 Good Friday',
      '2024-05-27 Memorial Day',
      '2024-06-19 Juneteenth',
      '2024-07-04 Independence Day',
      '2024-09-02 Labor Day',
      '2024-11-28 Thanksgiving Day',
      '2024-12-25 Christmas Day',
    ]);
  });
});

describe('expected bars of a session', () => {
  const origin = (cal: TradingCalendar, s: Session) => barGridOrigin(cal, s);
  test('one-minute bars fill regular hours: 390 on a full day, 210 before a 13:00 close; extended hours hold 960', () => {
    const [full] = xnys.sessions('2024-07-05', '2024-07-05');
    const [early] = xnys.sessions('2024-07-03', '2024-07-03');
    const bars = sessionBarTimes(full!, 60_000, origin(xnys, full!));
    expect([bars.length, bars[0]!.toISOString(), bars.at(-1)!.toISOString()]).toEqual([390, '2024-07-05T13:30:00.000Z', '2024-07-05T19:59:00.000Z']);
    expect(sessionBarTimes(early!, 60_000, origin(xnys, early!)).length).toBe(210);
    const ext = sessionBarTimes(xnys.extendedHours(full!), 60_000, origin(xnys, full!));
    expect([ext.length, ext[0]!.toISOString(), ext.at(-1)!.toISOString()]).toEqual([960, '2024-07-05T08:00:00.000Z', '2024-07-05T23:59:00.000Z']);
  });

  test('clock-aligned bars that overlap the hours belong to the session: 7 hourly bars 09:00-15:00, 4 before a 13:00 close', () => {
    const [full] = xnys.sessions('2024-07-05', '2024-07-05');
    const [early] = xnys.sessions('2024-07-03', '2024-07-03');
    // The 09:00-10:00 New York bar holds the 09:30 open; the 15:00 bar the close; 16:00 starts after it.
    expect(sessionBarTimes(full!, 3_600_000, origin(xnys, full!)).map((d) => d.toISOString().slice(11, 16))).toEqual(['13:00', '14:00', '15:00', '16:00', '17:00', '18:00', '19:00']);
    expect(sessionBarTimes(early!, 3_600_000, origin(xnys, early!)).map((d) => d.toISOString().slice(11, 16))).toEqual(['13:00', '14:00', '15:00', '16:00']);
    expect(sessionBarCount(full!, 3_600_000, origin(xnys, full!))).toBe(7);
    expect(sessionBarCount(full!, 30 * 60_000, origin(xnys, full!))).toBe(13);
    expect(sessionBarCount(full!, 5 * 60_000, origin(xnys, full!))).toBe(78);
    // In winter the grid is the same New York clock: 09:00 is 14:00Z.
    const [winter] = xnys.sessions('2024-01-05', '2024-01-05');
    expect(sessionBarTimes(winter!, 3_600_000, origin(xnys, winter!))[0]!.toISOString()).toBe('2024-01-05T14:00:00.000Z');
    // A bar [start, start + length) overlaps a session when its start is after open - length and before the close.
    expect(barReach(full!, 3_600_000).toISOString()).toBe('2024-07-05T12:30:00.000Z');
  });

  test('24/5 sessions hold 24 hourly bars from the 17:00 New York roll; 24/7 days 24 from midnight UTC', () => {
    const fx = calendars['24/5'];
    const [monday] = fx.sessions('2024-03-11', '2024-03-11');
    const bars = sessionBarTimes(monday!, 3_600_000, origin(fx, monday!));
    expect([bars.length, bars[0]!.toISOString(), bars.at(-1)!.toISOString()]).toEqual([24, '2024-03-10T21:00:00.000Z', '2024-03-11T20:00:00.000Z']);
    const crypto = calendars['24/7'];
    const [day] = crypto.sessions('2024-03-10', '2024-03-10');
    expect(sessionBarCount(day!, 3_600_000, origin(crypto, day!))).toBe(24);
    expect(sessionBarCount(day!, 60_000, origin(crypto, day!))).toBe(1440);
  });
});

describe('around-the-clock calendars', () => {
  test('24/7 has a session every day, midnight to midnight UTC', () => {
    const s = calendars['24/7'].sessions('2024-03-09', '2024-03-11');
    expect(s.map((x) => [x.date, x.open.toISOString(), x.close.toISOString()])).toEqual([
      ['2024-03-09', '2024-03-09T00:00:00.000Z', '2024-03-10T00:00:00.000Z'],
      ['2024-03-10', '2024-03-10T00:00:00.000Z', '2024-03-11T00:00:00.000Z'],
      ['2024-03-11', '2024-03-11T00:00:00.000Z', '2024-03-12T00:00:00.000Z'],
    ]);
  });

  test('24/5 runs Sunday 17:00 to Friday 17:00 New York', () => {
    const s = calendars['24/5'].sessions('2024-03-08', '2024-03-11');
    expect(s.map((x) => [x.date, x.open.toISOString(), x.close.toISOString()])).toEqual([
      ['2024-03-08', '2024-03-07T22:00:00.000Z', '2024-03-08T22:00:00.000Z'],
      // Monday's session opened on Sunday evening, after the switch to daylight time.
      ['2024-03-11', '2024-03-10T21:00:00.000Z', '2024-03-11T21:00:00.000Z'],
    ]);
  });
});

describe('sessions a series trails (sessionsBehind)', () => {
  const at = (iso: string) => new Date(iso);
  test('daily bars: the ended sessions after the bar, skipping Thanksgiving and counting its early-close Friday', () => {
    // Wednesday 2026-11-18's bar seen on Sunday the 22nd: Thursday and Friday ended since.
    expect(sessionsBehind(xnys, at('2026-11-18T00:00:00Z'), true, at('2026-11-22T12:00:00Z'))).toBe(2);
    // Tuesday the 24th's bar on Saturday the 28th: Wednesday, and Friday the 27th (closed 13:00); Thursday the 26th is a holiday.
    expect(sessionsBehind(xnys, at('2026-11-24T00:00:00Z'), true, at('2026-11-28T12:00:00Z'))).toBe(2);
    // Friday's bar while Friday's session is still open, and once it has closed.
    expect(sessionsBehind(xnys, at('2026-11-20T00:00:00Z'), true, at('2026-11-20T18:00:00Z'))).toBe(0);
    expect(sessionsBehind(xnys, at('2026-11-19T00:00:00Z'), true, at('2026-11-20T18:00:00Z'))).toBe(0);
    expect(sessionsBehind(xnys, at('2026-11-19T00:00:00Z'), true, at('2026-11-20T21:00:00Z'))).toBe(1);
  });
  test("intraday bars: the bar's own session is never counted, later sessions once they close", () => {
    // 10:00 New York on Friday the 20th: that session is the bar's own.
    expect(sessionsBehind(xnys, at('2026-11-20T15:00:00Z'), false, at('2026-11-22T12:00:00Z'))).toBe(0);
    expect(sessionsBehind(xnys, at('2026-11-20T15:00:00Z'), false, at('2026-11-24T12:00:00Z'))).toBe(1);
    // A bar stamped 2026-11-21 in UTC that is Friday evening in New York belongs to no later session.
    expect(sessionsBehind(xnys, at('2026-11-21T00:30:00Z'), false, at('2026-11-23T22:00:00Z'))).toBe(1);
  });
});
