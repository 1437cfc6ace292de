-- mdw catalog: sources, instruments, datasets, the Parquet partition manifest and lineage.
-- Applied by `mdw db migrate` (and automatically by any command that opens the catalog).

CREATE SCHEMA IF NOT EXISTS mdw;

CREATE TABLE mdw.data_source (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]*$'),
  adapter     text NOT NULL,
  base_url    text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Names of the environment variables that hold a vendor's secrets. Never the secrets.
CREATE TABLE mdw.vendor_credential (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source_id   uuid NOT NULL REFERENCES mdw.data_source (id) ON DELETE CASCADE,
  purpose     text NOT NULL,
  env_var     text NOT NULL CHECK (env_var ~ '^[A-Z_][A-Z0-9_]*$'),
  UNIQUE (source_id, purpose)
);

CREATE TABLE mdw.instrument (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  symbol        text NOT NULL UNIQUE,
  name          text,
  asset_class   text,
  exchange      text,
  currency      text,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mdw.dataset (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  description text
);

-- Which source feeds which dataset at which granularity, and from which job.
CREATE TABLE mdw.dataset_binding (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dataset_id  uuid NOT NULL REFERENCES mdw.dataset (id) ON DELETE CASCADE,
  source_id   uuid NOT NULL REFERENCES mdw.data_source (id) ON DELETE CASCADE,
  granularity text NOT NULL,
  job         text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dataset_id, source_id, granularity)
);
CREATE INDEX dataset_binding_source_idx ON mdw.dataset_binding (source_id);

-- One row per command run (ingest, backfill, ...).
CREATE TABLE mdw.ingest_run (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  command     text NOT NULL,
  job         text,
  args        jsonb NOT NULL DEFAULT '{}'::jsonb,
  status      text NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed')),
  exit_code   integer,
  error       text,
  host        text,
  pid         integer,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX ingest_run_job_idx ON mdw.ingest_run (job, started_at DESC);
CREATE INDEX ingest_run_status_idx ON mdw.ingest_run (status) WHERE status = 'running';

-- Run-level events (start, summary, errors); the detail stays in the log files.
CREATE TABLE mdw.ingest_log (
  id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id  uuid NOT NULL REFERENCES mdw.ingest_run (id) ON DELETE CASCADE,
  at      timestamptz NOT NULL,
  level   text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  event   text NOT NULL,
  message text NOT NULL,
  data    jsonb
);
CREATE INDEX ingest_log_run_idx ON mdw.ingest_log (run_id, at);

-- One load of one (dataset, source, granularity) by one run.
CREATE TABLE mdw.batch (
  id                 uuid PRIMARY KEY,
  run_id             uuid REFERENCES mdw.ingest_run (id) ON DELETE SET NULL,
  dataset_id         uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id          uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity        text NOT NULL,
  job                text,
  status             text NOT NULL CHECK (status IN ('writing', 'committed', 'failed')),
  records_in         bigint NOT NULL DEFAULT 0,
  records_out        bigint NOT NULL DEFAULT 0,
  deduped            bigint NOT NULL DEFAULT 0,
  quarantined        bigint NOT NULL DEFAULT 0,
  filtered           bigint NOT NULL DEFAULT 0,
  partitions_written integer NOT NULL DEFAULT 0,
  quarantine_uri     text,
  created_at         timestamptz NOT NULL,
  committed_at       timestamptz
);
CREATE INDEX batch_series_idx ON mdw.batch (dataset_id, source_id, granularity, created_at DESC);
CREATE INDEX batch_run_idx ON mdw.batch (run_id);
CREATE INDEX batch_writing_idx ON mdw.batch (status) WHERE status = 'writing';

-- The current file of every partition. uri is relative to MDW_HOME/lake.
CREATE TABLE mdw.partition_manifest (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dataset_id  uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id   uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity text NOT NULL,
  symbol      text,
  period      text NOT NULL,
  uri         text NOT NULL UNIQUE,
  rows        bigint NOT NULL CHECK (rows >= 0),
  bytes       bigint NOT NULL CHECK (bytes >= 0),
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  first_ts    timestamptz,
  last_ts     timestamptz,
  batch_id    uuid REFERENCES mdw.batch (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  UNIQUE NULLS NOT DISTINCT (dataset_id, source_id, granularity, symbol, period)
);
CREATE INDEX partition_manifest_series_idx ON mdw.partition_manifest (dataset_id, source_id, granularity, period);

-- Per-symbol coverage inside each partition (a daily-bars year file holds many symbols).
CREATE TABLE mdw.partition_series (
  manifest_id uuid NOT NULL REFERENCES mdw.partition_manifest (id) ON DELETE CASCADE,
  symbol      text NOT NULL,
  rows        bigint NOT NULL,
  first_ts    timestamptz NOT NULL,
  last_ts     timestamptz NOT NULL,
  PRIMARY KEY (manifest_id, symbol)
);
CREATE INDEX partition_series_symbol_idx ON mdw.partition_series (symbol);

-- Files written and fsynced but not yet renamed into place: the intent that lets the next
-- run finish a write that a crash interrupted.
CREATE TABLE mdw.pending_write (
  batch_id    uuid NOT NULL REFERENCES mdw.batch (id) ON DELETE CASCADE,
  uri         text NOT NULL,
  tmp_uri     text NOT NULL,
  symbol      text,
  period      text NOT NULL,
  rows        bigint NOT NULL,
  bytes       bigint NOT NULL,
  sha256      text NOT NULL,
  first_ts    timestamptz,
  last_ts     timestamptz,
  series      jsonb NOT NULL,
  PRIMARY KEY (batch_id, uri)
);

-- Where each batch's records came from and went: raw input (file or page) -> partition.
CREATE TABLE mdw.lineage_item (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id    uuid NOT NULL REFERENCES mdw.batch (id) ON DELETE CASCADE,
  raw_uri     text NOT NULL,
  manifest_id uuid REFERENCES mdw.partition_manifest (id) ON DELETE SET NULL,
  period      text,
  records_in  bigint NOT NULL DEFAULT 0,
  records_out bigint NOT NULL DEFAULT 0,
  deduped     bigint NOT NULL DEFAULT 0,
  quarantined bigint NOT NULL DEFAULT 0,
  filtered    bigint NOT NULL DEFAULT 0,
  CHECK (records_in = records_out + deduped + quarantined + filtered)
);
CREATE INDEX lineage_item_batch_idx ON mdw.lineage_item (batch_id);
CREATE INDEX lineage_item_manifest_idx ON mdw.lineage_item (manifest_id);
CREATE INDEX lineage_item_raw_idx ON mdw.lineage_item (raw_uri);
