import { literal } from './sql.js';

/**
 * What became of each row of a chunk: the `_state` column of the staged table. Set by the
 * record rules, the session rule, the dedupe and the compare with the lake; read by the
 * partition writes, the quarantine, the counts and replays. One union, one place.
 */
export type RowState =
  /** Stored: a new row, or one that changes what the lake holds. */
  | 'ok'
  /** Failed a record rule or the session rule: quarantined with its reasons. */
  | 'bad'
  /** Outside the run's window, symbols or hours: neither stored nor quarantined. */
  | 'filtered'
  /** An exact repeat of a row earlier in the chunk: kept once. */
  | 'dup'
  /** Repeats of a key with different values (in the chunk, or against what this run stored): all quarantined. */
  | 'conflict'
  /** The lake already holds this row with these values: nothing to write. */
  | 'same'
  /** Replays: the lake holds this key with other values, and an old record must not overwrite them. */
  | 'differs';

/** Rows that end in the lake, new or already there. */
export const placedStates = ['ok', 'dup', 'same'] as const satisfies readonly RowState[];
/** Rows that go to the quarantine. */
export const quarantinedStates = ['bad', 'conflict'] as const satisfies readonly RowState[];
/** Rows that repeat what is stored or staged (counted as deduplicated). */
export const repeatedStates = ['dup', 'same'] as const satisfies readonly RowState[];

/** `_state = 'ok'`, or `_state IN ('bad', 'conflict')`, for one state or several; `alias` qualifies the column. */
export function stateIs(states: RowState | readonly RowState[], alias = ''): string {
  const column = `${alias ? `${alias}.` : ''}_state`;
  const list = typeof states === 'string' ? [states] : states;
  return list.length === 1 ? `${column} = ${literal(list[0]!)}` : `${column} IN (${list.map(literal).join(', ')})`;
}

/** The SQL literal of a state, for CASE expressions and SET clauses. */
export function stateSql(state: RowState): string {
  return literal(state);
}

/** `_state <> 'filtered'`, or `_state NOT IN (...)`: rows in none of the states; `alias` qualifies the column. */
export function stateIsNot(states: RowState | readonly RowState[], alias = ''): string {
  const column = `${alias ? `${alias}.` : ''}_state`;
  const list = typeof states === 'string' ? [states] : states;
  return list.length === 1 ? `${column} <> ${literal(list[0]!)}` : `${column} NOT IN (${list.map(literal).join(', ')})`;
}
