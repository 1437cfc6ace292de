import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { terminalStatusLine } from '../../src/cli/status-line.js';
import { screen } from '../support/terminal.js';

/** A terminal's stderr: what is written to it, kept. */
class Terminal extends Writable {
  readonly isTTY = true;
  readonly columns = 80;
  readonly rows = 24;
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, next: () => void): void {
    this.text += chunk.toString();
    next();
  }
}

/** Waits for something the spinner draws on its own clock; the test's timeout bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const frame = /^[◒◐◓◑•oO0] {2}/;

describe('the progress line on a terminal', () => {
  // mdw draws this line only where CI is not "true" (see run-command.ts); clack, which draws it,
  // prints every step as a line of its own under CI=true, as a runner of these tests may set.
  const ci = process.env.CI;
  beforeAll(() => {
    delete process.env.CI;
  });
  afterAll(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  test('a spinner shows the step; log lines are written above it, whole; done leaves only them, with the cursor back', async () => {
    const tty = new Terminal();
    const status = terminalStatusLine(tty as unknown as NodeJS.WriteStream);
    status.step('demo: reading 3 inputs');
    await until(() => tty.text.includes('demo: reading 3 inputs'));
    expect(screen(tty.text).cursorVisible).toBe(false);
    expect(screen(tty.text).lines).toEqual([expect.stringMatching(new RegExp(`${frame.source}demo: reading 3 inputs\\.{0,3}$`))]);

    status.write('info: a line logged meanwhile\n');
    status.step('demo: writing 1 of 1 partitions');
    const logged = tty.text.length;
    await until(() => tty.text.slice(logged).includes('demo: writing 1 of 1 partitions'));
    status.write('warn: another\n');
    const again = tty.text.length;
    await until(() => tty.text.slice(again).includes('demo: writing 1 of 1 partitions'));
    const during = screen(tty.text).lines;
    expect(during.slice(0, 2)).toEqual(['info: a line logged meanwhile', 'warn: another']);
    expect(during.slice(2)).toEqual([expect.stringMatching(new RegExp(`${frame.source}demo: writing 1 of 1 partitions\\.{0,3}$`))]);

    status.done();
    expect(screen(tty.text)).toEqual({ lines: ['info: a line logged meanwhile', 'warn: another'], cursorVisible: true });
    // Taken down for good: no frame is drawn after it.
    const after = tty.text.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tty.text.length).toBe(after);
    // A log line after the end is written as it is.
    status.write('info: done\n');
    expect(screen(tty.text)).toEqual({ lines: ['info: a line logged meanwhile', 'warn: another', 'info: done'], cursorVisible: true });
  });

  test('work that ends before the spinner could be drawn leaves the terminal untouched', async () => {
    const tty = new Terminal();
    const status = terminalStatusLine(tty as unknown as NodeJS.WriteStream);
    status.step('demo: reading 1 input');
    status.done();
    await import('@clack/prompts');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tty.text).toBe('');
  });

  test('a step longer than the terminal is cut to one line, so that redrawing it never leaves a line behind', async () => {
    const tty = new Terminal();
    const status = terminalStatusLine(tty as unknown as NodeJS.WriteStream);
    status.step(`demo: ${'x'.repeat(200)}`);
    await until(() => tty.text.includes('demo: x'));
    // 80 columns: the frame, two spaces, 72 characters of the step (the last one …), the dots.
    expect(screen(tty.text).lines).toEqual([expect.stringMatching(new RegExp(`${frame.source}demo: x{65}…\\.{0,3}$`))]);
    status.done();
    expect(screen(tty.text)).toEqual({ lines: [], cursorVisible: true });
  });
});
