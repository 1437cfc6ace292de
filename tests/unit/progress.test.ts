import { describe, expect, test } from '@jest/globals';
import { humanDuration, progressBar } from '../../src/core/progress.js';

describe('progress text', () => {
  test('a bar with the count and the time left at the pace so far', () => {
    expect(progressBar('chunks', { done: 0, total: 40, elapsedMs: 0 })).toBe('[....................] 0/40 chunks');
    // 10 chunks in 60 s: 30 more take 3 minutes.
    expect(progressBar('chunks', { done: 10, total: 40, elapsedMs: 60_000 })).toBe('[#####...............] 10/40 chunks, ETA 3m');
    expect(progressBar('chunks', { done: 40, total: 40, elapsedMs: 240_000 })).toBe('[####################] 40/40 chunks');
    // Work that grew past the plan (chunks other runs queued) shows the count alone.
    expect(progressBar('chunks', { done: 45, total: 40, elapsedMs: 1000 }, 4)).toBe('[####] 45/45 chunks');
    expect(progressBar('pages', { done: 0, total: 0, elapsedMs: 0 }, 4)).toBe('[####] 0/0 pages');
  });
  test('durations a person reads', () => {
    expect([humanDuration(-5), humanDuration(40_000), humanDuration(125 * 60_000), humanDuration(3 * 86_400_000 + 4 * 3_600_000)]).toEqual(['0s', '40s', '2h 5m', '3d 4h']);
  });
});
