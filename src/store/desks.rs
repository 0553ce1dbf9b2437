//! One database, several desks (issue 14, part 5): the clinic server's
//! database used by staff over SSH, one jkda process each. SQLite keeps the
//! data consistent; this module lets each desk notice the others. Changes
//! made by another connection show in `PRAGMA data_version` (a counter read
//! from shared memory, no disk access), which the shell checks on a slow
//! timer while idle. A draft open on a desk holds a lease (`desk_leases`:
//! which desk, who, a heartbeat, when it last saved), so a second desk
//! opening the same draft is warned, and so is the first when the second
//! saves. A desk that crashed stops its heartbeat: its lease stops counting
//! after `LEASE_STALE`.

use super::{Result, Store};
use chrono::{DateTime, Utc};
use rusqlite::params;

/// A lease whose heartbeat is older than this belongs to a desk that is gone.
pub const LEASE_STALE: chrono::Duration = chrono::Duration::seconds(90);
/// How often an open draft's lease is renewed.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);

/// Another desk that has a draft open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `host:pid`.
    pub desk: String,
    pub user: String,
    /// When that desk last saved the draft (UTC text), if it did.
    pub saved_at: Option<String>,
}

/// This process's name among the desks: the host and the process id.
pub fn desk_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".into());
    format!("{host}:{}", std::process::id())
}

/// Whether the desk named `desk` may still be running: a process of this
/// host that is gone (killed, the SSH session dropped) holds nothing, even
/// before its heartbeat is stale. Other hosts' desks count until then.
fn may_run(desk: &str) -> bool {
    static HERE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let here = HERE.get_or_init(desk_id);
    let (Some((host, pid)), Some((here_host, _))) = (desk.rsplit_once(':'), here.rsplit_once(':')) else {
        return true;
    };
    let proc = std::path::Path::new("/proc/self").exists();
    if host != here_host || !proc {
        return true;
    }
    pid.parse::<u32>()
        .map_or(true, |pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

fn utc(t: DateTime<Utc>) -> String {
    super::utc_text(t)
}

impl Store {
    /// Changes by other connections since this one opened: equal numbers
    /// mean nothing changed (this connection's own writes do not count).
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.conn().query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Holds record `record_id` open on `desk` for `user`; returns the
    /// other desks that have it open now.
    pub fn take_lease(&self, record_id: i64, desk: &str, user: &str, now: DateTime<Utc>) -> Result<Vec<Lease>> {
        self.conn().execute(
            "INSERT INTO desk_leases (record_id, desk, user, opened_at, heartbeat) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(record_id, desk) DO UPDATE SET user = ?3, heartbeat = ?4",
            params![record_id, desk, user, utc(now)],
        )?;
        self.other_leases(record_id, desk, now)
    }

    /// The other desks that have `record_id` open (heartbeat recent enough).
    pub fn other_leases(&self, record_id: i64, desk: &str, now: DateTime<Utc>) -> Result<Vec<Lease>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT desk, user, saved_at FROM desk_leases
             WHERE record_id = ?1 AND desk != ?2 AND heartbeat >= ?3 ORDER BY desk",
        )?;
        let rows = stmt.query_map(params![record_id, desk, utc(now - LEASE_STALE)], |r| {
            Ok(Lease {
                desk: r.get(0)?,
                user: r.get(1)?,
                saved_at: r.get(2)?,
            })
        })?;
        let leases = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(leases.into_iter().filter(|l| may_run(&l.desk)).collect())
    }

    /// This desk saved the draft (the others see it at their next check).
    pub fn note_desk_save(&self, record_id: i64, desk: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE desk_leases SET saved_at = ?3, heartbeat = ?3 WHERE record_id = ?1 AND desk = ?2",
            params![record_id, desk, utc(now)],
        )?;
        Ok(())
    }

    /// Renews this desk's leases; forgets leases of desks long gone.
    pub fn desk_heartbeat(&self, desk: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE desk_leases SET heartbeat = ?2 WHERE desk = ?1",
            params![desk, utc(now)],
        )?;
        self.conn().execute(
            "DELETE FROM desk_leases WHERE heartbeat < ?1",
            params![utc(now - LEASE_STALE * 10)],
        )?;
        Ok(())
    }

    /// This desk closed its drafts (left the form, quit, logged out).
    pub fn release_leases(&self, desk: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM desk_leases WHERE desk = ?1", params![desk])?;
        Ok(())
    }

    /// A record's current revision, read without an audit entry:
    /// only to tell whether a view on screen is out of date (the view was
    /// audited when it was opened, and is read again, audited, if it is).
    pub fn revision_of(&self, record_id: i64) -> Result<Option<i64>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .query_row("SELECT revision FROM records WHERE id = ?1", params![record_id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Whether record `record_id` is still a draft (another desk may have
    /// finalized or abandoned it).
    pub fn is_draft(&self, record_id: i64) -> Result<bool> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .query_row("SELECT status FROM records WHERE id = ?1", params![record_id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .is_some_and(|s| s == "draft"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_desk_sees_the_first_until_its_heartbeat_is_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let a = Store::open(&path).expect("open");
        let b = Store::open(&path).expect("open");
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert!(a.take_lease(5, "h:1", "li", t0).expect("lease").is_empty());
        let seen = b.data_version().expect("version");
        let others = b.take_lease(5, "h:2", "wang", t0).expect("lease");
        assert_eq!(others.len(), 1);
        assert_eq!((others[0].desk.as_str(), others[0].user.as_str()), ("h:1", "li"));
        a.note_desk_save(5, "h:1", t0 + chrono::Duration::seconds(5))
            .expect("save");
        assert_ne!(b.data_version().expect("version"), seen, "b notices a's write");
        let others = b.other_leases(5, "h:2", t0).expect("read");
        assert!(others[0].saved_at.is_some());
        // a stops beating: after the stale time it no longer counts.
        let later = t0 + LEASE_STALE + chrono::Duration::seconds(10);
        assert!(b.other_leases(5, "h:2", later).expect("read").is_empty());
        b.release_leases("h:2").expect("release");
        assert_eq!(a.other_leases(5, "h:1", t0).expect("read"), Vec::new());
    }

    #[test]
    fn a_desk_of_this_host_that_is_gone_holds_nothing() {
        let store = Store::open_in_memory().expect("open");
        let now = Utc::now();
        let host = desk_id()
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .expect("host:pid");
        // No process has pid 0 in /proc; this process does.
        store.take_lease(9, &format!("{host}:0"), "li", now).expect("lease");
        let mine = desk_id();
        store.take_lease(9, &mine, "li", now).expect("lease");
        let seen = store.other_leases(9, "elsewhere:1", now).expect("read");
        let desks: Vec<&str> = seen.iter().map(|l| l.desk.as_str()).collect();
        if std::path::Path::new("/proc/self").exists() {
            assert_eq!(desks, vec![mine.as_str()]);
        }
    }
}
