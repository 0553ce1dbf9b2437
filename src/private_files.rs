//! Health data readable by its owner only (issue 13, item 5). On Unix the
//! data directory is created 0700 and the database 0600 (SQLite gives its
//! `-wal` and `-shm` files the database's mode), the hub's database too;
//! what was made wider before, by hand or by an older jkda, is found at
//! start so the user can be warned. Elsewhere these are no-ops: Windows
//! keeps a user's application data private by its own rules.

use std::path::{Path, PathBuf};

/// Creates `dir` and any missing parents, each 0700; existing ones are
/// left as they are.
pub fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes a file the program just created readable and writable by its
/// owner only.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The permission bits of `path` when they give anyone but the owner any
/// access (`mode & 0o077`); None when private, absent, or not Unix.
pub fn open_to_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Which of a database and its `-wal` and `-shm` files are open to others.
pub fn database_open_to_others(db: &Path) -> Vec<(PathBuf, u32)> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        })
        .filter_map(|p| open_to_others(&p).map(|mode| (p, mode)))
        .collect()
}

/// What in jkda's data directory others may read: the directory itself,
/// the database files, the keyring.
pub fn data_dir_open_to_others(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found: Vec<(PathBuf, u32)> = open_to_others(dir)
        .map(|m| (dir.to_path_buf(), m))
        .into_iter()
        .collect();
    found.extend(database_open_to_others(&crate::paths::db_path(dir)));
    let keyring = dir.join(crate::store::crypt::KEYRING_FILE);
    found.extend(open_to_others(&keyring).map(|m| (keyring, m)));
    found
}

/// The warning for a data directory others may read, or None.
pub fn warning(dir: &Path) -> Option<crate::i18n::Msg> {
    let found = data_dir_open_to_others(dir);
    if found.is_empty() {
        return None;
    }
    let files: Vec<String> = found
        .iter()
        .map(|(p, mode)| format!("{} ({mode:o})", p.display()))
        .collect();
    Some(
        crate::i18n::Msg::new("cli.permissions_open")
            .arg("files", files.join(", "))
            .arg("dir", dir.display()),
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_directories_are_0700_and_wide_files_are_found() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir_all(&dir).unwrap();
        for d in [tmp.path().join("a"), dir.clone()] {
            assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700);
        }
        assert!(data_dir_open_to_others(&dir).is_empty());
        let db = dir.join("jkda.db");
        std::fs::write(&db, b"x").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(data_dir_open_to_others(&dir), [(db.clone(), 0o644)]);
        make_private(&db).unwrap();
        assert!(data_dir_open_to_others(&dir).is_empty());
    }
}
