-- A catalog describes exactly one lake. The lake carries its id in lake/.mdw-lake-id; the
-- catalog records the id of the lake it describes, so that a catalog pointed at from another
-- warehouse (a copied MDW_HOME, a shared MDW_DATABASE_URL) is refused instead of trusted: its
-- manifest and input fingerprints would otherwise skip loads into a lake that lacks the data.
CREATE TABLE mdw.lake (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id         uuid NOT NULL,
  path       text NOT NULL,
  bound_at   timestamptz NOT NULL DEFAULT now()
);
