-- Vendor request budgets per UTC day, shared by every run (and every cron line) through the
-- catalog: a request is spent before it is sent, and none is sent once the day's are spent.
CREATE TABLE mdw.request_budget (
  vendor     text NOT NULL,
  day        date NOT NULL,
  used       integer NOT NULL CHECK (used >= 0),
  day_limit  integer NOT NULL CHECK (day_limit > 0),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (vendor, day)
);
