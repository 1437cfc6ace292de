-- A quarantined record keeps the key its transform read (symbol and bar time, when it could be
-- read), so the audit's ledger can show the sessions whose rows were quarantined: a rule that
-- rejects good bars must not leave a session GREEN.
ALTER TABLE mdw.quarantine_record ADD COLUMN symbol text;
ALTER TABLE mdw.quarantine_record ADD COLUMN key_ts timestamp;
CREATE INDEX quarantine_record_key_idx ON mdw.quarantine_record (dataset_id, source_id, granularity, symbol, key_ts) WHERE state = 'open';

-- Per run of sessions in the ledger: the open quarantined records that fell in them.
ALTER TABLE mdw.completeness ADD COLUMN quarantined bigint NOT NULL DEFAULT 0;
