-- Every page a vendor adapter fetched and landed under lake/raw: which request (path and query,
-- never a key), which page of it, when, by which run. With mdw.lineage_item (raw_uri -> the
-- partitions a page fed) it answers "where did this row come from" down to the HTTP request.
CREATE TABLE mdw.raw_page (
  uri        text PRIMARY KEY,
  source     text NOT NULL,
  dataset    text NOT NULL,
  request    text NOT NULL,
  page_no    integer NOT NULL CHECK (page_no >= 0),
  bytes      bigint NOT NULL,
  sha256     text NOT NULL,
  run_id     uuid REFERENCES mdw.ingest_run (id) ON DELETE SET NULL,
  fetched_at timestamptz NOT NULL
);
CREATE INDEX raw_page_request_idx ON mdw.raw_page (source, dataset, request, page_no);
