-- Retention (mdw retention): partitions a policy retired leave mdw.partition_manifest (what
-- queries and the audit read) into mdw.retired_partition, the tombstone: which policy, when,
-- what the file held and where it went. A deleted partition's file waits in MDW_HOME/trash
-- until --purge-after, then is removed for good (state purged; the row stays as history). An
-- archived one moves to MDW_HOME/archive and stays there (state archived).
--
-- The file is linked into trash/ or archive/ before the catalog commit and removed from the lake
-- after it (lake_cleared then true): a run killed in between is finished by the next run of the
-- series (an ingest or a retention), so the manifest never names a file that is gone.
CREATE TABLE mdw.retired_partition (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id       uuid REFERENCES mdw.ingest_run (id) ON DELETE SET NULL,
  policy       text NOT NULL,
  action       text NOT NULL CHECK (action IN ('delete', 'archive')),
  state        text NOT NULL CHECK (state IN ('trash', 'archived', 'purged')),
  dataset_id   uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id    uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity  text NOT NULL,
  symbol       text,
  period       text NOT NULL,
  -- The partition's files in the lake (relative to MDW_HOME/lake): the current one first, then
  -- superseded versions still inside their grace period.
  uri          text NOT NULL,
  lake_uris    text[] NOT NULL,
  -- Where its current file is kept, relative to MDW_HOME (trash/... or archive/...).
  kept_uri     text NOT NULL,
  rows         bigint NOT NULL,
  bytes        bigint NOT NULL,
  sha256       text NOT NULL,
  first_ts     timestamptz,
  last_ts      timestamptz,
  retired_at   timestamptz NOT NULL,
  lake_cleared boolean NOT NULL DEFAULT false,
  purged_at    timestamptz
);
CREATE INDEX retired_partition_series_idx ON mdw.retired_partition (dataset_id, source_id, granularity, period);
CREATE INDEX retired_partition_trash_idx ON mdw.retired_partition (state, retired_at) WHERE state = 'trash';
CREATE INDEX retired_partition_uncleared_idx ON mdw.retired_partition (dataset_id, source_id, granularity) WHERE NOT lake_cleared;

-- Per series and symbol, the instant before which a policy retired its rows: the audit's ledger
-- expects no session before it (what retention removed is not a hole), and a later run keeps it
-- (the latest cut wins).
CREATE TABLE mdw.retired_range (
  dataset_id     uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id      uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity    text NOT NULL,
  symbol         text NOT NULL,
  retired_before timestamptz NOT NULL,
  -- The first session kept (the calendar's date), or the UTC date of the cut without a calendar.
  first_kept     date NOT NULL,
  policy         text NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (dataset_id, source_id, granularity, symbol)
);

-- Lineage outlives retention: a retired partition's lineage rows (raw input -> partition) keep
-- pointing at it through its tombstone, which takes the manifest row's id.
ALTER TABLE mdw.lineage_item ADD COLUMN retired_id uuid REFERENCES mdw.retired_partition (id) ON DELETE SET NULL;
CREATE INDEX lineage_item_retired_idx ON mdw.lineage_item (retired_id) WHERE retired_id IS NOT NULL;
