//! `jkda import`'s side of the store: what is already here (looked up by
//! the platform's ids while a file is checked), and writing a checked file
//! in one transaction. Imported residents are marked as coming from the
//! platform, like fetched ones, and imported records are final with no
//! outbox row: they are the platform's already and are never uploaded again.
//! Every resident and record created gets its audit entry in the same
//! transaction; what was already here is left exactly as it was.

use super::outbox::FetchedRecord;
use super::residents::{update_fields, ResidentFields};
use super::{audit, now_text, Actor, Permission, Result, Store, StoreError};
use crate::domain::debug_shows;
use crate::identity::parse_record_no;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;

/// A resident to create from a Patient. `Debug` shows the id only.
#[derive(Clone)]
pub struct ImportPatient {
    /// The Patient's id: the resident's uuid here.
    pub uuid: String,
    pub record_no: String,
    pub fields: ResidentFields,
    /// `Patient.active`; an inactive resident is imported as inactive.
    pub active: bool,
}

debug_shows!(ImportPatient: uuid);

/// A record to create from a QuestionnaireResponse, with its subject's uuid.
/// `Debug` shows ids only (`FetchedRecord` leaves the answers out).
#[derive(Debug, Clone)]
pub struct ImportedRecord<'a> {
    pub subject: String,
    pub record: FetchedRecord<'a>,
}

/// What an import wrote, or (a dry run) would write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub residents_new: usize,
    pub residents_present: usize,
    pub records_new: usize,
    pub records_present: usize,
}

/// A resident already here, as the checks of an import need it: the facts
/// the form rules use. `Debug` shows the uuid only.
#[derive(Clone, PartialEq, Eq)]
pub struct KnownResident {
    pub uuid: String,
    pub record_no: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
}

debug_shows!(KnownResident: uuid);

fn known(r: &rusqlite::Row) -> rusqlite::Result<KnownResident> {
    Ok(KnownResident {
        uuid: r.get(0)?,
        record_no: r.get(1)?,
        sex: r.get(2)?,
        birth_date: r.get(3)?,
    })
}

impl Store {
    /// The resident whose uuid is `uuid` (a Patient id), if here. These
    /// look-ups only say whether an import's resources are new; they show
    /// nothing, so they are not audited one by one (the import is).
    pub fn import_resident(&self, actor: &Actor, uuid: &str) -> Result<Option<KnownResident>> {
        actor.require(Permission::ReadRecords)?;
        Ok(self
            .conn()
            .prepare_cached("SELECT uuid, record_no, sex, birth_date FROM residents WHERE uuid = ?1")?
            .query_row(params![uuid], known)
            .optional()?)
    }

    /// A resident (not a draft) with this full ID number, if any.
    pub fn import_resident_by_id_number(&self, actor: &Actor, id_number: &str) -> Result<Option<KnownResident>> {
        actor.require(Permission::ReadRecords)?;
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT uuid, record_no, sex, birth_date FROM residents WHERE id_number = ?1 AND status != 'draft'
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![id_number], known)
            .optional()?)
    }

    /// The resident holding this health record number, if any.
    pub fn import_resident_by_record_no(&self, actor: &Actor, record_no: &str) -> Result<Option<KnownResident>> {
        actor.require(Permission::ReadRecords)?;
        Ok(self
            .conn()
            .prepare_cached("SELECT uuid, record_no, sex, birth_date FROM residents WHERE record_no = ?1")?
            .query_row(params![record_no], known)
            .optional()?)
    }

    /// The uuid of the resident a record (by its uuid) belongs to, if the
    /// record is here.
    pub fn import_record_subject(&self, actor: &Actor, record_uuid: &str) -> Result<Option<String>> {
        actor.require(Permission::ReadRecords)?;
        Ok(self
            .conn()
            .prepare_cached("SELECT s.uuid FROM records r JOIN residents s ON s.id = r.resident_id WHERE r.uuid = ?1")?
            .query_row(params![record_uuid], |r| r.get(0))
            .optional()?)
    }

    /// Writes a checked import in one transaction: the residents not yet
    /// here (marked as from the platform, the record-number counter moved
    /// past their serial so a later registration never takes their number),
    /// then the records not yet here, final, with their revision and the
    /// resident's programme, and no outbox row. Anything already here (by
    /// uuid) is counted and left untouched, so importing twice adds nothing.
    /// A record whose subject is neither in `patients` nor here is refused
    /// (`NotFound`) and nothing is written.
    pub fn import_resources(
        &mut self,
        actor: &Actor,
        patients: &[ImportPatient],
        records: &[ImportedRecord],
    ) -> Result<ImportCounts> {
        actor.require(Permission::WriteRecords)?;
        actor.require(Permission::Finalize)?;
        let settings = self.care_settings().clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        let mut counts = ImportCounts::default();
        // Residents whose programme membership and visit facts to recompute.
        let mut touched = std::collections::BTreeSet::new();
        let mut ids: HashMap<&str, i64> = HashMap::new();
        for p in patients {
            let existing: Option<i64> = tx
                .prepare_cached("SELECT id FROM residents WHERE uuid = ?1")?
                .query_row(params![p.uuid], |r| r.get(0))
                .optional()?;
            if let Some(id) = existing {
                counts.residents_present += 1;
                ids.insert(&p.uuid, id);
                continue;
            }
            tx.prepare_cached(
                "INSERT INTO residents (uuid, record_no, status, created_at, updated_at) VALUES (?1, ?2, 'active', ?3, ?3)",
            )?
            .execute(params![p.uuid, p.record_no, now])?;
            let id = tx.last_insert_rowid();
            update_fields(&tx, id, &p.fields, true)?;
            if !p.active {
                tx.execute("UPDATE residents SET status = 'inactive' WHERE id = ?1", params![id])?;
            }
            tx.prepare_cached(
                "INSERT INTO sync_residents (resident_id, origin, updated_at) VALUES (?1, 'platform', ?2)
                 ON CONFLICT(resident_id) DO UPDATE SET origin = 'platform', updated_at = ?2",
            )?
            .execute(params![id, now])?;
            if let Ok(n) = parse_record_no(&p.record_no) {
                tx.prepare_cached(
                    "INSERT INTO record_counters (site_prefix, last_serial) VALUES (?1, ?2)
                     ON CONFLICT(site_prefix) DO UPDATE SET last_serial = max(last_serial, excluded.last_serial)",
                )?
                .execute(params![n.site_prefix(), i64::from(n.serial())])?;
            }
            audit::append(&tx, actor, "import", "resident", &id.to_string())?;
            counts.residents_new += 1;
            ids.insert(&p.uuid, id);
        }
        for item in records {
            let r = &item.record;
            let resident_id = match ids.get(item.subject.as_str()) {
                Some(id) => *id,
                None => tx
                    .prepare_cached("SELECT id FROM residents WHERE uuid = ?1")?
                    .query_row(params![item.subject], |r| r.get(0))
                    .optional()?
                    .ok_or(StoreError::NotFound)?,
            };
            let present: Option<i64> = tx
                .prepare_cached("SELECT resident_id FROM records WHERE uuid = ?1")?
                .query_row(params![r.uuid], |row| row.get(0))
                .optional()?;
            match present {
                Some(owner) if owner == resident_id => {
                    counts.records_present += 1;
                    continue;
                }
                // The same id for another resident: the check refuses this
                // before writing; here it can only be a race with another writer.
                Some(_) => return Err(StoreError::AlreadyExists),
                None => {}
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO form_versions (form_id, version, source, first_used) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![r.def.id, r.def.version, r.source, now])?;
            let json = serde_json::to_string(&r.answers).unwrap_or_else(|_| "{}".into());
            let finalized = r.finalized_at.clone().unwrap_or_else(|| now.clone());
            tx.prepare_cached(
                "INSERT INTO records (uuid, resident_id, form_id, form_version, status, answers, record_date, author,
                     created_at, updated_at, finalized_at)
                 VALUES (?1, ?2, ?3, ?4, 'final', ?5, ?6, ?7, ?8, ?8, ?9)",
            )?
            .execute(params![
                r.uuid,
                resident_id,
                r.def.id,
                r.def.version,
                json,
                r.record_date,
                r.author,
                now,
                finalized
            ])?;
            let record_id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO record_revisions (record_id, revision, answers, author, finalized_at) VALUES (?1, 1, ?2, ?3, ?4)",
            )?
            .execute(params![record_id, json, r.author, finalized])?;
            touched.insert(resident_id);
            tx.prepare_cached("UPDATE residents SET updated_at = ?2 WHERE id = ?1")?
                .execute(params![resident_id, now])?;
            audit::append(&tx, actor, "import", "record", &record_id.to_string())?;
            counts.records_new += 1;
        }
        for id in touched {
            super::care::refresh(&tx, id, &settings)?;
        }
        tx.commit()?;
        Ok(counts)
    }
}
