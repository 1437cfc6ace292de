-- The audit's ledger shows a session of a known hole (a window no vendor had data for, or one an
-- operator accepted with `mdw backfill accept`) as KNOWN, not RED: `--fail-on red` alerts only on
-- holes nobody has explained.
ALTER TABLE mdw.completeness DROP CONSTRAINT completeness_status_check;
ALTER TABLE mdw.completeness ADD CONSTRAINT completeness_status_check CHECK (status IN ('GREEN', 'AMBER', 'RED', 'KNOWN'));
