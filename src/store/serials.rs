//! Where the 5-digit serial of a new record number comes from (issue 14).
//!
//! Every PC of a site shares the 12-digit prefix, so serials counted on each
//! PC would collide. An installation that syncs with the platform takes
//! serials only from **blocks** it claimed there (block n = serials
//! n·100+1 … n·100+100; `sync::serials` claims them with a FHIR conditional
//! create), skipping any number already held here (a fetched resident).
//! With no serial left in its blocks (a new PC not yet synced, or offline
//! for long) it gives a **provisional** number: the site's division and
//! township, village segment `000` (no real village has it, so it can never
//! equal a number from the platform) and a local counter. A provisional
//! resident is never uploaded; the next sync renumbers it from a block
//! first. An installation that never syncs keeps the local counter, which
//! also skips numbers already held.
//!
//! Every change of a resident's number is kept in `record_no_changes` (old
//! number, new, why, who) and audited.

use super::{audit, now_text, Actor, Result, SiteConfig, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Serials per block.
pub const BLOCK: i64 = 100;
/// The last block: serials 99901–99999.
pub const LAST_BLOCK: i64 = 999;
/// The village segment of a provisional number (outside every allowed range).
pub const PROVISIONAL_VILLAGE: &str = "000";

const PLATFORM_SETTING: &str = "numbers.platform";

/// Why a resident's number changed (`record_no_changes.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A provisional number replaced from a claimed block.
    Provisional,
    /// The platform holds the number for another person.
    Duplicate,
    /// A resident fetched from the platform holds it.
    Fetched,
    /// Linked to the platform's Patient (`store::link`).
    Link,
}

impl Reason {
    fn code(self) -> &'static str {
        match self {
            Reason::Provisional => "provisional",
            Reason::Duplicate => "duplicate",
            Reason::Fetched => "fetched",
            Reason::Link => "link",
        }
    }
}

fn block_range(block: i64) -> (i64, i64) {
    (block * BLOCK + 1, (block * BLOCK + BLOCK).min(99_999))
}

fn number(site: &SiteConfig, village: &str, serial: i64) -> String {
    format!("{}{}{village}{serial:05}", site.division, site.township)
}

fn taken(conn: &Connection, record_no: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM residents WHERE record_no = ?1")?
        .query_row(params![record_no], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether a stored number is provisional (by its shape, which no real
/// number has).
pub fn is_provisional(record_no: &str) -> bool {
    record_no.len() == 17 && record_no.get(9..12) == Some(PROVISIONAL_VILLAGE)
}

/// The next serial of the claimed blocks not held here, taken.
fn from_blocks(conn: &Connection, site: &SiteConfig) -> Result<Option<String>> {
    let prefix = site.prefix();
    loop {
        let next: Option<(i64, i64)> = conn
            .prepare_cached(
                "SELECT block, next_serial FROM serial_blocks
                 WHERE site_prefix = ?1 AND next_serial <= min(block * 100 + 100, 99999)
                 ORDER BY block LIMIT 1",
            )?
            .query_row(params![prefix], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((block, serial)) = next else {
            return Ok(None);
        };
        conn.prepare_cached("UPDATE serial_blocks SET next_serial = ?3 WHERE site_prefix = ?1 AND block = ?2")?
            .execute(params![prefix, block, serial + 1])?;
        let candidate = number(site, &site.village, serial);
        if !taken(conn, &candidate)? {
            return Ok(Some(candidate));
        }
    }
}

/// The next serial of a local counter (`key`) whose number is not held here.
fn from_counter(conn: &Connection, site: &SiteConfig, key: &str, village: &str) -> Result<String> {
    loop {
        let serial: i64 = conn
            .prepare_cached(
                "INSERT INTO record_counters (site_prefix, last_serial) VALUES (?1, 1)
                 ON CONFLICT(site_prefix) DO UPDATE SET last_serial = last_serial + 1 RETURNING last_serial",
            )?
            .query_row(params![key], |r| r.get(0))?;
        if serial > 99_999 {
            return Err(StoreError::InvalidInput);
        }
        let candidate = number(site, village, serial);
        if !taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
}

fn platform_numbering(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row(params![PLATFORM_SETTING], |r| r.get::<_, String>(0))
        .optional()?
        .as_deref()
        == Some("1"))
}

fn provisional(conn: &Connection, site: &SiteConfig) -> Result<String> {
    let key = format!("{}:provisional", site.prefix());
    from_counter(conn, site, &key, PROVISIONAL_VILLAGE)
}

/// A number for a new resident, inside the caller's transaction: from a
/// block (or provisional) once this installation syncs, else the counter.
pub(crate) fn allocate(conn: &Connection, site: &SiteConfig) -> Result<String> {
    if !platform_numbering(conn)? {
        return from_counter(conn, site, &site.prefix(), &site.village);
    }
    match from_blocks(conn, site)? {
        Some(n) => Ok(n),
        None => provisional(conn, site),
    }
}

/// Gives `resident_id` a new number (from a block; provisional when
/// `final_only` is false and no block has one left) and keeps the old one in
/// the history. None when no final number is available.
pub(crate) fn renumber_in(
    conn: &Connection,
    actor: &Actor,
    site: &SiteConfig,
    resident_id: i64,
    reason: Reason,
    final_only: bool,
) -> Result<Option<String>> {
    let new = match from_blocks(conn, site)? {
        Some(n) => n,
        None if final_only => return Ok(None),
        None => provisional(conn, site)?,
    };
    set_number(conn, actor, resident_id, &new, reason)?;
    Ok(Some(new))
}

/// Changes a resident's number, keeping the old one (history and audit).
pub(crate) fn set_number(conn: &Connection, actor: &Actor, resident_id: i64, new: &str, reason: Reason) -> Result<()> {
    let old: String = conn.query_row(
        "SELECT record_no FROM residents WHERE id = ?1",
        params![resident_id],
        |r| r.get(0),
    )?;
    let now = now_text(chrono::Local::now());
    conn.execute(
        "UPDATE residents SET record_no = ?2, record_no_provisional = ?3, updated_at = ?4 WHERE id = ?1",
        params![resident_id, new, is_provisional(new), now],
    )?;
    conn.execute(
        "INSERT INTO record_no_changes (resident_id, old_record_no, new_record_no, reason, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![resident_id, old, new, reason.code(), actor.user, now],
    )?;
    // The village code of the memberships comes from the number.
    conn.execute(
        "UPDATE memberships SET village = substr(?2, 10, 3) WHERE resident_id = ?1",
        params![resident_id, new],
    )?;
    super::search::reindex_resident(conn, resident_id)?;
    audit::append(conn, actor, "renumber", "resident", &resident_id.to_string())?;
    Ok(())
}

/// Before a resident from the platform is stored with `record_no`: a
/// resident of this PC holding that number gets another one (the platform's
/// is the one that counts). Returns the number to store the fetched one
/// with: its own, or a provisional one when the holder here came from the
/// platform too (two Patients with one number, for the bureau to resolve:
/// `jkda-hub collisions`).
pub(crate) fn make_room(conn: &Connection, actor: &Actor, uuid: &str, record_no: &str) -> Result<String> {
    let holder: Option<(i64, Option<String>)> = conn
        .query_row(
            "SELECT r.id, s.origin FROM residents r LEFT JOIN sync_residents s ON s.resident_id = r.id
             WHERE r.record_no = ?1 AND r.uuid != ?2",
            params![record_no, uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((holder, origin)) = holder else {
        return Ok(record_no.to_string());
    };
    let site = site_of(conn)?;
    if origin.as_deref() == Some("platform") {
        return provisional(conn, &site);
    }
    renumber_in(conn, actor, &site, holder, Reason::Fetched, false)?;
    Ok(record_no.to_string())
}

fn site_of(conn: &Connection) -> Result<SiteConfig> {
    let get = |k: &str| -> Result<String> {
        conn.query_row("SELECT value FROM settings WHERE key = ?1", params![k], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotFound)
    };
    Ok(SiteConfig {
        division: get("site.division")?,
        township: get("site.township")?,
        village: get("site.village")?,
        name: get("site.name")?,
    })
}

/// One change of a resident's number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NumberChange {
    pub resident_id: i64,
    pub old_record_no: String,
    pub new_record_no: String,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

impl Store {
    /// From now on new residents take numbers from claimed blocks (or a
    /// provisional one): set when this installation is set up to sync.
    pub fn use_platform_numbers(&self) -> Result<()> {
        self.set_setting(PLATFORM_SETTING, "1")
    }

    /// Serials left in the claimed blocks of `prefix` (numbers held here by
    /// fetched residents are skipped when taken, so this may be a little high).
    pub fn serials_left(&self, prefix: &str) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT coalesce(sum(max(0, min(block * 100 + 100, 99999) - next_serial + 1)), 0)
             FROM serial_blocks WHERE site_prefix = ?1",
            params![prefix],
            |r| r.get(0),
        )?)
    }

    /// The block to ask the platform for next; None when all are gone.
    /// The first one lies above every serial this PC has used, so the
    /// numbers it gave before blocks existed are not met again.
    pub fn next_block(&self, prefix: &str) -> Result<Option<i64>> {
        let key = format!("numbers.next_block.{prefix}");
        let next = match self.setting(&key)?.and_then(|s| s.parse::<i64>().ok()) {
            Some(n) => n,
            None => {
                let counted: i64 = self.conn().query_row(
                    "SELECT coalesce(max(last_serial), 0) FROM record_counters WHERE site_prefix = ?1",
                    params![prefix],
                    |r| r.get(0),
                )?;
                let held: i64 = self.conn().query_row(
                    "SELECT coalesce(max(CAST(substr(record_no, 13) AS INTEGER)), 0) FROM residents
                     WHERE substr(record_no, 1, 12) = ?1",
                    params![prefix],
                    |r| r.get(0),
                )?;
                // ceil(max / 100): block 0 on a PC that never numbered here.
                (counted.max(held) + BLOCK - 1).div_euclid(BLOCK)
            }
        };
        Ok((next <= LAST_BLOCK).then_some(next))
    }

    /// `block` is this installation's (the platform's resource `resource`);
    /// true when it was not known here yet.
    pub fn block_claimed(&self, prefix: &str, block: i64, resource: &str) -> Result<bool> {
        let (first, _) = block_range(block);
        let now = now_text(chrono::Local::now());
        let new = self.conn().execute(
            "INSERT OR IGNORE INTO serial_blocks (site_prefix, block, next_serial, resource, claimed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![prefix, block, first, resource, now],
        )?;
        self.passed_block(prefix, block)?;
        Ok(new == 1)
    }

    /// `block` was tried (someone else's, or ours now): ask for the next one.
    pub fn passed_block(&self, prefix: &str, block: i64) -> Result<()> {
        self.set_setting(&format!("numbers.next_block.{prefix}"), &(block + 1).to_string())
    }

    /// Residents with a provisional number, oldest first.
    pub fn provisional_residents(&self) -> Result<Vec<i64>> {
        Ok(self
            .conn()
            .prepare("SELECT id FROM residents WHERE record_no_provisional = 1 ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the resident's number is provisional.
    pub fn has_provisional_number(&self, resident_id: i64) -> Result<bool> {
        self.conn()
            .query_row(
                "SELECT record_no_provisional FROM residents WHERE id = ?1",
                params![resident_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::NotFound)
    }

    /// Gives the resident a final number from a claimed block (None when no
    /// block has one left), audited, the old number kept.
    pub fn renumber(&mut self, actor: &Actor, resident_id: i64, reason: Reason) -> Result<Option<String>> {
        actor.require(super::Permission::WriteRecords)?;
        let site = self.site()?.ok_or(StoreError::NotFound)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let new = renumber_in(&tx, actor, &site, resident_id, reason, true)?;
        tx.commit()?;
        Ok(new)
    }

    /// Every number this resident had, oldest first (audited as a view).
    pub fn number_changes(&self, actor: &Actor, resident_id: i64) -> Result<Vec<NumberChange>> {
        actor.require(super::Permission::ReadRecords)?;
        let rows = self
            .conn()
            .prepare(
                "SELECT resident_id, old_record_no, new_record_no, reason, actor, at FROM record_no_changes
                 WHERE resident_id = ?1 ORDER BY id",
            )?
            .query_map(params![resident_id], |r| {
                Ok(NumberChange {
                    resident_id: r.get(0)?,
                    old_record_no: r.get(1)?,
                    new_record_no: r.get(2)?,
                    reason: r.get(3)?,
                    actor: r.get(4)?,
                    at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        audit::append(self.conn(), actor, "view_numbers", "resident", &resident_id.to_string())?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisional_numbers_have_a_village_no_real_number_has() {
        assert!(is_provisional("22060210100000001"));
        assert!(!is_provisional("22060210110100001"));
        assert_eq!(block_range(0), (1, 100));
        assert_eq!(block_range(LAST_BLOCK), (99_901, 99_999));
    }
}
