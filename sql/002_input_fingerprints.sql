-- Inputs a batch read are fingerprinted, so that a re-run can skip those that have not
-- changed since a committed batch read them under the same rules and scope.
ALTER TABLE mdw.lineage_item ADD COLUMN fingerprint text;
ALTER TABLE mdw.lineage_item ADD COLUMN config_key text;
CREATE INDEX lineage_item_input_idx ON mdw.lineage_item (raw_uri, config_key);
