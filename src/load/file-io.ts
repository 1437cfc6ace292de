/**
 * The local disk's durable rename and fsync now live in the lake store (lake/local-store.ts);
 * these names stay exported for pipeline/run-ingest.ts until it commits quarantine files
 * through load/quarantine.ts (sealQuarantine, commitQuarantine). Then this file goes.
 */
export { fsyncFileAsync, renameDurably } from '../lake/local-store.js';
