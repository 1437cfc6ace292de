-- What each run of a curate job changed in a bars source's adjustment log: an action added, a
-- factor corrected (a vendor's new cash amount, a new close) or an action gone, with the batches
-- of the old and the new action and the curate batch that wrote the change. The lake keeps the
-- current log; this is how an adjusted price that moved is explained (`mdw curate explain`).
CREATE TABLE mdw.adjustment_change (
  id               bigserial PRIMARY KEY,
  job              text NOT NULL,
  source           text NOT NULL,
  granularity      text NOT NULL,
  symbol           text NOT NULL,
  ex_date          date NOT NULL,
  action           text NOT NULL,
  change           text NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
  old_factor       double precision,
  new_factor       double precision,
  old_cash         double precision,
  new_cash         double precision,
  old_action_batch text,
  new_action_batch text,
  curate_batch     uuid,
  changed_at       timestamptz NOT NULL
);
CREATE INDEX adjustment_change_symbol_idx ON mdw.adjustment_change (source, symbol, ex_date);
