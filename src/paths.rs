//! Where jkda keeps its data: `--data-dir`, else `JKDA_DATA_DIR`, else the
//! platform's data directory (`~/.local/share/jkda` on Linux,
//! `%APPDATA%\jkda\jkda\data` on Windows). Everything lives in that one
//! directory, so a backup or a move is one copy.

use std::path::{Path, PathBuf};

pub const DB_FILE: &str = "jkda.db";
pub const CONFIG_FILE: &str = "config.toml";
pub const KEYMAP_FILE: &str = "keymap.toml";

pub fn data_dir(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("JKDA_DATA_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("cn", "jkda", "jkda").map(|d| d.data_dir().to_path_buf())
}

/// Where form versions adopted from the platform are kept.
pub fn adopted_forms_dir(dir: &Path) -> PathBuf {
    dir.join("forms")
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}
