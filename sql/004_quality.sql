-- Data quality: every rejected record (so it can be listed, shown and replayed), a validation
-- summary per batch, and the completeness ledger that `mdw audit` keeps.

CREATE TABLE mdw.quarantine_record (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id        uuid NOT NULL REFERENCES mdw.batch (id) ON DELETE CASCADE,
  job             text,
  dataset_id      uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id       uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity     text NOT NULL,
  input_uri       text,
  -- The record's number within its input (parsed records), or the line (unparseable lines).
  record_no       bigint,
  line_no         bigint,
  rules           text[] NOT NULL,
  reason          text NOT NULL,
  -- The record as the source had it: a JSON object of its fields, or the line's text.
  raw             text NOT NULL,
  state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'replayed')),
  replay_batch_id uuid REFERENCES mdw.batch (id) ON DELETE SET NULL,
  replayed_at     timestamptz,
  created_at      timestamptz NOT NULL
);
CREATE INDEX quarantine_record_series_idx ON mdw.quarantine_record (dataset_id, source_id, granularity, state, created_at);
CREATE INDEX quarantine_record_batch_idx ON mdw.quarantine_record (batch_id);

-- Per batch and rule: rows a record rule rejected (kind 'record'), rows a series rule flagged
-- among those the batch wrote ('series'), and what the reader saw ('input': duplicates, out of order).
CREATE TABLE mdw.validation_summary (
  batch_id uuid NOT NULL REFERENCES mdw.batch (id) ON DELETE CASCADE,
  kind     text NOT NULL CHECK (kind IN ('record', 'series', 'input')),
  rule     text NOT NULL,
  rows     bigint NOT NULL CHECK (rows >= 0),
  PRIMARY KEY (batch_id, kind, rule)
);

-- The completeness ledger: runs of consecutive sessions of one series and symbol with the same
-- status against the trading calendar, as the last audit found them.
CREATE TABLE mdw.completeness (
  dataset_id    uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id     uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity   text NOT NULL,
  symbol        text NOT NULL,
  first_session date NOT NULL,
  last_session  date NOT NULL,
  status        text NOT NULL CHECK (status IN ('GREEN', 'AMBER', 'RED')),
  sessions      integer NOT NULL CHECK (sessions > 0),
  expected_bars bigint NOT NULL,
  present_bars  bigint NOT NULL,
  audited_at    timestamptz NOT NULL,
  PRIMARY KEY (dataset_id, source_id, granularity, symbol, first_session)
);
CREATE INDEX completeness_status_idx ON mdw.completeness (status) WHERE status <> 'GREEN';
