import { randomUUID } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import type { LakeStore } from './store.js';

/** The file in the lake's root that names the lake. */
export const lakeIdFile = '.mdw-lake-id';

/**
 * The lake's id, created (atomically, first writer wins) when the lake has none; null when the
 * lake's root is not there (a command run before `mdw init`).
 */
export async function lakeId(lake: LakeStore): Promise<string | null> {
  if (lake.stat('') === null) return null;
  const read = () => validLakeId(lake.read(lakeIdFile).toString('utf8').trim(), lake.locate(lakeIdFile));
  if (lake.stat(lakeIdFile) !== null) return read();
  const temp = lake.writeTemp(lakeIdFile, String(process.pid), `${randomUUID()}\n`);
  await lake.seal([temp]);
  lake.commitNew(temp, lakeIdFile);
  return read();
}

function validLakeId(text: string, file: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) {
    throw new ConfigError(`"${text}" is not a lake id (a UUID)`, { file });
  }
  return text.toLowerCase();
}
