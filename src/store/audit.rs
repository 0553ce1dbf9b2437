//! The audit trail: one row per access, chained by SHA-256 so that deleting,
//! altering or reordering a row breaks the chain at that row. Entries carry
//! record ids and the action, never the data itself.

use super::{now_text, Actor, Result, Store};
use rusqlite::{params, Connection, OptionalExtension};
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
    hex::encode(h.finalize())
}

/// Maps a row of `SELECT id, at, actor, action, entity, entity_id, prev_hash, hash`.
fn entry_from_row(r: &rusqlite::Row) -> rusqlite::Result<AuditEntry> {
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
}

/// Appends an entry; called inside the transaction of the change it records.
/// Outside one (a view, a login), it takes its own write transaction: reading
/// the last hash and inserting must not interleave with another process, or
/// two entries would claim the same predecessor and the chain would fork.
pub(crate) fn append(conn: &Connection, actor: &Actor, action: &str, entity: &str, entity_id: &str) -> Result<()> {
    if !conn.is_autocommit() {
        return append_in_tx(conn, actor, action, entity, entity_id);
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match append_in_tx(conn, actor, action, entity, entity_id) {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn append_in_tx(conn: &Connection, actor: &Actor, action: &str, entity: &str, entity_id: &str) -> Result<()> {
    // Cached statements: an upload appends one entry per record.
    let prev: String = conn
        .prepare_cached("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .or_else(|e| {
            if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                Ok(GENESIS.to_string())
            } else {
                Err(e)
            }
        })?;
    let at = now_text(chrono::Local::now());
    let hash = entry_hash(&prev, &at, &actor.user, action, entity, entity_id);
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, action, entity, entity_id, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![at, actor.user, action, entity, entity_id, prev, hash])?;
    // The chain cannot show that its newest entries were cut off; the head
    // kept beside it (same transaction) can.
    let head = format!("{}:{hash}", conn.last_insert_rowid());
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES ('audit.head', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![head])?;
    Ok(())
}

/// What `jkda audit show` selects.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub resident: Option<i64>,
    pub user: Option<String>,
    /// `YYYY-MM-DD` or a full timestamp; entries at or after it.
    pub since: Option<String>,
    pub limit: Option<usize>,
}

/// Where and how the chain was found broken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainBreak {
    pub id: i64,
    pub at: String,
    /// `altered`, `removed_or_reordered` or `truncated`.
    pub kind: &'static str,
}

impl Store {
    pub fn audit_entries(&self, since_id: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, at, actor, action, entity, entity_id, prev_hash, hash FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since_id, limit as i64], entry_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Records an access that changes nothing (a view, a search, an export,
    /// a login).
    pub fn audit(&self, actor: &Actor, action: &str, entity: &str, entity_id: &str) -> Result<()> {
        append(self.conn(), actor, action, entity, entity_id)
    }

    /// Entries matching the filter, newest last; reading the trail is itself audited.
    pub fn audit_query(&self, actor: &Actor, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        actor.require(super::Permission::ReadAudit)?;
        let mut stmt = self.conn().prepare(
            "SELECT id, at, actor, action, entity, entity_id, prev_hash, hash FROM audit
             WHERE (?1 IS NULL OR (entity = 'resident' AND entity_id = CAST(?1 AS TEXT))
                    OR (entity = 'record' AND entity_id IN (SELECT CAST(id AS TEXT) FROM records WHERE resident_id = ?1)))
               AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR at >= ?3)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let limit = f.limit.unwrap_or(10_000) as i64;
        let rows = stmt.query_map(params![f.resident, f.user, f.since, limit], entry_from_row)?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        out.reverse();
        append(self.conn(), actor, "audit_view", "audit", &out.len().to_string())?;
        Ok(out)
    }

    /// The trail's last entry: its id and hash.
    pub fn audit_head(&self) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn()
            .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// The hash of entry `id`, if the trail has it.
    pub fn audit_hash_at(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT hash FROM audit WHERE id = ?1", params![id], |r| r.get(0))
            .optional()?)
    }

    /// A random name of this installation's trail on the platform, made once.
    pub fn installation_id(&self) -> Result<String> {
        if let Some(id) = self.setting("installation.id")? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.set_setting("installation.id", &id)?;
        Ok(id)
    }

    /// Checks the whole chain and its head; `None` when intact.
    pub fn verify_audit(&self) -> Result<Option<ChainBreak>> {
        let mut last_id = 0;
        let mut all = Vec::new();
        loop {
            let batch = self.audit_entries(last_id, 5_000)?;
            let Some(last) = batch.last() else { break };
            last_id = last.id;
            all.extend(batch);
        }
        if let Some(b) = find_break(&all) {
            return Ok(Some(b));
        }
        let head = self.setting("audit.head")?;
        let expected = all.last().map(|e| format!("{}:{}", e.id, e.hash));
        if head != expected {
            let (id, at) = all.last().map(|e| (e.id, e.at.clone())).unwrap_or((0, String::new()));
            return Ok(Some(ChainBreak {
                id,
                at,
                kind: "truncated",
            }));
        }
        Ok(None)
    }
}

fn find_break(entries: &[AuditEntry]) -> Option<ChainBreak> {
    let mut prev = GENESIS.to_string();
    for e in entries {
        let expect = entry_hash(&e.prev_hash, &e.at, &e.actor, &e.action, &e.entity, &e.entity_id);
        if e.hash != expect {
            return Some(ChainBreak {
                id: e.id,
                at: e.at.clone(),
                kind: "altered",
            });
        }
        if e.prev_hash != prev {
            return Some(ChainBreak {
                id: e.id,
                at: e.at.clone(),
                kind: "removed_or_reordered",
            });
        }
        prev = e.hash.clone();
    }
    None
}

/// Walks a list of entries; returns the id of the first that does not fit.
pub fn verify_chain(entries: &[AuditEntry]) -> Option<i64> {
    find_break(entries).map(|b| b.id)
}
