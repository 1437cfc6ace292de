-- A record quarantined again, or loaded, by a later reading of its input or of its key is no
-- longer open: the newest judgement of a record is the one that counts. Without this, every
-- re-read (--full, a corrected file, a vendor page fetched again) added the same rejected
-- records once more, and the audit's ledger counted each of them twice, three times...
ALTER TABLE mdw.quarantine_record DROP CONSTRAINT quarantine_record_state_check;
ALTER TABLE mdw.quarantine_record ADD CONSTRAINT quarantine_record_state_check CHECK (state IN ('open', 'replayed', 'superseded'));
ALTER TABLE mdw.quarantine_record ADD COLUMN superseded_by uuid REFERENCES mdw.batch (id) ON DELETE SET NULL;
