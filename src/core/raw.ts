/** How a source column is read: as text, or as a number (never narrowed to an integer). */
export type ReadType = 'VARCHAR' | 'DOUBLE';

/** A column of raw records, as an adapter hands them to the transform. */
export interface RawColumn {
  readonly name: string;
  readonly type: ReadType;
  /** The reader already turned the null markers into NULL (CSV's nullstr). */
  readonly nullsMapped?: boolean;
  /**
   * Its name in the relation, when that is not `name`: SQL names ignore case, so of two
   * fields that differ only in case (Polygon's T and t) the second is renamed.
   */
  readonly sql?: string;
}

/** Texts that mean "no value" unless a transform lists its own (`nulls:`). */
export const defaultNulls: readonly string[] = ['', 'null', 'NULL', 'NaN', 'nan', 'N/A', 'NA', '#N/A'];

/**
 * Raw columns for these fields, in order. SQL names ignore case: of two fields that differ
 * only in case (Polygon's T and t), the later one gets a name of its own in the relation.
 */
export function rawColumns(fields: Readonly<Record<string, ReadType>>): RawColumn[] {
  const seen = new Set<string>();
  return Object.entries(fields).map(([name, type], i) => {
    const clash = seen.has(name.toLowerCase());
    seen.add(name.toLowerCase());
    return { name, type, ...(clash ? { sql: `${name}_${i}` } : {}) };
  });
}
