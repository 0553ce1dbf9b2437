//! Embedded migrations, tracked by `PRAGMA user_version`. Each step runs in
//! one transaction; a database whose version is newer than this build knows
//! is refused before anything is written to it.

use rusqlite::Connection;

pub const MIGRATIONS: &[&str] = &[
    // 1: the core clinic store.
    r#"
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) STRICT;

-- Serial numbers of the 17-digit record number, per site prefix; never reused.
CREATE TABLE record_counters (
    site_prefix TEXT PRIMARY KEY,
    last_serial INTEGER NOT NULL
) STRICT;

CREATE TABLE residents (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    record_no   TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'active', 'inactive')),
    name        TEXT,
    sex         TEXT,
    birth_date  TEXT,
    id_number   TEXT,
    phone       TEXT,
    address     TEXT,
    village     TEXT,
    programmes  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX residents_id_number ON residents(id_number);
CREATE INDEX residents_name ON residents(name);
CREATE INDEX residents_phone ON residents(phone);

-- The exact text of every form version a record was filled with, so old
-- records open after the form file is revised.
CREATE TABLE form_versions (
    form_id    TEXT NOT NULL,
    version    TEXT NOT NULL,
    source     TEXT NOT NULL,
    first_used TEXT NOT NULL,
    PRIMARY KEY (form_id, version)
) STRICT;

CREATE TABLE records (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    form_id      TEXT NOT NULL,
    form_version TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'final')),
    answers      TEXT NOT NULL,
    record_date  TEXT,
    focus        TEXT,
    author       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finalized_at TEXT,
    revision     INTEGER NOT NULL DEFAULT 1,
    FOREIGN KEY (form_id, form_version) REFERENCES form_versions(form_id, version)
) STRICT;
CREATE INDEX records_resident ON records(resident_id, record_date);
CREATE INDEX records_status ON records(status);

-- Every finalized revision, kept when a record is amended.
CREATE TABLE record_revisions (
    record_id   INTEGER NOT NULL REFERENCES records(id),
    revision    INTEGER NOT NULL,
    answers     TEXT NOT NULL,
    author      TEXT NOT NULL,
    finalized_at TEXT NOT NULL,
    PRIMARY KEY (record_id, revision)
) STRICT;

-- Uploads waiting for the city platform; written in the finalizing transaction.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    record_id       INTEGER NOT NULL REFERENCES records(id),
    revision        INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'conflict')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,
    server_version  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (record_id, revision)
) STRICT;
CREATE INDEX outbox_state ON outbox(state);

-- Append-only, hash-chained: who did what to which record, never the data.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
"#,
    // sync: what the city platform confirmed for each resident's Patient,
    // and which residents were brought down from it (never uploaded back).
    r#"
CREATE TABLE sync_residents (
    resident_id    INTEGER PRIMARY KEY REFERENCES residents(id),
    origin         TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'platform')),
    sent_hash      TEXT,
    server_version TEXT,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_record ON outbox(record_id, revision);
"#,
    // search: one row per key a resident is found by (name parts, pinyin,
    // reversed ID / phone / record-number digits), filled from Rust by
    // store/search.rs; recent-first listing without a sort.
    r#"
CREATE TABLE resident_keys (
    kind        INTEGER NOT NULL,
    key         TEXT NOT NULL,
    resident_id INTEGER NOT NULL,
    PRIMARY KEY (kind, key, resident_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX resident_keys_resident ON resident_keys(resident_id);
CREATE INDEX residents_updated ON residents(updated_at);
-- An empty database needs no re-indexing; one with residents is indexed on first search.
INSERT INTO settings (key, value) SELECT 'search.keys_version', '1' WHERE NOT EXISTS (SELECT 1 FROM residents);
"#,
    // accounts: forced password change and last login; the password itself
    // lives only in the keyring as a wrapped database key.
    r#"
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_login TEXT;
"#,
    // management: programme membership (never deleted; leaving is a date
    // and a reason), events a person records, and one row of facts per
    // finalized follow-up; all derived from the records by store/care.rs.
    r#"
CREATE TABLE memberships (
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    programme     TEXT NOT NULL,
    -- The village code of the record number, so the indicators and the
    -- worklist group and filter without reading the residents' rows.
    village       TEXT NOT NULL DEFAULT '',
    birth_date    TEXT,
    last_exam     TEXT,
    enrolled_on   TEXT NOT NULL,
    source_record INTEGER,
    left_on       TEXT,
    left_reason   TEXT,
    last_visit    TEXT,
    last_f2f      TEXT,
    next_due      TEXT,
    referral_due  TEXT,
    PRIMARY KEY (resident_id, programme)
) STRICT;
CREATE INDEX memberships_due ON memberships(next_due) WHERE left_on IS NULL;
CREATE TABLE programme_events (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    programme   TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('leave', 'rejoin')),
    on_date     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
-- Clustered by member and date (WITHOUT ROWID): the indicators read one
-- member's visits of a period as one run of pages, not a lookup each.
CREATE TABLE visits (
    record_id      INTEGER NOT NULL REFERENCES records(id),
    resident_id    INTEGER NOT NULL,
    programme      TEXT NOT NULL,
    visit_date     TEXT NOT NULL,
    face_to_face   INTEGER NOT NULL,
    status         TEXT NOT NULL,
    measured       INTEGER NOT NULL,
    controlled     INTEGER,
    classification INTEGER,
    referred       INTEGER NOT NULL,
    emergency      INTEGER NOT NULL,
    next_visit     TEXT,
    PRIMARY KEY (resident_id, programme, visit_date, record_id)
) STRICT, WITHOUT ROWID;
-- Who had a record of a form in a period, without reading the records.
CREATE INDEX records_form_date ON records(form_id, status, record_date, resident_id);
-- Covering indexes for the indicators (every finished record, by village)
-- and the worklist (older adults by birth date): no row of personal data
-- is read, let alone decrypted, to count.
CREATE INDEX residents_by_village ON residents(status, record_no, birth_date, village);
-- The date of the latest final health examination, derived like the
-- memberships, so the worklist finds who is due an exam from the index alone.
ALTER TABLE residents ADD COLUMN last_exam TEXT;
CREATE INDEX residents_birth ON residents(birth_date, status, record_no, last_exam);
"#,
    // drafts: an abandoned draft is deleted (it leaves every list); who
    // abandoned which record, of which form, when and why stays here.
    r#"
CREATE TABLE abandoned_drafts (
    record_id   INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL,
    resident_id INTEGER NOT NULL,
    form_id     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
) STRICT;
"#,
    // numbers (issue 14): serials from blocks claimed on the platform, so
    // the PCs of one site never give the same number; a provisional number
    // until a block is claimed; every change of a number kept. Numbers
    // already given stay: a duplicate the platform refuses is renumbered
    // (or linked) at the next sync.
    r#"
ALTER TABLE residents ADD COLUMN record_no_provisional INTEGER NOT NULL DEFAULT 0;
CREATE TABLE serial_blocks (
    site_prefix TEXT NOT NULL,
    block       INTEGER NOT NULL,
    next_serial INTEGER NOT NULL,
    resource    TEXT NOT NULL,
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (site_prefix, block)
) STRICT;
CREATE TABLE record_no_changes (
    id            INTEGER PRIMARY KEY,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    old_record_no TEXT NOT NULL,
    new_record_no TEXT NOT NULL,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX record_no_changes_resident ON record_no_changes(resident_id);
-- A local resident that took the identity of the platform's Patient: who
-- they were here, and the demographics as entered here.
CREATE TABLE resident_links (
    id            INTEGER PRIMARY KEY,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    old_uuid      TEXT NOT NULL,
    old_record_no TEXT NOT NULL,
    patient       TEXT NOT NULL,
    local_fields  TEXT NOT NULL,
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL
) STRICT;
"#,
    // conflicts (issue 14, parts 4 and 5): what the platform holds of each
    // record that went there or came from it (its version: the If-Match of
    // the next amendment; its answers: what an amendment replaces), version
    // clashes kept for a person with the platform's copy and how they were
    // resolved, and which desk has which draft open (one database, several
    // desks over SSH).
    r#"
CREATE TABLE record_server (
    record_id  INTEGER PRIMARY KEY REFERENCES records(id),
    version    TEXT NOT NULL,
    answers    TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE conflicts (
    id             INTEGER PRIMARY KEY,
    record_id      INTEGER NOT NULL REFERENCES records(id),
    revision       INTEGER NOT NULL,
    server_version TEXT,
    server_answers TEXT,
    server_author  TEXT,
    server_at      TEXT,
    server_site    TEXT,
    detected_at    TEXT NOT NULL,
    resolution     TEXT CHECK (resolution IN ('mine', 'theirs', 'merged')),
    resolved_by    TEXT,
    resolved_at    TEXT
) STRICT;
CREATE INDEX conflicts_record ON conflicts(record_id, revision);
CREATE TABLE desk_leases (
    record_id INTEGER NOT NULL,
    desk      TEXT NOT NULL,
    user      TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    heartbeat TEXT NOT NULL,
    saved_at  TEXT,
    PRIMARY KEY (record_id, desk)
) STRICT;
"#,
    // draft journal: a draft's autosaves, one row per save holding only the
    // items that changed (a JSON object, null where an item was removed);
    // folded into records.answers when the draft is reopened, emptied when
    // all the answers are written (store/draft_journal.rs).
    r#"
CREATE TABLE draft_journal (
    record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    at        TEXT NOT NULL,
    focus     TEXT,
    changes   TEXT NOT NULL,
    PRIMARY KEY (record_id, seq)
) STRICT, WITHOUT ROWID;
"#,
];

pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the migrations this database has not seen yet.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let have = user_version(conn)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // user_version cannot take a bound parameter; the value is our own integer.
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
