-- `mdw backfill`: the chunk queue that several runs (cron lines, machines) share, the holes a
-- vendor answered "no data" for or an operator accepted, and the per-symbol status that
-- `mdw status` reads instead of scanning the lake.

-- A window of one symbol's sessions to fetch. The queue holds chunks, not sessions. A chunk is
-- leased by one run at a time (FOR UPDATE SKIP LOCKED); a lease that expires (a killed run)
-- makes it available again. It is 'done' only once the batch that filled it is committed.
CREATE TABLE mdw.backfill_chunk (
  -- An identity, not a uuid: the queue hands out chunks in priority then creation order.
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target           text NOT NULL,
  symbol           text NOT NULL,
  -- Session dates, both inclusive.
  from_date        date NOT NULL,
  to_date          date NOT NULL,
  sessions         integer NOT NULL CHECK (sessions > 0),
  -- Lower runs first (the target's priority).
  priority         integer NOT NULL DEFAULT 0,
  -- The vendor that last answered for it (null until one did).
  vendor           text,
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'leased', 'done', 'empty', 'failed')),
  -- Failed attempts so far.
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  lease_owner      text,
  lease_expires_at timestamptz,
  last_error       text,
  -- The batch whose committed files filled it.
  batch_id         uuid REFERENCES mdw.batch (id) ON DELETE SET NULL,
  -- A chunk that failed is not leased again before this (back-off).
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  CHECK (from_date <= to_date),
  CHECK ((status = 'leased') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
  -- Enqueueing the same plan twice adds nothing.
  UNIQUE (target, symbol, from_date, to_date)
);
CREATE INDEX backfill_chunk_lease_idx ON mdw.backfill_chunk (priority, id) WHERE status IN ('queued', 'leased');
CREATE INDEX backfill_chunk_status_idx ON mdw.backfill_chunk (target, status);

-- Holes that are explained: a vendor answered "no data" for the window ('vendor_empty': asked
-- again after retry_after, 7 days the first time and 30 after), or an operator accepted it
-- ('accepted', with a reason). The audit's ledger shows them as their own status, not RED.
CREATE TABLE mdw.known_hole (
  target      text NOT NULL,
  symbol      text NOT NULL,
  from_date   date NOT NULL,
  to_date     date NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('vendor_empty', 'accepted')),
  -- vendor_empty: who answered "no data", when, how many times, and when to ask again.
  vendor      text,
  asked_at    timestamptz,
  asks        integer NOT NULL DEFAULT 0 CHECK (asks >= 0),
  retry_after timestamptz,
  -- accepted: why, and when.
  reason      text,
  accepted_at timestamptz,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (target, symbol, from_date, to_date),
  CHECK (from_date <= to_date),
  CHECK (kind <> 'vendor_empty' OR (vendor IS NOT NULL AND asked_at IS NOT NULL AND retry_after IS NOT NULL)),
  CHECK (kind <> 'accepted' OR (reason IS NOT NULL AND accepted_at IS NOT NULL))
);
CREATE INDEX known_hole_retry_idx ON mdw.known_hole (retry_after) WHERE kind = 'vendor_empty';

-- Per series and symbol, what every ingest and backfill last learned: the latest bar, the last
-- backfill and how it ended, the last validation score, and how many sessions behind it is.
-- Keyed by names, not ids: it is a read model that `mdw status` lists without joins.
CREATE TABLE mdw.symbol_status (
  dataset               text NOT NULL,
  source                text NOT NULL,
  granularity           text NOT NULL,
  symbol                text NOT NULL,
  latest_ts             timestamptz,
  last_backfill_at      timestamptz,
  last_backfill_outcome text CHECK (last_backfill_outcome IN ('done', 'empty', 'failed')),
  last_score            double precision,
  freshness_sessions    integer CHECK (freshness_sessions >= 0),
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (dataset, source, granularity, symbol)
);
