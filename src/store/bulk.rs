//! Bulk import of whole residents with their finalized records, in batches
//! of one transaction each: what demo data and migrations from other systems
//! need, at thousands of residents a second. Each resident still gets its
//! audit entry. Imported records are not queued for upload.

use super::residents::ResidentFields;
use super::{audit, now_text, Actor, Result, SiteConfig, Store};
use crate::form::{Answers, FormDef};
use rusqlite::{params, TransactionBehavior};

pub struct ImportRecord<'a> {
    pub def: &'a FormDef,
    pub source: &'a str,
    pub answers: Answers,
    pub record_date: String,
    pub author: String,
}

pub struct ImportResident<'a> {
    pub fields: ResidentFields,
    pub programmes: Vec<&'static str>,
    pub records: Vec<ImportRecord<'a>>,
}

impl Store {
    pub fn import_batch(&mut self, actor: &Actor, site: &SiteConfig, batch: &[ImportResident]) -> Result<()> {
        actor.require(super::Permission::Finalize)?;
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        for item in batch {
            let record_no = super::serials::allocate(&tx, site)?;
            let f = &item.fields;
            tx.prepare_cached(
                "INSERT INTO residents (uuid, record_no, status, name, sex, birth_date, id_number, phone, address, village,
                     programmes, created_at, updated_at)
                 VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            )?
            .execute(params![
                uuid::Uuid::now_v7().to_string(),
                record_no,
                f.name,
                f.sex,
                f.birth_date,
                f.id_number,
                f.phone,
                f.address,
                f.village,
                item.programmes.join(","),
                now
            ])?;
            let resident_id = tx.last_insert_rowid();
            let keys = crate::search::index::KeySource {
                name: f.name.as_deref(),
                id_number: f.id_number.as_deref(),
                phone: f.phone.as_deref(),
                record_no: Some(&record_no),
            };
            super::search::index_imported(&tx, resident_id, &keys)?;
            audit::append(&tx, actor, "import", "resident", &resident_id.to_string())?;
            for r in &item.records {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO form_versions (form_id, version, source, first_used) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![r.def.id, r.def.version, r.source, now])?;
                let json = serde_json::to_string(&r.answers).unwrap_or_else(|_| "{}".into());
                tx.prepare_cached(
                    "INSERT INTO records (uuid, resident_id, form_id, form_version, status, answers, record_date, author,
                         created_at, updated_at, finalized_at)
                     VALUES (?1, ?2, ?3, ?4, 'final', ?5, ?6, ?7, ?8, ?8, ?8)",
                )?
                .execute(params![uuid::Uuid::now_v7().to_string(), resident_id, r.def.id, r.def.version, json, r.record_date, r.author, now])?;
                let record_id = tx.last_insert_rowid();
                tx.prepare_cached(
                    "INSERT INTO record_revisions (record_id, revision, answers, author, finalized_at) VALUES (?1, 1, ?2, ?3, ?4)",
                )?
                .execute(params![record_id, json, r.author, now])?;
            }
            super::care::refresh(&tx, resident_id, &settings)?;
        }
        tx.commit()?;
        Ok(())
    }
}
