/**
 * The one seam between mdw and the bytes of a lake: every lake file operation (raw landing,
 * partition writes, recovery, audit integrity, reads that resolve files) goes through a
 * LakeStore. The local disk is its first implementation (local-store.ts); an object store and
 * backups are the next ones, so the operations are those both can keep:
 *
 * - objects are named by uri: relative to the store's root, '/'-separated, no leading '/';
 * - a new object is written under a temporary uri beside its final one, sealed (made durable
 *   and hashed), then committed (put in place in one step, or not at all);
 * - readers outside the store (DuckDB) open what `locate` gives them.
 *
 * The calls are synchronous where today's callers need them to be (landing a page, listing
 * folders while resolving a query); sealing, which fsyncs and hashes many files, is not.
 */
export interface LakeStore {
  /** What a reader or writer outside the store opens for an object: a local path here, a URL for an object store. */
  locate(uri: string): string;
  /** The uri of something `locate` returned. */
  uriOf(location: string): string;
  /** The entries directly under a folder uri (empty for a folder that is not there), unsorted. */
  list(dir: string): StoreEntry[];
  /** Size and a version stamp (changes whenever the object is replaced), or null when absent. */
  stat(uri: string): StoreStat | null;
  read(uri: string): Buffer;
  /** sha256 and size of an object's bytes as stored. */
  hash(uri: string): Promise<StoredObject>;
  /**
   * Makes a folder (and its parents) exist durably before objects are written into it; a
   * store without folders does nothing.
   */
  prepare(dir: string): void;
  /** The temporary uri beside `uri` that a writer (DuckDB, a page) writes its new object to; `tag` keeps concurrent writers apart. */
  tempOf(uri: string, tag: string): string;
  /** Writes bytes to the temporary uri of `uri` and returns it; commit puts them in place. */
  writeTemp(uri: string, tag: string, data: Uint8Array | string): string;
  /**
   * Makes written temporary objects durable (the objects and the folders that name them) and
   * returns their hashes and sizes, in order, for the manifest. A crash after this keeps them.
   */
  seal(uris: readonly string[]): Promise<StoredObject[]>;
  /** Puts a sealed temporary object in place of `uri`, atomically and durably. */
  commit(tempUri: string, uri: string): void;
  /**
   * Like commit, but only where nothing is at `uri` yet (the first of concurrent writers wins);
   * false, and the temporary object removed, when something was.
   */
  commitNew(tempUri: string, uri: string): boolean;
  /**
   * Makes `to` hold the bytes of `from` as well, durably, leaving `from` in place: a hard link
   * where the store can make one, else a copy. Retention keeps a file in the trash or the
   * archive this way before the catalog forgets it, and removes the lake's name after.
   */
  keep(from: string, to: string): void;
  /** Removes objects or folders (with what they hold), durably; what is not there is skipped. */
  remove(uris: readonly string[]): void;
}

export interface StoreEntry {
  readonly name: string;
  readonly folder: boolean;
}

export interface StoreStat {
  readonly bytes: number;
  /** Identifies this version of the object (on disk: size, mtime and inode). */
  readonly version: string;
}

export interface StoredObject {
  readonly sha256: string;
  readonly bytes: number;
}

/** The uri of `name` in folder `dir` ('' is the root). */
export function childUri(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** The folder uri of an object uri ('' for the root). */
export function parentUri(uri: string): string {
  const i = uri.lastIndexOf('/');
  return i < 0 ? '' : uri.slice(0, i);
}

/** The last segment of a uri. */
export function baseName(uri: string): string {
  return uri.slice(uri.lastIndexOf('/') + 1);
}
