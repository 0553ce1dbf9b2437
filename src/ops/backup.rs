//! Backups a clinic actually has. `make` copies the database with SQLite's
//! online backup API (so it runs while the TUI is open and writing; an
//! encrypted database is copied encrypted with the same key), puts the
//! keyring beside it, verifies the copy by opening it and checking every
//! page, writes a manifest (site, schema, sizes, SHA-256) and only then gives
//! the folder its final name, so a half-made backup never looks like one.
//! The newest `keep` backups of this site in the folder are kept.
//!
//! One backup is a folder `jkda-backup-<site code>-<YYYYMMDD-HHMMSS>` with
//! `jkda.db`, `keyring.json` and `manifest.json`.

use super::OpsError;
use crate::store::crypt::{DbKey, KEYRING_FILE};
use crate::store::{Actor, Store};
use chrono::{DateTime, Local, NaiveDate};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const PREFIX: &str = "jkda-backup-";
pub const MANIFEST: &str = "manifest.json";
pub const DB: &str = "jkda.db";
const FORMAT: u32 = 1;
/// The settings key holding the day of the last automatic backup.
const LAST_DAILY: &str = "backup.last_daily";

/// What a backup says about itself; nothing in it names anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub jkda_version: String,
    /// Local time with its offset.
    pub created_at: String,
    /// The site's 12-digit division, township and village code.
    pub site_code: String,
    pub schema_version: i64,
    pub encrypted: bool,
    /// `DbKey::fingerprint` of the key, when encrypted.
    pub key_fingerprint: Option<String>,
    pub db_bytes: u64,
    pub db_sha256: String,
    pub keyring: bool,
}

/// A backup made.
#[derive(Debug)]
pub struct Made {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Older backups removed to keep the newest `keep`.
    pub removed: Vec<PathBuf>,
    pub took: Duration,
}

/// Backs up the database `store` (opened from data directory `data_dir`,
/// encrypted with `key` if any) into a new folder under `dest`, audited as
/// `actor`'s, and removes this site's backups beyond the newest `keep`.
pub fn make(
    store: &Store,
    data_dir: &Path,
    key: Option<&DbKey>,
    dest: &Path,
    keep: usize,
    actor: &Actor,
    now: DateTime<Local>,
) -> Result<Made, OpsError> {
    let started = Instant::now();
    // The copy is keyed exactly as the database is: never a plaintext copy
    // of an encrypted database, never a key on a plaintext one.
    let key = if Store::is_encrypted_file(store.path()) {
        Some(key.ok_or(OpsError::NeedsKey)?)
    } else {
        None
    };
    let site = store.site_code()?.ok_or(OpsError::NoSite)?;
    crate::private_files::create_dir_all(dest).map_err(|e| OpsError::io(dest, e))?;
    let stamp = now.format("%Y%m%d-%H%M%S");
    let mut name = format!("{PREFIX}{site}-{stamp}");
    let mut n = 2;
    while dest.join(&name).exists() {
        name = format!("{PREFIX}{site}-{stamp}-{n}");
        n += 1;
    }
    let partial = dest.join(format!(".{name}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    crate::private_files::create_dir_all(&partial).map_err(|e| OpsError::io(&partial, e))?;
    let result = (|| {
        // Reading every record is an access like any other.
        store.audit(actor, "backup", "database", &name)?;
        let db = partial.join(DB);
        store.backup_to(&db, key)?;
        let keyring = data_dir.join(KEYRING_FILE);
        let has_keyring = keyring.exists();
        if has_keyring {
            copy_private(&keyring, &partial.join(KEYRING_FILE))?;
        }
        let copy = Store::open_read_only(&db, key)?;
        let problems = copy.quick_check()?;
        if !problems.is_empty() {
            return Err(OpsError::Damaged {
                path: db.clone(),
                detail: problems.join("; "),
            });
        }
        let schema_version = copy.schema_version()?;
        if copy.site_code()?.as_deref() != Some(site.as_str()) {
            return Err(OpsError::Damaged {
                path: db.clone(),
                detail: "site".into(),
            });
        }
        drop(copy);
        let (db_bytes, db_sha256) = hash_file(&db)?;
        let manifest = Manifest {
            format: FORMAT,
            jkda_version: env!("CARGO_PKG_VERSION").into(),
            created_at: now.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            site_code: site.clone(),
            schema_version,
            encrypted: key.is_some(),
            key_fingerprint: key.map(DbKey::fingerprint),
            db_bytes,
            db_sha256,
            keyring: has_keyring,
        };
        let mut json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        json.push(b'\n');
        let mpath = partial.join(MANIFEST);
        std::fs::write(&mpath, json).map_err(|e| OpsError::io(&mpath, e))?;
        crate::private_files::make_private(&mpath).map_err(|e| OpsError::io(&mpath, e))?;
        sync_dir(&partial);
        let final_path = dest.join(&name);
        std::fs::rename(&partial, &final_path).map_err(|e| OpsError::io(&final_path, e))?;
        sync_dir(dest);
        Ok((final_path, manifest))
    })();
    let (path, manifest) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let removed = prune(dest, &site, keep)?;
    Ok(Made {
        path,
        manifest,
        removed,
        took: started.elapsed(),
    })
}

/// This site's backups in `dest`, oldest first.
pub fn list(dest: &Path, site: &str) -> std::io::Result<Vec<PathBuf>> {
    let prefix = format!("{PREFIX}{site}-");
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dest) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .filter(|e| e.path().join(MANIFEST).is_file())
            .map(|e| e.path())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    // The stamp sorts as text; a second backup within one second ("-2")
    // after the first.
    found.sort();
    Ok(found)
}

/// Removes this site's backups in `dest` beyond the newest `keep`.
fn prune(dest: &Path, site: &str, keep: usize) -> Result<Vec<PathBuf>, OpsError> {
    let all = list(dest, site).map_err(|e| OpsError::io(dest, e))?;
    let excess = all.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for old in all.into_iter().take(excess) {
        std::fs::remove_dir_all(&old).map_err(|e| OpsError::io(&old, e))?;
        removed.push(old);
    }
    // What a backup cut short left (jkda closed or the power cut during
    // the copy), once it is surely not one still being made.
    let partial = format!(".{PREFIX}{site}-");
    if let Ok(rd) = std::fs::read_dir(dest) {
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(6 * 3600));
            if name.starts_with(&partial) && name.ends_with(".partial") && old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(removed)
}

/// Reads a backup's manifest.
pub fn read_manifest(backup: &Path) -> Result<Manifest, OpsError> {
    let path = backup.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| OpsError::io(&path, e))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| OpsError::Damaged {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if m.format > FORMAT {
        return Err(OpsError::Damaged {
            path,
            detail: format!("format {}", m.format),
        });
    }
    Ok(m)
}

/// The day the last automatic backup was made, from the database.
pub fn daily_due(store: &Store, today: NaiveDate) -> Result<bool, OpsError> {
    Ok(store.setting(LAST_DAILY)?.as_deref() != Some(today.format("%Y-%m-%d").to_string().as_str()))
}

/// The daily backup: into `[backup] dir` once a day, at the first login of
/// the day (`store` is that login's own connection). None when already
/// done today or not configured.
pub fn daily(
    store: &Store,
    data_dir: &Path,
    key: Option<&DbKey>,
    config: &crate::config::BackupConfig,
    actor: &Actor,
    now: DateTime<Local>,
) -> Result<Option<Made>, OpsError> {
    let Some(dest) = &config.dir else {
        return Ok(None);
    };
    if !daily_due(store, now.date_naive())? {
        return Ok(None);
    }
    let made = make(store, data_dir, key, dest, config.keep(), actor, now)?;
    store.set_setting(LAST_DAILY, &now.date_naive().format("%Y-%m-%d").to_string())?;
    Ok(Some(made))
}

/// Size and SHA-256 (hex) of a file, read in chunks.
pub fn hash_file(path: &Path) -> Result<(u64, String), OpsError> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| OpsError::io(path, e))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| OpsError::io(path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((total, hex::encode(h.finalize())))
}

/// Copies a file to a new private file and syncs it.
pub(super) fn copy_private(from: &Path, to: &Path) -> Result<(), OpsError> {
    std::fs::copy(from, to).map_err(|e| OpsError::io(to, e))?;
    crate::private_files::make_private(to).map_err(|e| OpsError::io(to, e))?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| OpsError::io(to, e))
}

pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
