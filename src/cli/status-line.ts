import type { Progress } from '../context.js';

type Spinner = ReturnType<typeof import('@clack/prompts').spinner>;

/**
 * Progress for a person at a terminal: one spinner line on stderr (a @clack/prompts spinner),
 * never anything on stdout. Log lines pass through `write`, which takes the spinner down,
 * writes the line and puts the spinner back under it, so that the two never share a line;
 * `done` takes it down and leaves nothing behind.
 */
export interface StatusLine extends Progress {
  write(text: string): void;
}

export function terminalStatusLine(stream: NodeJS.WriteStream): StatusLine {
  let message = '';
  let wanted = false;
  let spinner: Spinner | null = null;
  let shown = false;
  // clack loads on the first step: most commands (queries) never show progress.
  let loading: Promise<void> | null = null;

  // One line, however narrow the terminal: a message that wraps would leave its first line
  // behind when the spinner redraws.
  const fit = (m: string) => {
    const width = Math.max(10, (stream.columns ?? 80) - 8);
    return m.length > width ? `${m.slice(0, width - 1)}…` : m;
  };
  const show = () => {
    if (!spinner || shown || !wanted) return;
    // clack's spinner is made for prompts: it puts stdin in raw mode, where Ctrl-C exits 0, and
    // handles unhandled rejections by printing a message and going on. mdw keeps Node's ways:
    // Ctrl-C is SIGINT (clack clears the line, then it is raised again: exit 130), and an
    // unhandled rejection still ends the process.
    const listening = new Set(process.listeners('unhandledRejection'));
    spinner.start(fit(message));
    for (const l of process.listeners('unhandledRejection')) if (!listening.has(l)) process.off('unhandledRejection', l);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    shown = true;
  };
  const hide = () => {
    if (!spinner || !shown) return;
    spinner.clear();
    shown = false;
  };

  return {
    step(m) {
      message = m;
      wanted = true;
      if (shown) spinner!.message(fit(m));
      else if (spinner) show();
      else
        loading ??= import('@clack/prompts').then((clack) => {
          spinner = clack.spinner({
            output: stream,
            withGuide: false,
            cancelMessage: 'interrupted',
            onCancel: () => process.kill(process.pid, 'SIGINT'),
          });
          show();
        });
    },
    write(text) {
      const was = shown;
      hide();
      stream.write(text);
      if (was) show();
    },
    done() {
      wanted = false;
      hide();
    },
  };
}
