-- A partition file is never rewritten in place: each write adds the next version beside the
-- last and the manifest names the current one. A version another replaced stays for a grace
-- period, so a query that opened it finishes, and is then removed. A superseded version counts
-- from its batch's commit; the batch's rows go with it (a lost write leaves its old file current).
CREATE TABLE mdw.superseded_file (
  uri           text PRIMARY KEY,
  dataset_id    uuid NOT NULL REFERENCES mdw.dataset (id),
  source_id     uuid NOT NULL REFERENCES mdw.data_source (id),
  granularity   text NOT NULL,
  batch_id      uuid NOT NULL REFERENCES mdw.batch (id) ON DELETE CASCADE,
  superseded_at timestamptz NOT NULL
);
CREATE INDEX superseded_file_series_idx ON mdw.superseded_file (dataset_id, source_id, granularity, superseded_at);
