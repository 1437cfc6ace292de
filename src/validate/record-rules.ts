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

const recordRules: Record<RecordRuleKind, (spec: RecordRuleSpec, def: DatasetDef) => CompiledRule> = {
  required: (_spec, def) => {
    // A value that is there but unreadable is already a 'parse' failure, not a missing one.
    const missing = (c: string) =>
      `(${col(c)} IS NULL AND NOT coalesce(list_contains(list_transform(_errors, e -> split_part(e, ':', 1)), ${literal(c)}), false))`;
    const cols = def.columns.filter((c) => c.required).map((c) => c.name);
    return {
      violated: cols.map(missing).join(' OR '),
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
  positive_prices: (_spec, def) => {
    const prices = def.columns.filter((c) => c.role === 'price').map((c) => c.name);
    return {
      violated: `coalesce(${prices.map((p) => `${col(p)} <= 0`).join(' OR ')}, false)`,
      detail: `array_to_string(list_filter([${prices.map((p) => `CASE WHEN ${col(p)} <= 0 THEN ${literal(`${p} `)} || ${num(p)} || ' <= 0' END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
    };
  },
  non_negative_volume: (_spec, def) => {
    const vols = def.columns.filter((c) => c.role === 'volume').map((c) => c.name);
    return {
      violated: `coalesce(${vols.map((v) => `${col(v)} < 0`).join(' OR ')}, false)`,
      detail: `array_to_string(list_filter([${vols.map((v) => `CASE WHEN ${col(v)} < 0 THEN ${literal(`${v} `)} || ${num(v)} || ' < 0' END`).join(', ')}], x -> x IS NOT NULL), ', ')`,
    };
  },
};

/**
 * Wraps a transformed relation with `_rules` (names of the rules a row breaks, 'parse' first when
 * a value could not be read; NULL when none) and `_detail` (why, for people). Pure: returns SQL.
 */
export function compileRecordRules(input: { rules: ValidationRules; dataset: DatasetDef; from: string }): string {
  const compiled = input.rules.rules.map((spec) => ({ name: spec.rule, ...recordRules[spec.rule](spec, input.dataset) }));
  const names = [`CASE WHEN _errors IS NOT NULL THEN 'parse' END`, ...compiled.map((r) => `CASE WHEN ${r.violated} THEN ${literal(r.name)} END`)];
  // The list is built only for rows that break a rule: a list per row costs an allocation.
  const any = ['_errors IS NOT NULL', ...compiled.map((r) => `(${r.violated})`)].join(' OR ');
  const details = [
    `CASE WHEN _errors IS NOT NULL THEN 'parse: ' || array_to_string(_errors, '; ') END`,
    ...compiled.map((r) => `CASE WHEN ${r.violated} THEN ${literal(`${r.name}: `)} || ${r.detail} END`),
  ];
  return [
    // The detail text is only built for the rows that break a rule.
    `SELECT *, CASE WHEN _rules IS NOT NULL THEN array_to_string(list_filter([${details.join(', ')}], x -> x IS NOT NULL), '; ') END AS _detail`,
    'FROM (',
    `  SELECT *, CASE WHEN ${any} THEN list_filter([${names.join(', ')}], x -> x IS NOT NULL) END AS _rules`,
    `  FROM ${input.from}`,
    ')',
  ].join('\n');
}
