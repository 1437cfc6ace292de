import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DatasetName } from '../core/datasets.js';
import type { PartitionPeriod } from './types.js';
import { loadYamlFile } from './load-yaml.js';

/** As written in configs/retention.yml (schema: configs/schema/retention.schema.json). */
interface RetentionSpec {
  readonly policies: readonly PolicySpec[];
}

interface PolicySpec {
  readonly name?: string;
  readonly dataset: DatasetName;
  readonly source?: string;
  readonly granularity?: string;
  readonly raw?: boolean;
  readonly keep?: { readonly days?: number; readonly sessions?: number };
  readonly then?: 'archive' | 'delete';
  readonly compact?: boolean | { readonly below?: number | string; readonly into?: PartitionPeriod };
}

/** What a policy keeps: the last N days, or the last N ended sessions of the series' calendar. */
export type Keep = { readonly days: number } | { readonly sessions: number };

export type RetireAction = 'archive' | 'delete';

/** One policy, checked. */
export interface RetentionPolicy {
  readonly name: string;
  readonly dataset: DatasetName;
  /** null: every source (granularity) of the dataset. */
  readonly source: string | null;
  readonly granularity: string | null;
  /** The raw landing of (source, dataset): pages by the day they were fetched. */
  readonly raw: boolean;
  /** null: the policy retires nothing (it only compacts). */
  readonly keep: Keep | null;
  readonly then: RetireAction | null;
  /** null: the policy does not compact (mdw retention --compact does it with defaultCompaction). */
  readonly compact: Compaction | null;
  /** The line of the policy in its file, for messages. */
  readonly at: string;
}

/**
 * What compaction does to a series: its partitions whose current files are fragmented are
 * rewritten with whole row groups, and a symbol's partitions of one period of the next grain
 * up (a month of day partitions) whose files add up to less than `belowBytes` are merged into
 * one partition of that grain, once that period has ended.
 */
export interface Compaction {
  readonly belowBytes: number;
  /** The grain to merge into; null: the next one up from the series' grain. */
  readonly into: PartitionPeriod | null;
}

/** What mdw retention --compact does to a series no policy compacts: merges below 8 MiB. */
export const defaultCompaction: Compaction = { belowBytes: 8 * 2 ** 20, into: null };

const sizeUnits: Record<string, number> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30 };

/** A size as written in a policy: bytes, or 512KB, 8MB, 1.5GB (units of 1024). Null when it is not one. */
export function parseSize(value: number | string): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)\s*$/i.exec(value);
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * sizeUnits[m[2]!.toUpperCase()]!);
  return bytes > 0 ? bytes : null;
}

export interface RetentionConfig {
  readonly file: string;
  readonly policies: readonly RetentionPolicy[];
}

export function retentionFile(configDir: string): string {
  return path.join(configDir, 'retention.yml');
}

/**
 * configs/retention.yml (or another file), checked against its schema; policy names are
 * unique. A missing default file is no policy at all (nothing is retired); a file named on the
 * command line must exist.
 */
export function loadRetentionConfig(file: string, env: NodeJS.ProcessEnv, options: { readonly required: boolean }): RetentionConfig {
  if (!options.required && !existsSync(file)) return { file, policies: [] };
  const yaml = loadYamlFile<RetentionSpec>(file, 'retention', env);
  const seen = new Set<string>();
  const policies = yaml.value.policies.map((p, i): RetentionPolicy => {
    const name = p.name ?? [p.raw ? 'raw' : null, p.dataset, p.source, p.granularity].filter(Boolean).join('/');
    if (seen.has(name)) throw yaml.errorAt(`/policies/${i}${p.name ? '/name' : ''}`, `a second policy named "${name}": give each policy its own name`);
    seen.add(name);
    const err = yaml.errorAt(`/policies/${i}`, '');
    if (p.raw && p.keep?.sessions !== undefined) throw yaml.errorAt(`/policies/${i}/keep`, 'the raw landing is kept by the day its pages were fetched: keep: { days: N }');
    if (p.raw && p.granularity !== undefined) throw yaml.errorAt(`/policies/${i}/granularity`, 'the raw landing has no bar size: a raw policy names a dataset and optionally a source');
    if (p.raw && p.compact) throw yaml.errorAt(`/policies/${i}/compact`, 'the raw landing holds pages, not Parquet: there is nothing to compact');
    return {
      name,
      dataset: p.dataset,
      source: p.source ?? null,
      granularity: p.granularity ?? null,
      raw: p.raw ?? false,
      keep: p.keep ? (p.keep.days !== undefined ? { days: p.keep.days } : { sessions: p.keep.sessions! }) : null,
      then: p.then ?? null,
      compact: compactionOf(p.compact, (where, why) => yaml.errorAt(`/policies/${i}/compact${where}`, why)),
      at: `${path.basename(file)}:${err.line ?? 1}`,
    };
  });
  return { file, policies };
}

function compactionOf(spec: PolicySpec['compact'], error: (where: string, why: string) => Error): Compaction | null {
  if (spec === undefined || spec === false) return null;
  if (spec === true) return defaultCompaction;
  const belowBytes = spec.below === undefined ? defaultCompaction.belowBytes : parseSize(spec.below);
  if (belowBytes === null) throw error('/below', `"${spec.below}" is not a size: write bytes, or 512KB, 8MB, 1GB`);
  return { belowBytes, into: spec.into ?? null };
}

/** The first policy that matches a series, or null (the series is kept whole). Pure. */
export function policyFor(policies: readonly RetentionPolicy[], series: { dataset: string; source: string; granularity: string }): RetentionPolicy | null {
  return (
    policies.find(
      (p) => !p.raw && p.dataset === series.dataset && (p.source === null || p.source === series.source) && (p.granularity === null || p.granularity === series.granularity),
    ) ?? null
  );
}

/** The first raw policy that matches a (source, dataset)'s raw landing, or null (kept whole). Pure. */
export function rawPolicyFor(policies: readonly RetentionPolicy[], landing: { dataset: string; source: string }): RetentionPolicy | null {
  return policies.find((p) => p.raw && p.dataset === landing.dataset && (p.source === null || p.source === landing.source)) ?? null;
}
