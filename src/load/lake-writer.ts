/**
 * The load stage, cut along its steps: staging (stage.ts), partition writing
 * (write-partitions.ts), series scoring (series-score.ts) and sealing (seal.ts), over the
 * staged chunk they share (staged-chunk.ts). This file only gathers their exports for callers
 * that still import them from here.
 */
export { periodLabel, periodSql, previousPeriod } from './periods.js';
export { commitPartitions, partitionFileStats, sealPartitions } from './seal.js';
export { flagCounts } from './series-score.js';
export { stageBatch } from './stage.js';
export {
  checkedTable,
  releaseStage,
  removedTable,
  type BatchCounts,
  type LineageRow,
  type PartitionPlan,
  type SealedPartition,
  type SeriesStats,
  type SeriesTarget,
  type SeriesWrite,
  type StagePlan,
  type WrittenPartition,
} from './staged-chunk.js';
export { writePartitions } from './write-partitions.js';
