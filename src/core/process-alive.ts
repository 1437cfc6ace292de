/**
 * Whether a process of this machine is running: signal 0 tests without sending. A pid that a
 * process of another user holds (EPERM) is running; only ESRCH says there is none.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
