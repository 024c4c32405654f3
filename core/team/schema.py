"""The team database's schema, and the role the app connects as.

- ``records`` holds every desk's journal. A desk's records keep the sequence numbers and hash
  chain of its local SQLite journal, so (desk_id, desk_seq) identifies a record everywhere and
  replaying one is a no-op. The database enforces the rules, not the app: a record must continue
  its desk's chain (the next sequence number, the previous record's hash), and nothing can
  update, delete or truncate one. The app's role has no UPDATE, DELETE or TRUNCATE privilege,
  and triggers refuse them even to the table's owner.
- ``leases`` holds the cross-desk close locks: one row per (account, venue, symbol), with
  who holds it, for which intent, since when and until when. A lease past its expiry can be
  taken over; the app never resends anything because one expired.
- ``desks`` says which desk is which (its name and operator), for the other desks' screens.
- Inserts and lease changes are announced with NOTIFY, so every window hears of them at once.
- ``stored_id`` numbers the records in the order they were stored (committed), across desks:
  History pages the shared journal by it (``core.team.history``). An identity alone is given
  at insert, not at commit, so two inserts could commit out of order and a reader that saw the
  later one would skip the earlier; every insert statement first takes one transaction-level
  advisory lock, so ids are handed out and committed in the same order. Inserts are already
  one batch per desk and transaction (group commit), so the lock costs little (measured by
  ``bench/team_db.py``).
"""

from __future__ import annotations

from typing import Final

__all__ = ["APP_GRANTS", "LEASES_CHANNEL", "RECORDS_CHANNEL", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION: Final = 2
RECORDS_CHANNEL: Final = "closeout_records"
LEASES_CHANNEL: Final = "closeout_leases"

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS closeout_schema (
    version integer NOT NULL
);

CREATE TABLE IF NOT EXISTS desks (
    desk_id    text PRIMARY KEY CHECK (length(desk_id) BETWEEN 1 AND 64),
    name       text NOT NULL CHECK (length(name) <= 200),
    operator   text NOT NULL CHECK (length(operator) <= 200),
    last_seen  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS records (
    desk_id    text             NOT NULL REFERENCES desks(desk_id),
    desk_seq   bigint           NOT NULL CHECK (desk_seq >= 1),
    wall_time  double precision NOT NULL,
    kind       text             NOT NULL,
    account    text,
    venue      text,
    symbol     text,
    operator   text             NOT NULL,
    reason     text,
    intent_id  text,
    payload    text             NOT NULL,
    latency_ms double precision,
    prev_hash  text             NOT NULL CHECK (length(prev_hash) = 64),
    hash       text             NOT NULL CHECK (length(hash) = 64),
    stored_at  timestamptz      NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (desk_id, desk_seq)
);
CREATE INDEX IF NOT EXISTS records_position ON records (account, venue, symbol);
CREATE INDEX IF NOT EXISTS records_intent ON records (intent_id) WHERE intent_id IS NOT NULL;

-- Version 2: the order the records were stored in, and History's keyset indexes on it (each
-- also lists its column's values by skipping along it). A desk filter has none: a team has a
-- handful of desks, each a large share of the records, so the stored_id index finds a page of
-- one desk's records quickly, and every index costs the inserts (two such indexes cost about
-- a sixth of the throughput, measured).
ALTER TABLE records ADD COLUMN IF NOT EXISTS stored_id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX IF NOT EXISTS records_stored ON records (stored_id);
CREATE INDEX IF NOT EXISTS records_account_stored ON records (account, stored_id);
CREATE INDEX IF NOT EXISTS records_symbol_stored ON records (symbol, stored_id);
CREATE INDEX IF NOT EXISTS records_kind_stored ON records (kind, stored_id);
-- A time range's stored_id bounds read from the index alone (it replaces records_time).
CREATE INDEX IF NOT EXISTS records_time_stored ON records (wall_time, stored_id);
DROP INDEX IF EXISTS records_time;

-- Ids in commit order: one insert statement at a time holds this lock until its transaction
-- ends, so a record given a higher id is never visible before one with a lower id.
CREATE OR REPLACE FUNCTION closeout_records_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7262931513);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS records_order ON records;
CREATE TRIGGER records_order BEFORE INSERT ON records
    FOR EACH STATEMENT EXECUTE FUNCTION closeout_records_order();

-- A record continues its desk's chain or the whole statement is refused: the first record of
-- a desk is desk_seq 1 after the genesis value, every later one follows the stored record
-- before it (stored earlier, or earlier in the same statement). Checked once per statement
-- over the rows it added, as one join: a batch of thousands costs one query, not one each.
CREATE OR REPLACE FUNCTION closeout_records_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.desk_id, a.desk_seq, p.hash IS NULL AND a.desk_seq > 1 AS gap INTO bad
      FROM added a
      LEFT JOIN records p ON p.desk_id = a.desk_id AND p.desk_seq = a.desk_seq - 1
     WHERE (a.desk_seq = 1 AND a.prev_hash <> repeat('0', 64))
        OR (a.desk_seq > 1 AND (p.hash IS NULL OR p.hash <> a.prev_hash))
     ORDER BY a.desk_id, a.desk_seq
     LIMIT 1;
    IF FOUND AND bad.gap THEN
        RAISE EXCEPTION 'journal gap: desk % has no record % before %',
            bad.desk_id, bad.desk_seq - 1, bad.desk_seq
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'journal chain broken: desk % record % does not follow record %',
            bad.desk_id, bad.desk_seq, bad.desk_seq - 1
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- One notification per desk and statement: the newest record it added.
    PERFORM pg_notify('closeout_records', json_build_object(
                'desk_id', desk_id, 'desk_seq', max(desk_seq))::text)
       FROM added GROUP BY desk_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION closeout_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS records_chain ON records;
CREATE TRIGGER records_chain AFTER INSERT ON records
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION closeout_records_chain();
DROP TRIGGER IF EXISTS records_no_change ON records;
CREATE TRIGGER records_no_change BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION closeout_append_only();
DROP TRIGGER IF EXISTS records_no_truncate ON records;
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION closeout_append_only();

CREATE TABLE IF NOT EXISTS leases (
    account    text        NOT NULL,
    venue      text        NOT NULL,
    symbol     text        NOT NULL,
    desk_id    text        NOT NULL REFERENCES desks(desk_id),
    operator   text        NOT NULL,
    intent_id  text        NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (account, venue, symbol)
);

CREATE OR REPLACE FUNCTION closeout_notify_lease() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_ leases;
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    -- The times are durations on the server's clock, so a desk with a skewed clock still
    -- knows how long the lease has been held and how long it has left.
    PERFORM pg_notify('closeout_leases', json_build_object(
        'op', TG_OP, 'account', row_.account, 'venue', row_.venue, 'symbol', row_.symbol,
        'desk_id', row_.desk_id, 'intent_id', row_.intent_id, 'operator', row_.operator,
        'held_for_s', extract(epoch FROM clock_timestamp() - row_.taken_at)::float8,
        'expires_in_s', extract(epoch FROM row_.expires_at - clock_timestamp())::float8)::text);
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS leases_notify ON leases;
CREATE TRIGGER leases_notify AFTER INSERT OR UPDATE OR DELETE ON leases
    FOR EACH ROW EXECUTE FUNCTION closeout_notify_lease();
"""

# What the app's role may do: read everything, add records, manage leases and its desk row.
# Records can never be changed or removed by it (and the triggers refuse even the owner).
APP_GRANTS: Final = """
REVOKE ALL ON records, leases, desks, closeout_schema FROM {role};
GRANT SELECT, INSERT ON records TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON leases TO {role};
GRANT SELECT, INSERT, UPDATE ON desks TO {role};
GRANT SELECT ON closeout_schema TO {role};
"""
