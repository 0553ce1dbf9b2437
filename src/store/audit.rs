//! The audit trail: one row per access, chained by SHA-256 so that deleting,
//! altering or reordering a row breaks the chain at that row. Entries carry
//! record ids and the action, never the data itself.

use super::{now_text, Actor, Result, Store};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub prev_hash: String,
    pub hash: String,
}

fn entry_hash(prev: &str, at: &str, actor: &str, action: &str, entity: &str, entity_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev, at, actor, action, entity, entity_id] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an entry; called inside the transaction of the change it records.
pub(crate) fn append(conn: &Connection, actor: &Actor, action: &str, entity: &str, entity_id: &str) -> Result<()> {
    let prev: String = conn
        .query_row("SELECT hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(GENESIS.to_string()) } else { Err(e) })?;
    let at = now_text(chrono::Local::now());
    let hash = entry_hash(&prev, &at, &actor.user, action, entity, entity_id);
    conn.execute(
        "INSERT INTO audit (at, actor, action, entity, entity_id, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![at, actor.user, action, entity, entity_id, prev, hash],
    )?;
    Ok(())
}

impl Store {
    pub fn audit_entries(&self, since_id: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, at, actor, action, entity, entity_id, prev_hash, hash FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since_id, limit as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                entity: r.get(4)?,
                entity_id: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Records an access that changes nothing (a view, a search, an export).
    pub fn audit(&self, actor: &Actor, action: &str, entity: &str, entity_id: &str) -> Result<()> {
        append(self.conn(), actor, action, entity, entity_id)
    }
}

/// Walks the chain; returns the id of the first entry that does not fit.
pub fn verify_chain(entries: &[AuditEntry]) -> Option<i64> {
    let mut prev = GENESIS.to_string();
    for e in entries {
        let expect = entry_hash(&prev, &e.at, &e.actor, &e.action, &e.entity, &e.entity_id);
        if e.prev_hash != prev || e.hash != expect {
            return Some(e.id);
        }
        prev = e.hash.clone();
    }
    None
}
