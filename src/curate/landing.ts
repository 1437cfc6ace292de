import { createHash } from 'node:crypto';
import type { CurateInputs } from '../catalog/curate-catalog.js';
import type { Context } from '../context.js';
import { literal } from '../core/sql.js';
import { localStore } from '../lake/local-store.js';
import { childUri } from '../lake/store.js';

/**
 * Landing computed documents (gold partitions, resampled groups) for their load. A document is
 * named `<stem>.<key>...ndjson`: its stem says what it covers (a partition, a symbol's folder),
 * the keys what it was computed from and how, so a document already landed is not computed
 * again and a changed one replaces its stem's earlier document.
 */

/** A short key of a JSON value, for document names. */
export const docKey = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** The stem of a landed document's name (everything before its keys), or null for other files. */
export function docStem(name: string): string | null {
  const m = /^(.*?)((?:\.[0-9a-f]{16})+)\.ndjson$/.exec(name);
  return m ? m[1]! : null;
}

/** The keys of a landed document's name, in order. */
export function docKeys(name: string): string[] {
  const stem = docStem(name);
  return stem === null ? [] : name.slice(stem.length + 1, -'.ndjson'.length).split('.');
}

/** How a curate output lands its documents: for which symbols, for real or not, and where their inputs are recorded. */
export interface LandOptions {
  readonly symbols: readonly string[] | null;
  readonly dryRun: boolean;
  /** Records what the documents about to be committed were computed from, and forgets the ones they replace. */
  readonly record: (inputs: CurateInputs[], removed: string[]) => Promise<void>;
}

/** One document to land: its stem and name, what it is computed from, and the SELECT that computes it (null: an empty document). */
export interface DocPlan {
  readonly stem: string;
  readonly name: string;
  /** The partition files (lake URIs) it is computed from. */
  readonly partitions: readonly string[];
  readonly sql: () => Promise<string | null>;
}

export interface Landed {
  /** Documents computed and landed (their inputs changed). */
  readonly changed: number;
  /** Rows in those documents. */
  readonly rows: number;
  /** Nothing is landed at all (or a dry run): there is nothing to load. */
  readonly empty: boolean;
}

/**
 * Lands the documents not landed yet under `dir` (a lake URI): each is computed into a sealed
 * temporary file, what it was computed from is recorded in the catalog (before any document
 * takes its place, so no landed document lacks its lineage), then each is committed in place
 * and its stem's earlier documents removed. A dry run counts what would change.
 */
export async function landDocuments(ctx: Context, dir: string, plans: readonly DocPlan[], dryRun: boolean, record: LandOptions['record']): Promise<Landed> {
  const store = localStore(ctx.paths.lake);
  if (!dryRun) store.prepare(dir);
  const landed = store.list(dir).filter((e) => !e.folder && docStem(e.name) !== null).map((e) => e.name);
  const todo = plans.filter((p) => !landed.includes(p.name));
  if (dryRun) return { changed: todo.length, rows: 0, empty: true };
  const duck = await ctx.duck();
  let rows = 0;
  const written: { uri: string; temp: string; plan: DocPlan }[] = [];
  for (const plan of todo) {
    const uri = childUri(dir, plan.name);
    const temp = store.tempOf(uri, String(process.pid));
    const sql = await plan.sql();
    if (sql === null) {
      // Inputs without a row: an empty document, so that they are not computed again.
      store.writeTemp(uri, String(process.pid), '');
    } else {
      // COPY answers with the rows it wrote.
      const [copied] = await duck.all<{ Count: number }>(`COPY (${sql}) TO ${literal(store.locate(temp))} (FORMAT JSON)`);
      rows += Number(copied!.Count);
    }
    written.push({ uri, temp, plan });
  }
  await store.seal(written.map((w) => w.temp));
  const earlier = (stem: string, name: string) => landed.filter((l) => l !== name && docStem(l) === stem).map((l) => childUri(dir, l));
  await record(
    written.map((w) => ({ doc: store.locate(w.uri), partitions: w.plan.partitions, actionBatches: [] })),
    written.flatMap((w) => earlier(w.plan.stem, w.plan.name).map((u) => store.locate(u))),
  );
  for (const w of written) {
    store.commit(w.temp, w.uri);
    store.remove(earlier(w.plan.stem, w.plan.name));
  }
  return { changed: written.length, rows, empty: store.list(dir).every((e) => docStem(e.name) === null) };
}
