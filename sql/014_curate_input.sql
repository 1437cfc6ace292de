-- What each document mdw curate landed was computed from: the partition files (lake URIs, as the
-- manifest names them) and, for an adjustment log, the batches of the actions in it. With
-- mdw.lineage_item (a curated partition -> the documents its batch loaded) a curated row traces
-- to the input partitions and actions behind it. Replaced whenever the document is landed again.
CREATE TABLE mdw.curate_input (
  doc_uri     text NOT NULL,
  input       text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('partition', 'action_batch')),
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (doc_uri, kind, input)
);
CREATE INDEX curate_input_input_idx ON mdw.curate_input (input);
