import { InvariantError } from '../core/errors.js';
import type { LineageRow } from './staged-chunk.js';

/**
 * Every record an input holds ends up stored, repeated (an exact repeat, or a row the lake
 * already holds), quarantined or filtered. `records`: each input's records as the adapter
 * counted them from its bytes, apart from the reader that produced the batch; `lineage`: where
 * the staged batch put them. A record missing from both sides of this sum was lost without a
 * trace (a reader that dropped lines), so the batch fails before anything is written. Pure.
 */
export function checkAccounted(records: ReadonlyMap<string, number> | undefined, lineage: readonly LineageRow[]): void {
  if (!records) return;
  const placed = new Map<string, { stored: number; repeats: number; quarantined: number; filtered: number }>();
  for (const l of lineage) {
    const p = placed.get(l.input) ?? { stored: 0, repeats: 0, quarantined: 0, filtered: 0 };
    placed.set(l.input, { stored: p.stored + l.out, repeats: p.repeats + l.deduped, quarantined: p.quarantined + l.quarantined, filtered: p.filtered + l.filtered });
  }
  const wrong = [...records].flatMap(([input, read]) => {
    const p = placed.get(input) ?? { stored: 0, repeats: 0, quarantined: 0, filtered: 0 };
    const total = p.stored + p.repeats + p.quarantined + p.filtered;
    return total === read
      ? []
      : [`${input}: ${read} records read, ${total} accounted for (${p.stored} stored, ${p.repeats} repeats, ${p.quarantined} quarantined, ${p.filtered} filtered)`];
  });
  if (wrong.length === 0) return;
  throw new InvariantError(
    `records went missing between reading and loading, so nothing of this batch is written: ${wrong[0]}` +
      (wrong.length > 1 ? `; and ${wrong.length - 1} more input${wrong.length > 2 ? 's' : ''}` : ''),
  );
}
