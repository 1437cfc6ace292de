import type { DuckSession } from '../lake/duckdb.js';

/**
 * A few DuckDB connections on one database, lent one request at a time: a connection runs one
 * statement at a time, and more connections than cores only queue inside DuckDB. A request
 * waits for a free one in the order it came.
 */
export class SessionPool {
  private readonly free: DuckSession[];
  private readonly waiting: ((session: DuckSession) => void)[] = [];

  private constructor(private readonly sessions: readonly DuckSession[]) {
    this.free = [...sessions];
  }

  /** `size` connections on the database of `root` (made before it is confined). */
  static async open(root: DuckSession, size: number): Promise<SessionPool> {
    const sessions: DuckSession[] = [];
    for (let i = 0; i < Math.max(1, size); i++) sessions.push(await root.connect());
    return new SessionPool(sessions);
  }

  async with<T>(fn: (session: DuckSession) => Promise<T>): Promise<T> {
    const session = this.free.pop() ?? (await new Promise<DuckSession>((resolve) => this.waiting.push(resolve)));
    try {
      return await fn(session);
    } finally {
      const next = this.waiting.shift();
      if (next) next(session);
      else this.free.push(session);
    }
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
