import type { RecordRuleKind, RecordRuleSpec, ValidationRules } from '../config/types.js';
import type { DatasetDef } from '../core/datasets.js';
import { ident, literal } from '../core/sql.js';

/** A record rule as SQL over canonical columns: when `violated` is true the row is quarantined. */
interface CompiledRule {
  readonly violated: string;
  /** Text explaining the failure for this row. */
  readonly detail: string;
}

const col = ident;
const num = (c: string) => `coalesce(CAST(${col(c)} AS VARCHAR), 'null')`;

/** The dataset's columns that this batch carries (the transform produces them). */
type Present = (name: string) => boolean;

/** Every one of these columns above zero where it has a value. */
function positive(cols: readonly string[]): CompiledRule {
  if (cols.length === 0) return { violated: '', detail: "''" };
  return {
    violated: `coalesce(${cols.map((c) => `${col(c)} <= 0`).join(' OR ')}, false)`,
    detail: `array_to_string(list_filter([${cols.map((c) => `CASE WHEN ${col(c)} <= 0 THEN ${literal(`${c} `)} || ${num(c)} || ' <= 0' END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
  };
}

const recordRules: Record<RecordRuleKind, (spec: RecordRuleSpec, def: DatasetDef, present: Present) => CompiledRule> = {
  required: (spec, def) => {
    // A value that is there but unreadable is already a 'parse' failure, not a missing one.
    const missing = (c: string) => `(${col(c)} IS NULL AND NOT contains('; ' || coalesce(_errors, ''), ${literal(`; ${c}:`)}))`;
    // A source that never has a column (CoinGecko's candles carry no volume) names the ones it must have.
    const cols = spec.columns ? [...spec.columns] : def.columns.filter((c) => c.required).map((c) => c.name);
    return {
      // The list lookup only runs for the rare rows with a parse error.
      violated: `CASE WHEN _errors IS NULL THEN ${cols.map((c) => `${col(c)} IS NULL`).join(' OR ')} ELSE ${cols.map(missing).join(' OR ')} END`,
      detail: `'missing ' || array_to_string(list_filter([${cols.map((c) => `CASE WHEN ${missing(c)} THEN ${literal(c)} END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
    };
  },
  ohlc_bracket: (spec) => {
    // A relative tolerance absorbs rounding in back-adjusted files; 0 means exact.
    const slack = (x: string) => (spec.tolerance ? `(${x} * (1 + ${literal(spec.tolerance)}))` : x);
    const lowSlack = (x: string) => (spec.tolerance ? `(${x} * (1 - ${literal(spec.tolerance)}))` : x);
    const highBelowBody = `${slack('high')} < greatest(open, close)`;
    const lowAboveBody = `${lowSlack('low')} > least(open, close)`;
    const highBelowLow = `${slack('high')} < low`;
    return {
      violated: `coalesce(${highBelowBody} OR ${lowAboveBody} OR ${highBelowLow}, false)`,
      detail:
        `'open ' || ${num('open')} || ' high ' || ${num('high')} || ' low ' || ${num('low')} || ' close ' || ${num('close')} || ': ' || ` +
        `array_to_string(list_filter([` +
        `CASE WHEN ${highBelowLow} THEN 'high < low' END, ` +
        `CASE WHEN ${highBelowBody} THEN 'high < max(open, close)' END, ` +
        `CASE WHEN ${lowAboveBody} THEN 'low > min(open, close)' END], x -> x IS NOT NULL), ', ')`,
    };
  },
  positive_prices: (_spec, def, present) => positive(def.columns.filter((c) => c.role === 'price' && present(c.name)).map((c) => c.name)),
  non_negative_volume: (_spec, def, present) => {
    const vols = def.columns.filter((c) => c.role === 'volume' && present(c.name)).map((c) => c.name);
    if (vols.length === 0) return { violated: '', detail: "''" };
    return {
      violated: `coalesce(${vols.map((v) => `${col(v)} < 0`).join(' OR ')}, false)`,
      detail: `array_to_string(list_filter([${vols.map((v) => `CASE WHEN ${col(v)} < 0 THEN ${literal(`${v} `)} || ${num(v)} || ' < 0' END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
    };
  },
  max_move: (spec) => {
    // Open to close of one bar; a bigger move is a bad print far more often than a real one.
    const move = `abs(close / open - 1)`;
    return {
      violated: `coalesce(open > 0 AND ${move} > ${literal(spec.limit!)}, false)`,
      detail: `'open ' || ${num('open')} || ' close ' || ${num('close')} || ': a move of ' || round(100 * ${move}, 1) || '% is over ' || ${literal(`${spec.limit! * 100}%`)}`,
    };
  },
  // Needs the calendar's sessions: run as a join after the row rules (validate/session-rule.ts).
  in_session: () => ({ violated: '', detail: "''" }),
  // A column the transform does not produce is NULL in every row: nothing to check.
  positive: (spec, _def, present) => positive(spec.columns!.filter(present)),
  one_of: (spec, _def, present) => {
    const cols = spec.columns!.filter(present);
    if (cols.length === 0) return { violated: '', detail: "''" };
    const values = `[${spec.values!.map(literal).join(', ')}]`;
    const bad = (c: string) => `(${col(c)} IS NOT NULL AND NOT list_contains(${values}, CAST(${col(c)} AS VARCHAR)))`;
    return {
      violated: `coalesce(${cols.map(bad).join(' OR ')}, false)`,
      detail:
        `array_to_string(list_filter([${cols.map((c) => `CASE WHEN ${bad(c)} THEN ${literal(`${c} "`)} || ${col(c)} || '" is not one of ' || ${literal(spec.values!.join(', '))} END`).join(', ')}], x -> x IS NOT NULL), '; ')`,
    };
  },
  required_when: (spec, _def, present) => {
    const when = Object.entries(spec.when!)
      .map(([c, values]) => (present(c) ? `${col(c)} IN (${values.map(literal).join(', ')})` : 'false'))
      .join(' AND ');
    const missing = (c: string) => (present(c) ? `${col(c)} IS NULL` : 'true');
    const described = Object.entries(spec.when!)
      .map(([c, values]) => `${c} ${values.join('/')}`)
      .join(', ');
    return {
      violated: `coalesce((${when}) AND (${spec.columns!.map(missing).join(' OR ')}), false)`,
      detail:
        `${literal(`${described} needs `)} || array_to_string(list_filter([${spec.columns!.map((c) => `CASE WHEN ${missing(c)} THEN ${literal(c)} END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
    };
  },
};

/**
 * The plausibility bounds of a dataset, as the validation file may move them: prices and
 * volumes below their ceilings, the time column from the earliest date to a little ahead of
 * `now`. Always enforced, like required keys: a value past them is a broken file, not data.
 */
function plausible(def: DatasetDef, rules: ValidationRules, present: Present, now: Date): CompiledRule {
  const b = rules.bounds ?? {};
  const maxPrice = b.max_price ?? def.plausible.maxPrice;
  const maxVolume = b.max_volume ?? def.plausible.maxVolume;
  const earliest = b.earliest ?? def.plausible.earliest;
  const aheadDays = b.ahead_days ?? def.plausible.aheadDays;
  const latest = new Date(Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00Z`) + (aheadDays + 1) * 86_400_000).toISOString().slice(0, 10);
  const checks: { bad: string; why: string }[] = [];
  const ceiling = (c: string, max: number, key: string) =>
    checks.push({ bad: `${col(c)} > ${literal(max)}`, why: `${literal(`${c} `)} || ${num(c)} || ${literal(` is above ${max} (bounds.${key})`)}` });
  for (const c of def.columns) {
    if (!present(c.name)) continue;
    if (c.role === 'price' && maxPrice !== null) ceiling(c.name, maxPrice, 'max_price');
    if (c.role === 'volume' && maxVolume !== null) ceiling(c.name, maxVolume, 'max_volume');
  }
  const ts = col(def.timeColumn);
  const shown = `strftime(${ts}, '%Y-%m-%dT%H:%M:%SZ')`;
  checks.push({ bad: `${ts} < TIMESTAMP ${literal(earliest)}`, why: `${literal(`${def.timeColumn} `)} || ${shown} || ${literal(` is before ${earliest} (bounds.earliest)`)}` });
  checks.push({
    bad: `${ts} >= TIMESTAMP ${literal(latest)}`,
    why: `${literal(`${def.timeColumn} `)} || ${shown} || ${literal(` is more than ${aheadDays} days after ${now.toISOString().slice(0, 10)} (bounds.ahead_days)`)}`,
  });
  return {
    violated: `coalesce(${checks.map((c) => c.bad).join(' OR ')}, false)`,
    detail: `array_to_string(list_filter([${checks.map((c) => `CASE WHEN ${c.bad} THEN ${c.why} END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
  };
}

/** The longest symbol stored: OCC option symbols are 21 characters, 23 with Polygon's "O:". */
export const maxSymbolLength = 32;

/**
 * Printable ASCII but the backslash, in words separated by spaces (OCC symbols pad with them).
 * A slash stays: crypto pairs are BTC/USD, and a partition folder's name encodes it.
 */
const symbolPattern = '[!-[\\]-~]+( +[!-[\\]-~]+)*';

/**
 * Checks every dataset gets, whatever its validation rules say: what the lake and the catalog
 * can hold at all. A symbol names a partition folder and a catalog row, so it is a short run of
 * printable characters without NUL or backslash (times are bounded by plausible).
 */
function builtInRules(def: DatasetDef, present: Present): (CompiledRule & { readonly name: string })[] {
  const rules: (CompiledRule & { readonly name: string })[] = [];
  const sym = def.symbolColumn;
  if (sym && present(sym)) {
    const s = col(sym);
    const shown = `'"' || CASE WHEN length(${s}) > 40 THEN left(${s}, 40) || '…' ELSE ${s} END || '"'`;
    rules.push({
      name: 'symbol_format',
      violated: `coalesce(length(${s}) > ${maxSymbolLength} OR NOT regexp_full_match(${s}, ${literal(symbolPattern)}), false)`,
      detail:
        `${shown} || CASE WHEN length(${s}) > ${maxSymbolLength} THEN ' is ' || length(${s}) || ' characters long, over ${maxSymbolLength}' ` +
        `WHEN regexp_matches(${s}, '[\\x00-\\x1f\\x7f]') THEN ' holds a control character' ` +
        `WHEN regexp_matches(${s}, '[\\\\]') THEN ' holds a backslash' ` +
        `WHEN regexp_matches(${s}, '[^ -~]') THEN ' holds a character outside printable ASCII' ` +
        `ELSE ' is empty or starts or ends with a space' END`,
    });
  }
  return rules;
}

/** Record rules as SQL in two steps, cheap for the many rows that pass and exact for the few that fail. */
export interface CompiledRecordRules {
  /** True for a row that breaks a rule or has an unreadable value: the row is quarantined. */
  readonly failed: string;
  /**
   * For a table of transformed rows: sets `_rules` (comma-separated names, 'parse' first) and
   * `_detail` (why, for people) on the rows `where` picks.
   */
  explain(table: string, where: string): string;
}

/**
 * Compiles the record rules over the transformed columns (`columns`: those the batch carries).
 * The rules are one boolean expression per row; the names and texts are built afterwards only
 * for rows that failed, which costs far less than building them (even as NULL) for every row.
 * Pure: returns SQL.
 */
export function compileRecordRules(input: { rules: ValidationRules; dataset: DatasetDef; columns: readonly string[]; now: Date }): CompiledRecordRules {
  const present: Present = (name) => input.columns.includes(name);
  const compiled = [
    ...builtInRules(input.dataset, present),
    ...input.rules.rules.map((spec) => ({ name: spec.rule as string, ...recordRules[spec.rule](spec, input.dataset, present) })),
    { name: 'plausible', ...plausible(input.dataset, input.rules, present, input.now) },
  ].filter((r) => r.violated !== '');
  const flag = (r: CompiledRule) => `coalesce(${r.violated}, false)`;
  const names = [`CASE WHEN _errors IS NOT NULL THEN 'parse' END`, ...compiled.map((r) => `CASE WHEN ${flag(r)} THEN ${literal(r.name)} END`)];
  const details = [`CASE WHEN _errors IS NOT NULL THEN 'parse: ' || _errors END`, ...compiled.map((r) => `CASE WHEN ${flag(r)} THEN ${literal(`${r.name}: `)} || ${r.detail} END`)];
  return {
    failed: ['_errors IS NOT NULL', ...compiled.map(flag)].join(' OR '),
    explain: (table, where) =>
      `UPDATE ${table} SET _rules = concat_ws(',', ${names.join(', ')}), _detail = concat_ws('; ', ${details.join(', ')}) WHERE ${where}`,
  };
}
