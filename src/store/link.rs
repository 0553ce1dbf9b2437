//! Linking a resident registered here to the platform's Patient when the
//! platform refused them as already registered (issue 14, part 2).
//!
//! The resident takes the Patient's identity — its id (the resident's
//! uuid, so every record here is uploaded with that Patient as subject) and
//! its health-record number — and is marked as coming from the platform, so
//! the Patient (another site's) is never sent back. Nothing entered here is
//! lost: the demographics as entered are kept in `resident_links` with the
//! old id and number (the number also in `record_no_changes`), the records
//! stay and are queued again, and the link is audited. When the Patient is
//! here already (fetched earlier), the records move to that resident and
//! this one is set inactive.

use super::residents::{update_fields, ResidentFields};
use super::serials::{self, Reason};
use super::{audit, now_text, Actor, Permission, Result, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::json;

/// An upload the platform refused because the resident is registered there
/// already (`sync.err_registered_*` in the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub resident_id: i64,
    /// The ID card number (else the record number) is the Patient's.
    pub id_card: bool,
    /// Already found to be the same person (`sync.err_registered_same`).
    pub same: bool,
    /// `Patient/<id>`.
    pub patient: String,
    pub site: String,
}

/// The platform's Patient, as the link takes it. `Debug` shows the id only.
#[derive(Clone)]
pub struct PlatformPatient {
    pub id: String,
    pub record_no: String,
    pub fields: ResidentFields,
}

impl std::fmt::Debug for PlatformPatient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformPatient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Queues the latest revision of each of the resident's records again
/// (refused or sent under the old identity). Returns how many.
pub(crate) fn requeue(conn: &Connection, resident_id: i64) -> Result<usize> {
    let now = now_text(chrono::Local::now());
    Ok(conn.execute(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = NULL, last_error = NULL, updated_at = ?2
         WHERE state IN ('failed', 'sent') AND id IN (
             SELECT max(o.id) FROM outbox o JOIN records r ON r.id = o.record_id
             WHERE r.resident_id = ?1 GROUP BY o.record_id)",
        params![resident_id, now],
    )?)
}

fn fields_json(f: &ResidentFields) -> String {
    json!({
        "name": f.name, "sex": f.sex, "birth_date": f.birth_date, "id_number": f.id_number,
        "phone": f.phone, "address": f.address, "village": f.village,
    })
    .to_string()
}

impl Store {
    /// Residents whose upload was refused as registered elsewhere, one row
    /// per resident.
    pub fn registration_refusals(&self) -> Result<Vec<Refusal>> {
        let rows: Vec<(i64, String)> = self
            .conn()
            .prepare(
                "SELECT r.resident_id, min(o.last_error) FROM outbox o JOIN records r ON r.id = o.record_id
                 WHERE o.state = 'failed' AND o.last_error LIKE 'sync.err_registered_%'
                 GROUP BY r.resident_id ORDER BY r.resident_id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(resident_id, stored)| {
                let mut parts = stored.split('|');
                let key = parts.next()?;
                let site = parts.next()?.to_string();
                let patient = parts.next()?.to_string();
                Some(Refusal {
                    resident_id,
                    id_card: key == "sync.err_registered_id_card",
                    same: key == "sync.err_registered_same",
                    patient,
                    site,
                })
            })
            .collect())
    }

    /// Replaces the reason of the resident's refused uploads (`stored`, as
    /// `SyncError::stored` keeps it): the same person is on the platform.
    pub fn note_registered_same(&mut self, resident_id: i64, stored: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET last_error = ?2 WHERE state = 'failed' AND last_error LIKE 'sync.err_registered_%'
                 AND record_id IN (SELECT id FROM records WHERE resident_id = ?1)",
            params![resident_id, stored],
        )?;
        Ok(())
    }

    /// Queues the resident's records again (after a new number).
    pub fn requeue_resident(&mut self, resident_id: i64) -> Result<usize> {
        requeue(self.conn(), resident_id)
    }

    /// Links the resident to the platform's Patient `p` (see the module
    /// header). Returns the resident that now holds the records.
    pub fn link_resident(&mut self, actor: &Actor, resident_id: i64, p: &PlatformPatient) -> Result<i64> {
        actor.require(Permission::WriteRecords)?;
        if !crate::fhir::valid_id(&p.id) || p.record_no.len() != 17 {
            return Err(StoreError::InvalidInput);
        }
        let settings = self.care.clone();
        let local = self.resident_unaudited(resident_id)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (old_uuid, old_record_no) = (local.uuid.clone(), local.record_no.clone());
        let entered = ResidentFields {
            name: local.name,
            sex: local.sex,
            birth_date: local.birth_date,
            id_number: local.id_number,
            phone: local.phone,
            address: local.address,
            village: local.village,
        };
        let now = now_text(chrono::Local::now());
        let here: Option<i64> = tx
            .query_row(
                "SELECT id FROM residents WHERE uuid = ?1 AND id != ?2",
                params![p.id, resident_id],
                |r| r.get(0),
            )
            .optional()?;
        let holder = match here {
            Some(other) => {
                // The Patient is here already: its resident takes the records.
                tx.execute(
                    "UPDATE records SET resident_id = ?2 WHERE resident_id = ?1",
                    params![resident_id, other],
                )?;
                tx.execute(
                    "UPDATE programme_events SET resident_id = ?2 WHERE resident_id = ?1",
                    params![resident_id, other],
                )?;
                tx.execute("DELETE FROM visits WHERE resident_id = ?1", params![resident_id])?;
                tx.execute(
                    "UPDATE residents SET status = 'inactive', updated_at = ?2 WHERE id = ?1",
                    params![resident_id, now],
                )?;
                super::care::refresh(&tx, resident_id, &settings)?;
                other
            }
            None => {
                if old_record_no != p.record_no {
                    // Someone else here holding the platform's number gets another.
                    let number = serials::make_room(&tx, actor, &old_uuid, &p.record_no)?;
                    if number != p.record_no {
                        return Err(StoreError::AlreadyExists);
                    }
                    serials::set_number(&tx, actor, resident_id, &p.record_no, Reason::Link)?;
                }
                tx.execute(
                    "UPDATE residents SET uuid = ?2, record_no_provisional = 0 WHERE id = ?1",
                    params![resident_id, p.id],
                )?;
                update_fields(&tx, resident_id, &p.fields, false)?;
                tx.execute(
                    "INSERT INTO sync_residents (resident_id, origin, updated_at) VALUES (?1, 'platform', ?2)
                     ON CONFLICT(resident_id) DO UPDATE SET origin = 'platform', sent_hash = NULL,
                         server_version = NULL, updated_at = ?2",
                    params![resident_id, now],
                )?;
                resident_id
            }
        };
        tx.execute(
            "INSERT INTO resident_links (resident_id, old_uuid, old_record_no, patient, local_fields, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                resident_id,
                old_uuid,
                old_record_no,
                p.id,
                fields_json(&entered),
                actor.user,
                now
            ],
        )?;
        requeue(&tx, holder)?;
        super::care::refresh(&tx, holder, &settings)?;
        audit::append(&tx, actor, "link", "resident", &resident_id.to_string())?;
        if holder != resident_id {
            audit::append(&tx, actor, "link", "resident", &holder.to_string())?;
        }
        tx.commit()?;
        Ok(holder)
    }

    /// The demographics as entered here before a link (JSON), newest first.
    pub fn link_history(&self, actor: &Actor, resident_id: i64) -> Result<Vec<(String, String, String)>> {
        actor.require(Permission::ReadRecords)?;
        let rows = self
            .conn()
            .prepare(
                "SELECT old_record_no, patient, local_fields FROM resident_links WHERE resident_id = ?1 ORDER BY id DESC",
            )?
            .query_map(params![resident_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        audit::append(self.conn(), actor, "view_links", "resident", &resident_id.to_string())?;
        Ok(rows)
    }
}
