//! The time the hub stamps on what it writes (`last_updated`, sent as
//! `meta.lastUpdated`). Search pages, and readers that come back for
//! `_lastUpdated=gt` the last time they saw, resume after the last
//! (time, id) they read, so whatever a later transaction writes must sort
//! after it. The wall clock alone does not promise that: two transactions
//! can fall in the same millisecond (the later one with the smaller id),
//! and a clock set back by hand or by NTP goes backwards. So a transaction
//! stamps its writes no earlier than one millisecond past the latest time
//! already stored for the type. Writers are serialized by SQLite (the hub
//! begins its write transactions IMMEDIATE), so that latest time cannot
//! change under a transaction.

use super::HubError;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// The stamps of one write transaction.
#[derive(Default)]
pub(crate) struct Stamps {
    /// Per resource type, the earliest time this transaction may stamp.
    floors: HashMap<String, DateTime<Utc>>,
}

impl Stamps {
    /// The time for a write of `kind` at the clock reading `now`, in the
    /// stored text format.
    pub fn next_at(&mut self, tx: &Connection, kind: &str, now: DateTime<Utc>) -> Result<String, HubError> {
        let floor = match self.floors.get(kind) {
            Some(f) => *f,
            None => {
                let f = latest(tx, kind)?.map_or(DateTime::<Utc>::MIN_UTC, |t| t + TimeDelta::milliseconds(1));
                self.floors.insert(kind.to_string(), f);
                f
            }
        };
        Ok(crate::store::utc_text(now.trunc_subsecs(3).max(floor)))
    }
}

/// The latest time stored for a type, deleted resources included (a reader
/// may have passed one before it was deleted). Two index look-ups: SQLite
/// finds the maximum of `resources_updated` only with `deleted` fixed.
fn latest(tx: &Connection, kind: &str) -> Result<Option<DateTime<Utc>>, HubError> {
    let text: String = tx
        .prepare_cached(
            "SELECT max(coalesce((SELECT max(last_updated) FROM resources WHERE type = ?1 AND deleted = 0), ''),
                        coalesce((SELECT max(last_updated) FROM resources WHERE type = ?1 AND deleted = 1), ''))",
        )?
        .query_row(params![kind], |r| r.get(0))?;
    Ok(DateTime::parse_from_rfc3339(&text).ok().map(|t| t.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::storage;

    #[test]
    fn stamps_move_past_what_is_stored_even_when_the_clock_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let conn = storage::open(&dir.path().join("hub.sqlite")).unwrap();
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        // Nothing stored yet: the clock, to the millisecond.
        assert_eq!(
            Stamps::default()
                .next_at(&conn, "Patient", at("2026-11-05T08:00:00.1239Z"))
                .unwrap(),
            "2026-11-05T08:00:00.123Z"
        );
        for (id, deleted, time) in [
            ("a", 0, "2026-11-05T08:00:00.500Z"),
            ("b", 1, "2026-11-05T08:00:00.700Z"),
        ] {
            conn.execute(
                "INSERT INTO resources (type, id, version, site, content, deleted, created_at, last_updated)
                 VALUES ('Patient', ?1, 1, 's1', '{}', ?2, ?3, ?3)",
                params![id, deleted, time],
            )
            .unwrap();
        }
        // The clock set back, or in the same millisecond as the latest
        // stored time (of a deleted resource here): just past that time.
        let mut stamps = Stamps::default();
        for now in ["2026-11-05T07:00:00Z", "2026-11-05T08:00:00.700Z"] {
            assert_eq!(
                stamps.next_at(&conn, "Patient", at(now)).unwrap(),
                "2026-11-05T08:00:00.701Z"
            );
        }
        // A clock ahead of it is taken as it is.
        assert_eq!(
            stamps.next_at(&conn, "Patient", at("2026-11-05T08:00:02Z")).unwrap(),
            "2026-11-05T08:00:02.000Z"
        );
        // Other types have their own times.
        assert_eq!(
            stamps.next_at(&conn, "Encounter", at("2026-11-05T07:00:00Z")).unwrap(),
            "2026-11-05T07:00:00.000Z"
        );
    }
}
