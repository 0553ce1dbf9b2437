//! `jkda restore`: a backup is verified first (manifest, checksum, schema,
//! and with its key every page and the site); a backup of another site or
//! installation, or one made by a newer jkda, is refused; the files it
//! replaces are kept beside it, renamed with the time; the restore itself is
//! audited in the restored database.

use super::backup::{copy_private, hash_file, read_manifest, sync_dir, Manifest, DB};
use super::OpsError;
use crate::paths::db_path;
use crate::store::crypt::{DbKey, Keyring, KEYRING_FILE};
use crate::store::{Actor, Store, StoreError};
use chrono::{DateTime, Local};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// The files moved aside, under their new names.
    pub replaced: Vec<PathBuf>,
    pub took: Duration,
}

/// The backup folder named by `given`: the folder, or any file in it.
pub fn folder(given: &Path) -> PathBuf {
    if given.is_file() {
        given
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    } else {
        given.to_path_buf()
    }
}

/// The key of an encrypted backup from a login and password that were
/// valid when it was made. The backup's keyring is unlocked in a scratch
/// copy, so a backup on read-only media works and stays as it was.
pub fn unlock(backup: &Path, login: &str, password: &secrecy::SecretString) -> Result<DbKey, OpsError> {
    let scratch = tempfile::tempdir().map_err(|e| OpsError::io(backup, e))?;
    let from = backup.join(KEYRING_FILE);
    if !from.exists() {
        return Err(OpsError::NeedsKey);
    }
    copy_private(&from, &scratch.path().join(KEYRING_FILE))?;
    let mut ring = Keyring::load(scratch.path())?.ok_or(OpsError::NeedsKey)?;
    ring.unlock(login, password, chrono::Utc::now()).map_err(|e| match e {
        crate::store::crypt::UnlockError::NoSuchUser => OpsError::LoginFailed,
        other => OpsError::Unlock(other.message()),
    })
}

/// Checks a backup without changing anything. Without the key of an
/// encrypted backup only the manifest, the checksum and the schema can be
/// checked, and `NeedsKey` says so.
pub fn verify(backup: &Path, key: Option<&DbKey>) -> Result<Manifest, OpsError> {
    let m = read_manifest(backup)?;
    let known = crate::store::schema::current_version();
    if m.schema_version > known {
        return Err(OpsError::Newer {
            found: m.schema_version,
            known,
        });
    }
    let db = backup.join(DB);
    let (bytes, sha) = hash_file(&db)?;
    if bytes != m.db_bytes || sha != m.db_sha256 {
        return Err(OpsError::Damaged {
            path: db,
            detail: "checksum".into(),
        });
    }
    let key = match (m.encrypted, key) {
        (true, None) => return Err(OpsError::NeedsKey),
        (true, Some(k)) if m.key_fingerprint.as_deref() != Some(k.fingerprint().as_str()) => {
            return Err(OpsError::WrongKey)
        }
        (true, k) => k,
        (false, _) => None,
    };
    let store = Store::open_read_only(&db, key)?;
    let problems = store.quick_check()?;
    if !problems.is_empty() {
        return Err(OpsError::Damaged {
            path: db,
            detail: problems.join("; "),
        });
    }
    if store.schema_version()? != m.schema_version || store.site_code()?.as_deref() != Some(m.site_code.as_str()) {
        return Err(OpsError::Damaged {
            path: db,
            detail: "manifest".into(),
        });
    }
    Ok(m)
}

/// Replaces the database (and keyring) of `data_dir` with the backup in
/// folder `backup`, after `verify`. Refused while another program has the
/// database open, for a backup of another site or installation, and for
/// one from a newer jkda.
pub fn restore(
    data_dir: &Path,
    backup: &Path,
    key: Option<&DbKey>,
    actor: &Actor,
    now: DateTime<Local>,
) -> Result<Restored, OpsError> {
    let started = Instant::now();
    let manifest = verify(backup, key)?;
    let key = key.filter(|_| manifest.encrypted);
    let db = db_path(data_dir);
    check_current(data_dir, &db, key, &manifest)?;

    // Move the current files aside, then put the backup's in their place.
    let stamp = now.format("%Y%m%d-%H%M%S").to_string();
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut names: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = db.clone().into_os_string();
            p.push(s);
            PathBuf::from(p)
        })
        .collect();
    names.push(data_dir.join(KEYRING_FILE));
    let result = (|| {
        for from in names.iter().filter(|p| p.exists()) {
            let mut to = from.clone().into_os_string();
            to.push(format!(".replaced-{stamp}"));
            let to = PathBuf::from(to);
            std::fs::rename(from, &to).map_err(|e| OpsError::io(from, e))?;
            moved.push((from.clone(), to));
        }
        crate::private_files::create_dir_all(data_dir).map_err(|e| OpsError::io(data_dir, e))?;
        let tmp = data_dir.join(format!(".{}.restoring", crate::paths::DB_FILE));
        copy_private(&backup.join(DB), &tmp)?;
        std::fs::rename(&tmp, &db).map_err(|e| OpsError::io(&db, e))?;
        if manifest.keyring {
            let tmp = data_dir.join(format!(".{KEYRING_FILE}.restoring"));
            copy_private(&backup.join(KEYRING_FILE), &tmp)?;
            let ring = data_dir.join(KEYRING_FILE);
            std::fs::rename(&tmp, &ring).map_err(|e| OpsError::io(&ring, e))?;
        }
        sync_dir(data_dir);
        let store = Store::open_with_key(&db, key)?;
        let name = backup
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        store.audit(actor, "restore", "database", &name)?;
        Ok(())
    })();
    if let Err(e) = result {
        // Put back what was there, as it was.
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::remove_file(from);
            let _ = std::fs::rename(to, from);
        }
        return Err(e);
    }
    Ok(Restored {
        manifest,
        replaced: moved.into_iter().map(|(_, to)| to).collect(),
        took: started.elapsed(),
    })
}

/// Whether the database in place may be replaced by this backup: not in
/// use, and of the same site (when it can be read) and installation (by
/// the keyring's key fingerprint when it cannot). A damaged database may.
fn check_current(data_dir: &Path, db: &Path, key: Option<&DbKey>, m: &Manifest) -> Result<(), OpsError> {
    if !db.exists() {
        return Ok(());
    }
    let other_installation = || -> Result<bool, OpsError> {
        let here = Keyring::load(data_dir).ok().flatten();
        Ok(
            match (here.as_ref().and_then(|k| k.key_fingerprint()), &m.key_fingerprint) {
                (Some(here), Some(there)) => here != there,
                _ => false,
            },
        )
    };
    match Store::open_read_only(db, key) {
        Ok(store) => {
            if let Some(here) = store.site_code()? {
                if here != m.site_code {
                    return Err(OpsError::OtherSite {
                        backup: m.site_code.clone(),
                        here,
                    });
                }
            }
            drop(store);
            if Store::open_elsewhere(db, key)? {
                return Err(OpsError::InUse);
            }
            Ok(())
        }
        Err(StoreError::WrongKey { .. } | StoreError::Encrypted { .. } | StoreError::NotEncrypted { .. }) => {
            if other_installation()? {
                Err(OpsError::OtherInstallation)
            } else {
                Ok(())
            }
        }
        // Damaged, not a jkda database, from a newer jkda: what the backup replaces.
        Err(_) => Ok(()),
    }
}
