/** How a source column is read: as text, or as a number (never narrowed to an integer). */
export type ReadType = 'VARCHAR' | 'DOUBLE';

/** A column of raw records, as an adapter hands them to the transform. */
export interface RawColumn {
  readonly name: string;
  readonly type: ReadType;
}
