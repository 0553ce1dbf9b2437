//! Residents: created as drafts the moment registration starts (so nothing
//! typed is lost), activated when their basic-information form is finalized.

use super::{audit, now_text, Actor, Result, SiteConfig, Store, StoreError};
use crate::domain::debug_shows;
use crate::identity::mask_phone;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

/// The resident types are the domain's (shared with the FHIR mapping); this
/// module reads and writes them.
pub use crate::domain::{Resident, ResidentFields};

/// One line of a resident list, with identifiers already masked.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResidentRow {
    pub id: i64,
    pub record_no: String,
    pub status: String,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub id_masked: String,
    pub phone_masked: String,
    pub village: String,
}

debug_shows!(ResidentRow: id);

pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// A name as lists that are not about one person show it: the first
/// character, then one `*` for each other (`王*`, `欧阳**`). Enough to tell
/// whose record it is at the desk, not enough to read over a shoulder.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

const COLUMNS: &str =
    "id, uuid, record_no, status, name, sex, birth_date, id_number, phone, address, village, programmes, created_at, updated_at";

fn resident_from_row(r: &Row) -> rusqlite::Result<Resident> {
    let programmes: String = r.get(11)?;
    Ok(Resident {
        id: r.get(0)?,
        uuid: r.get(1)?,
        record_no: r.get(2)?,
        status: r.get(3)?,
        name: r.get(4)?,
        sex: r.get(5)?,
        birth_date: r.get(6)?,
        id_number: r.get(7)?,
        phone: r.get(8)?,
        address: r.get(9)?,
        village: r.get(10)?,
        programmes: programmes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

pub(crate) fn row_from_resident(r: &Resident) -> ResidentRow {
    ResidentRow {
        id: r.id,
        record_no: r.record_no.clone(),
        status: r.status.clone(),
        name: r.name.clone().unwrap_or_default(),
        sex: r.sex.clone(),
        birth_date: r.birth_date.clone(),
        id_masked: r.id_number.as_deref().map(mask_id).unwrap_or_default(),
        phone_masked: r.phone.as_deref().map(mask_phone).unwrap_or_default(),
        village: r.village.clone().unwrap_or_default(),
    }
}

pub(crate) fn update_fields(
    conn: &rusqlite::Connection,
    resident_id: i64,
    f: &ResidentFields,
    activate: bool,
) -> Result<()> {
    let now = now_text(chrono::Local::now());
    conn.execute(
        "UPDATE residents SET name = ?2, sex = ?3, birth_date = ?4, id_number = ?5, phone = ?6, address = ?7,
             village = ?8, updated_at = ?9, status = CASE WHEN ?10 THEN 'active' ELSE status END
         WHERE id = ?1",
        params![
            resident_id,
            f.name,
            f.sex,
            f.birth_date,
            f.id_number,
            f.phone,
            f.address,
            f.village,
            now,
            activate
        ],
    )?;
    super::search::reindex_resident(conn, resident_id)?;
    Ok(())
}

impl Store {
    /// Starts a registration: a draft resident with its record number
    /// assigned now, so the number is never reused even if abandoned.
    pub fn create_resident(&mut self, actor: &Actor, site: &SiteConfig) -> Result<Resident> {
        actor.require(super::Permission::WriteRecords)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // From a claimed block, provisional, or the local counter (`serials`).
        let record_no = super::serials::allocate(&tx, site)?;
        let now = now_text(chrono::Local::now());
        // Time-ordered (v7): new ids land at the end of every index keyed by
        // them, here and on the platform, instead of on random pages.
        let uuid = uuid::Uuid::now_v7().to_string();
        tx.execute(
            "INSERT INTO residents (uuid, record_no, status, created_at, updated_at, record_no_provisional)
             VALUES (?1, ?2, 'draft', ?3, ?3, ?4)",
            params![uuid, record_no, now, super::serials::is_provisional(&record_no)],
        )?;
        let id = tx.last_insert_rowid();
        let keys = crate::search::index::KeySource {
            record_no: Some(&record_no),
            ..Default::default()
        };
        super::search::index_resident(&tx, id, &keys)?;
        audit::append(&tx, actor, "create", "resident", &id.to_string())?;
        tx.commit()?;
        self.resident_unaudited(id)
    }

    pub(crate) fn resident_unaudited(&self, id: i64) -> Result<Resident> {
        let sql = format!("SELECT {COLUMNS} FROM residents WHERE id = ?1");
        self.conn()
            .prepare_cached(&sql)?
            .query_row(params![id], resident_from_row)
            .optional()?
            .ok_or(StoreError::NotFound)
    }

    /// Opens a resident's full details (audited as a view).
    pub fn resident(&self, actor: &Actor, id: i64) -> Result<Resident> {
        actor.require(super::Permission::ReadRecords)?;
        let r = self.resident_unaudited(id)?;
        audit::append(self.conn(), actor, "view", "resident", &id.to_string())?;
        Ok(r)
    }

    /// The most recently touched residents, for the list screen before a
    /// search is typed. Counted for the next [`Store::audit_list_reads`].
    pub fn recent_residents(&self, actor: &Actor, limit: usize) -> Result<Vec<ResidentRow>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("search");
        self.recent_rows(limit)
    }

    pub(crate) fn recent_rows(&self, limit: usize) -> Result<Vec<ResidentRow>> {
        let sql = format!("SELECT {COLUMNS} FROM residents ORDER BY updated_at DESC, id DESC LIMIT ?1");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(params![limit as i64], resident_from_row)?;
        Ok(rows
            .map(|r| r.map(|r| row_from_resident(&r)))
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn resident_count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM residents WHERE status != 'draft'", [], |r| {
                r.get(0)
            })?)
    }

    /// Residents with the given full ID number (other than `except`): the
    /// duplicate check of a registration, or a lookup before a fetch.
    pub fn residents_with_id_number(
        &self,
        actor: &Actor,
        id_number: &str,
        except: Option<i64>,
    ) -> Result<Vec<ResidentRow>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("duplicate_check");
        let sql = format!("SELECT {COLUMNS} FROM residents WHERE id_number = ?1 AND id != ?2 AND status != 'draft'");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(params![id_number, except.unwrap_or(-1)], resident_from_row)?;
        Ok(rows
            .map(|r| r.map(|r| row_from_resident(&r)))
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Residents matching what a worker typed: pinyin initials or full
    /// pinyin, any part of the name, an ID or phone tail, a record number;
    /// best first. Indexed (see `store/search.rs`); garbage finds nothing.
    /// Counted for the next [`Store::audit_list_reads`], not audited one by
    /// one (see `list_reads`); a single command-line search is audited at
    /// once by `find_residents_audited`.
    pub fn search_residents(&self, actor: &Actor, query: &str, limit: usize) -> Result<Vec<ResidentRow>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("search");
        self.find_residents(query, limit)
    }

    /// Writes one audit entry for the lists and searches shown since the
    /// last one (their count; never what was typed). Called before anything
    /// else the user does, and when the session ends.
    pub fn audit_list_reads(&self, actor: &Actor) -> Result<()> {
        let counts = std::mem::take(&mut *self.list_reads.borrow_mut());
        for (i, (action, n)) in counts.iter().enumerate() {
            if let Err(e) = audit::append(self.conn(), actor, action, "residents", &n.to_string()) {
                // Kept for the next flush, the ones not yet written.
                self.list_reads.borrow_mut().extend(counts.into_iter().skip(i));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Counts one read for the next [`Store::audit_list_reads`].
    pub(crate) fn count_read(&self, action: &'static str) {
        *self.list_reads.borrow_mut().entry(action).or_default() += 1;
    }

    pub(crate) fn conn_mut(&mut self) -> &mut rusqlite::Connection {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::mask_name;

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("王芳"), "王*");
        assert_eq!(mask_name("欧阳秀兰"), "欧***");
        assert_eq!(mask_name("张"), "张*");
        assert_eq!(mask_name(" "), "");
    }
}
