//! The store side of finding residents: the `resident_keys` table kept in
//! step with every insert and update of a resident (in the same transaction),
//! queries answered by range scans over its primary key (see
//! `crate::search::index` for the keys and the ranking), and the suspected
//! duplicates registration warns about and `jkda residents duplicates` lists.
//!
//! Keys are computed in Rust (pinyin), so SQL cannot fill the table: a
//! database from before the table existed, or one indexed with older key
//! rules, is re-indexed on its first search ([`KEYS_VERSION`] in settings).

use super::residents::{mask_id, ResidentFields, ResidentRow};
use super::{audit, Actor, Result, Store};
use crate::identity::mask_phone;
use crate::search::index::{name_key, plan, resident_keys, upper_bound, KeyKind, KeySource, Plan, KEYS_VERSION};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{BTreeMap, HashMap, HashSet};

const VERSION_SETTING: &str = "search.keys_version";

/// Why two residents may be the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    /// The same ID number: certainly the same person (registration stops).
    SameId,
    /// The same name and birth date: very likely (registration asks).
    SameNameBirth,
    /// The same phone: possibly, or a household sharing one (registration asks).
    SamePhone,
}

impl DuplicateReason {
    /// The i18n key naming the reason, for the TUI warning and the CLI list.
    pub fn text_key(self) -> &'static str {
        match self {
            DuplicateReason::SameId => "search.reason.same_id",
            DuplicateReason::SameNameBirth => "search.reason.same_name_birth",
            DuplicateReason::SamePhone => "search.reason.same_phone",
        }
    }
}

/// An existing resident who may be the one being registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DuplicateCandidate {
    pub row: ResidentRow,
    pub reasons: Vec<DuplicateReason>,
}

/// Two residents in the database who may be one person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DuplicatePair {
    pub a: ResidentRow,
    pub b: ResidentRow,
    pub reasons: Vec<DuplicateReason>,
}

/// Adds the keys of a resident who has none yet (a new row).
pub(crate) fn index_resident(conn: &Connection, resident_id: i64, src: &KeySource) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO resident_keys (kind, key, resident_id) VALUES (?1, ?2, ?3)")?;
    for (kind, key) in resident_keys(src) {
        stmt.execute(params![kind.code(), key, resident_id])?;
    }
    Ok(())
}

/// The columns keys are made from, as read back from `residents`.
struct KeyColumns {
    name: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    record_no: String,
}

impl KeyColumns {
    const SELECT: &'static str = "SELECT id, name, id_number, phone, record_no FROM residents";

    fn read(r: &rusqlite::Row) -> rusqlite::Result<(i64, KeyColumns)> {
        Ok((
            r.get(0)?,
            KeyColumns {
                name: r.get(1)?,
                id_number: r.get(2)?,
                phone: r.get(3)?,
                record_no: r.get(4)?,
            },
        ))
    }

    fn source(&self) -> KeySource<'_> {
        KeySource {
            name: self.name.as_deref(),
            id_number: self.id_number.as_deref(),
            phone: self.phone.as_deref(),
            record_no: Some(&self.record_no),
        }
    }
}

/// Replaces a resident's keys with those of the row as it is now; called
/// after every update of name, ID number, phone or record number.
pub(crate) fn reindex_resident(conn: &Connection, resident_id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM resident_keys WHERE resident_id = ?1")?
        .execute(params![resident_id])?;
    let row = conn
        .prepare_cached(&format!("{} WHERE id = ?1", KeyColumns::SELECT))?
        .query_row(params![resident_id], KeyColumns::read)
        .optional()?;
    if let Some((id, cols)) = row {
        index_resident(conn, id, &cols.source())?;
    }
    Ok(())
}

/// Fills the index from scratch, in one transaction, unless another
/// process did it while this one waited for the lock. A bulk load: every
/// key is computed and sorted first and written in key order into the
/// emptied table, and the by-resident index is built afterwards, instead of
/// a million random inserts. Holds all keys in memory meanwhile (about
/// 100 MB for 200 000 residents).
fn rebuild(conn: &Connection, force: bool) -> Result<usize> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    if !force && recorded_version(&tx)? == Some(KEYS_VERSION) {
        return Ok(0);
    }
    let mut keys: Vec<(i64, String, i64)> = Vec::new();
    let mut count = 0;
    {
        let mut stmt = tx.prepare(KeyColumns::SELECT)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (id, cols) = KeyColumns::read(r)?;
            keys.extend(
                resident_keys(&cols.source())
                    .into_iter()
                    .map(|(kind, key)| (kind.code(), key, id)),
            );
            count += 1;
        }
    }
    keys.sort_unstable();
    tx.execute_batch("DROP INDEX IF EXISTS resident_keys_resident; DELETE FROM resident_keys;")?;
    {
        let mut insert =
            tx.prepare("INSERT OR IGNORE INTO resident_keys (kind, key, resident_id) VALUES (?1, ?2, ?3)")?;
        for (kind, key, id) in &keys {
            insert.execute(params![kind, key, id])?;
        }
    }
    tx.execute_batch("CREATE INDEX resident_keys_resident ON resident_keys(resident_id)")?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![VERSION_SETTING, KEYS_VERSION.to_string()],
    )?;
    tx.commit()?;
    Ok(count)
}

/// The keys of a resident written by a bulk import: added at once, unless
/// this connection defers them to [`Store::finish_deferred_search_index`].
pub(crate) fn index_imported(conn: &Connection, resident_id: i64, src: &KeySource) -> Result<()> {
    let deferring: bool = conn
        .prepare_cached("SELECT count(*) > 0 FROM temp.sqlite_master WHERE name = 'search_deferred'")?
        .query_row([], |r| r.get(0))?;
    if !deferring {
        return index_resident(conn, resident_id, src);
    }
    // Stale until the import finishes, even if another process rebuilt the
    // index meanwhile: a crash before then leaves it to the next search.
    conn.prepare_cached("DELETE FROM settings WHERE key = ?1")?
        .execute(params![VERSION_SETTING])?;
    Ok(())
}

fn recorded_version(conn: &Connection) -> Result<Option<i64>> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row(params![VERSION_SETTING], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()))
}

fn row_by_id(conn: &Connection, id: i64) -> Result<Option<ResidentRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, record_no, status, name, sex, birth_date, id_number, phone, village FROM residents WHERE id = ?1",
    )?;
    let row = stmt
        .query_row(params![id], |r| {
            let id_number: Option<String> = r.get(6)?;
            let phone: Option<String> = r.get(7)?;
            Ok(ResidentRow {
                id: r.get(0)?,
                record_no: r.get(1)?,
                status: r.get(2)?,
                name: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                sex: r.get(4)?,
                birth_date: r.get(5)?,
                id_masked: id_number.as_deref().map(mask_id).unwrap_or_default(),
                phone_masked: phone.as_deref().map(mask_phone).unwrap_or_default(),
                village: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            })
        })
        .optional()?;
    Ok(row)
}

/// The range scan on the residents table's own index for the kinds that
/// are not stored as keys.
fn column_scan(kind: KeyKind) -> Option<&'static str> {
    match kind {
        KeyKind::IdHead => Some(
            "SELECT id_number, id FROM residents WHERE id_number >= ?1 AND id_number < ?2
             ORDER BY id_number, id LIMIT ?3",
        ),
        KeyKind::RecordHead => Some(
            "SELECT record_no, id FROM residents WHERE record_no >= ?1 AND record_no < ?2
             ORDER BY record_no LIMIT ?3",
        ),
        _ => None,
    }
}

/// Ids of non-draft residents holding exactly `key` of `kind`.
fn holders(conn: &Connection, kind: KeyKind, key: &str, except: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.resident_id FROM resident_keys k JOIN residents r ON r.id = k.resident_id
         WHERE k.kind = ?1 AND k.key = ?2 AND k.resident_id != ?3 AND r.status != 'draft'
         ORDER BY k.resident_id LIMIT 50",
    )?;
    let ids = stmt.query_map(params![kind.code(), key, except], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<Vec<i64>>>()?)
}

impl Store {
    /// Re-indexes every resident if the index is missing or was built with
    /// other key rules. Cheap when it is current (one settings lookup).
    pub fn ensure_search_index(&self) -> Result<()> {
        if recorded_version(self.conn())? != Some(KEYS_VERSION) {
            rebuild(self.conn(), false)?;
        }
        Ok(())
    }

    /// For bulk imports on this connection (the demo, a migration): their
    /// residents get no keys as they are written, and the index is marked
    /// stale; [`Store::finish_deferred_search_index`] then builds it in one
    /// pass. Kept row by row, a random-key index has most of its pages
    /// rewritten by every transaction of a large import. Should the import
    /// stop half-way, the next search from any connection rebuilds it.
    pub fn defer_search_index(&self) -> Result<()> {
        self.conn()
            .execute_batch("CREATE TEMP TABLE IF NOT EXISTS search_deferred (x INTEGER)")?;
        self.conn()
            .execute("DELETE FROM settings WHERE key = ?1", params![VERSION_SETTING])?;
        Ok(())
    }

    /// Ends [`Store::defer_search_index`]: indexes every resident.
    pub fn finish_deferred_search_index(&self) -> Result<usize> {
        self.conn().execute_batch("DROP TABLE IF EXISTS temp.search_deferred")?;
        rebuild(self.conn(), true)
    }

    /// Rebuilds the whole index; returns how many residents were indexed.
    pub fn rebuild_search_index(&self) -> Result<usize> {
        rebuild(self.conn(), true)
    }

    /// Residents matching what a worker typed, best first (see
    /// `crate::search::index`). For callers that checked the actor and
    /// audit: [`Store::search_residents`], [`Store::find_residents_audited`].
    pub(crate) fn find_residents(&self, query: &str, limit: usize) -> Result<Vec<ResidentRow>> {
        let scans = match plan(query) {
            Plan::Recent => return self.recent_rows(limit),
            Plan::NoMatch => return Ok(Vec::new()),
            Plan::Scans(s) => s,
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.ensure_search_index()?;
        let conn = self.conn();
        let mut prefix_stmt = conn.prepare_cached(
            "SELECT key, resident_id FROM resident_keys WHERE kind = ?1 AND key >= ?2 AND key < ?3
             ORDER BY key, resident_id LIMIT ?4",
        )?;
        let mut exact_stmt = conn.prepare_cached(
            "SELECT key, resident_id FROM resident_keys WHERE kind = ?1 AND key = ?2 ORDER BY resident_id LIMIT ?3",
        )?;
        // (rank, not an exact key, key, resident id): sorting gives the ranking.
        let mut hits: Vec<(u8, bool, String, i64)> = Vec::new();
        for scan in &scans {
            let map = |r: &rusqlite::Row| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?));
            let found: Vec<(String, i64)> = if let Some(column) = column_scan(scan.kind) {
                let upper = upper_bound(&scan.prefix);
                conn.prepare_cached(column)?
                    .query_map(params![scan.prefix, upper, limit as i64], map)?
                    .collect::<rusqlite::Result<_>>()?
            } else if scan.exact {
                exact_stmt
                    .query_map(params![scan.kind.code(), scan.prefix, limit as i64], map)?
                    .collect::<rusqlite::Result<_>>()?
            } else {
                let upper = upper_bound(&scan.prefix);
                prefix_stmt
                    .query_map(params![scan.kind.code(), scan.prefix, upper, limit as i64], map)?
                    .collect::<rusqlite::Result<_>>()?
            };
            hits.extend(
                found
                    .into_iter()
                    .map(|(key, id)| (scan.rank, key != scan.prefix, key, id)),
            );
        }
        hits.sort();
        let mut seen = HashSet::new();
        let mut rows = Vec::new();
        for (_, _, _, id) in hits {
            if rows.len() >= limit {
                break;
            }
            if seen.insert(id) {
                if let Some(row) = row_by_id(conn, id)? {
                    rows.push(row);
                }
            }
        }
        Ok(rows)
    }

    /// A search on someone's behalf outside the TUI (the command line): one
    /// audit entry with the number of results, never the query, which may
    /// itself be personal data.
    pub fn find_residents_audited(&self, actor: &Actor, query: &str, limit: usize) -> Result<Vec<ResidentRow>> {
        actor.require(super::Permission::ReadRecords)?;
        let rows = self.find_residents(query, limit)?;
        audit::append(self.conn(), actor, "search", "residents", &rows.len().to_string())?;
        Ok(rows)
    }

    /// Existing residents (not drafts, not `except`) who may be the person
    /// described by `fields`: the same ID number, the same name and birth
    /// date, or the same phone. Names, IDs and phones are compared as the
    /// search normalises them (width, case, spaces, punctuation).
    pub fn duplicate_candidates(
        &self,
        actor: &Actor,
        fields: &ResidentFields,
        except: Option<i64>,
    ) -> Result<Vec<DuplicateCandidate>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("duplicate_check");
        self.ensure_search_index()?;
        let conn = self.conn();
        let except = except.unwrap_or(-1);
        let probe = resident_keys(&KeySource {
            name: None,
            id_number: fields.id_number.as_deref(),
            phone: fields.phone.as_deref(),
            record_no: None,
        });
        let mut found: BTreeMap<i64, Vec<DuplicateReason>> = BTreeMap::new();
        for (kind, key) in &probe {
            let reason = match kind {
                KeyKind::IdTail => DuplicateReason::SameId,
                KeyKind::PhoneTail => DuplicateReason::SamePhone,
                _ => continue,
            };
            for id in holders(conn, *kind, key, except)? {
                found.entry(id).or_default().push(reason);
            }
        }
        let name = fields.name.as_deref().map(name_key).filter(|n| !n.is_empty());
        let birth = fields.birth_date.as_deref().map(str::trim).filter(|b| !b.is_empty());
        if let (Some(name), Some(birth)) = (name, birth) {
            let mut stmt = conn.prepare_cached(
                "SELECT r.id FROM resident_keys k JOIN residents r ON r.id = k.resident_id
                 WHERE k.kind = ?1 AND k.key = ?2 AND r.birth_date = ?3 AND r.id != ?4 AND r.status != 'draft'
                 ORDER BY r.id LIMIT 50",
            )?;
            let ids = stmt.query_map(params![KeyKind::NameHead.code(), name, birth, except], |r| {
                r.get::<_, i64>(0)
            })?;
            for id in ids {
                found.entry(id?).or_default().push(DuplicateReason::SameNameBirth);
            }
        }
        let mut out = Vec::new();
        for (id, mut reasons) in found {
            reasons.sort();
            reasons.dedup();
            if let Some(row) = row_by_id(conn, id)? {
                out.push(DuplicateCandidate { row, reasons });
            }
        }
        out.sort_by_key(|c| (c.reasons.first().copied(), std::cmp::Reverse(c.reasons.len()), c.row.id));
        Ok(out)
    }

    /// Every pair of residents (registrations in progress included, marked
    /// by their `status`) who share an ID number, a name and birth date, or a
    /// phone and a name (a birth date typed wrong), strongest first: the
    /// clean-up list. Pairs that share only a phone
    /// are mostly households (grandparents give their children's number);
    /// `shared_phones` lists them too. Audited with the number of pairs.
    pub fn duplicate_pairs(&self, actor: &Actor, shared_phones: bool) -> Result<Vec<DuplicatePair>> {
        actor.require(super::Permission::ReadRecords)?;
        let pairs = self.find_duplicate_pairs(shared_phones)?;
        audit::append(self.conn(), actor, "duplicates", "residents", &pairs.len().to_string())?;
        Ok(pairs)
    }

    fn find_duplicate_pairs(&self, shared_phones: bool) -> Result<Vec<DuplicatePair>> {
        self.ensure_search_index()?;
        let conn = self.conn();
        // Sequential reads only: one pass over the residents for what the
        // keys lack, then each kind of key in key order. (Joining keys to
        // residents row by row reads a random page per resident.)
        let mut births: HashMap<i64, String> = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT id, birth_date FROM residents")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let (id, birth): (i64, Option<String>) = (r.get(0)?, r.get(1)?);
                if let Some(b) = birth.map(|b| b.trim().to_string()).filter(|b| !b.is_empty()) {
                    births.insert(id, b);
                }
            }
        }
        // Residents sharing a key of `kind`, group by group. Registrations
        // still in progress (or abandoned) are included: a draft that
        // duplicates a resident is exactly what the clean-up must show; each
        // row says whether it is a draft (`status`).
        let groups = |kind: KeyKind| -> Result<Vec<Vec<(String, i64)>>> {
            let mut stmt = conn.prepare("SELECT key, resident_id FROM resident_keys WHERE kind = ?1 ORDER BY key")?;
            let mut rows = stmt.query(params![kind.code()])?;
            let mut out: Vec<Vec<(String, i64)>> = Vec::new();
            let mut current: Vec<(String, i64)> = Vec::new();
            while let Some(r) = rows.next()? {
                let (key, id): (String, i64) = (r.get(0)?, r.get(1)?);
                if current.first().is_some_and(|(k, _)| *k != key) {
                    out.push(std::mem::take(&mut current));
                }
                current.push((key, id));
            }
            out.push(current);
            out.retain(|g| g.len() > 1);
            Ok(out)
        };
        let mut pairs: BTreeMap<(i64, i64), Vec<DuplicateReason>> = BTreeMap::new();
        let mut add = |ids: &[i64], reason: DuplicateReason| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            for (i, a) in ids.iter().enumerate() {
                for b in &ids[i + 1..] {
                    pairs.entry((*a, *b)).or_default().push(reason);
                }
            }
        };
        let ids = |g: &[(String, i64)]| g.iter().map(|(_, id)| *id).collect::<Vec<i64>>();
        for g in groups(KeyKind::IdTail)? {
            add(&ids(&g), DuplicateReason::SameId);
        }
        let mut name_of: HashMap<i64, String> = HashMap::new();
        for g in groups(KeyKind::NameHead)? {
            let mut by_birth: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for (key, id) in &g {
                if let Some(b) = births.get(id) {
                    by_birth.entry(b).or_default().push(*id);
                }
                name_of.insert(*id, key.clone());
            }
            for same in by_birth.values().filter(|v| v.len() > 1) {
                add(same, DuplicateReason::SameNameBirth);
            }
        }
        for g in groups(KeyKind::PhoneTail)? {
            if shared_phones {
                add(&ids(&g), DuplicateReason::SamePhone);
                continue;
            }
            // A name shared with nobody is not in `name_of`: no pair.
            let mut by_name: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for (_, id) in &g {
                if let Some(n) = name_of.get(id) {
                    by_name.entry(n).or_default().push(*id);
                }
            }
            for same in by_name.values().filter(|v| v.len() > 1) {
                add(same, DuplicateReason::SamePhone);
            }
        }
        let mut out = Vec::with_capacity(pairs.len());
        for ((a, b), mut reasons) in pairs {
            reasons.sort();
            reasons.dedup();
            if let (Some(a), Some(b)) = (row_by_id(conn, a)?, row_by_id(conn, b)?) {
                out.push(DuplicatePair { a, b, reasons });
            }
        }
        // The strongest reason first, then the most reasons.
        let strength = |p: &DuplicatePair| {
            (
                p.reasons.first().copied(),
                std::cmp::Reverse(p.reasons.len()),
                p.a.id,
                p.b.id,
            )
        };
        out.sort_by_key(strength);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(store: &Store, sql: &str) -> String {
        let mut stmt = store.conn().prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" / ")
    }

    /// Every keystroke's scans are range searches of the primary key, never
    /// a scan of the table, and need no sort (the key order is the ranking).
    #[test]
    fn queries_use_the_key_index() {
        let store = Store::open_in_memory().unwrap();
        let prefix = plan_of(
            &store,
            "SELECT key, resident_id FROM resident_keys WHERE kind = 4 AND key >= 'zh' AND key < 'zi'
             ORDER BY key, resident_id LIMIT 200",
        );
        assert!(
            prefix.contains("SEARCH resident_keys USING PRIMARY KEY (kind=? AND key>? AND key<?)"),
            "{prefix}"
        );
        assert!(!prefix.contains("TEMP B-TREE"), "{prefix}");
        let exact = plan_of(
            &store,
            "SELECT key, resident_id FROM resident_keys WHERE kind = 5 AND key = '1' ORDER BY resident_id LIMIT 200",
        );
        assert!(
            exact.contains("SEARCH resident_keys USING PRIMARY KEY (kind=? AND key=?)"),
            "{exact}"
        );
        assert!(!exact.contains("TEMP B-TREE"), "{exact}");
        let delete = plan_of(&store, "DELETE FROM resident_keys WHERE resident_id = 1");
        assert!(delete.contains("resident_keys_resident"), "{delete}");
        for kind in [KeyKind::IdHead, KeyKind::RecordHead] {
            let sql = column_scan(kind)
                .unwrap()
                .replace("?1", "'2206021'")
                .replace("?2", "'2206022'")
                .replace("?3", "50");
            let p = plan_of(&store, &sql);
            assert!(p.contains("USING COVERING INDEX"), "{kind:?}: {p}");
            assert!(!p.contains("TEMP B-TREE"), "{kind:?}: {p}");
        }
        let recent = plan_of(
            &store,
            "SELECT id FROM residents ORDER BY updated_at DESC, id DESC LIMIT 200",
        );
        assert!(!recent.contains("TEMP B-TREE"), "{recent}");
    }

    #[test]
    fn a_new_database_needs_no_rebuild() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(recorded_version(store.conn()).unwrap(), Some(KEYS_VERSION));
    }
}
