//! Operations, for the engineers who look after clinics remotely: `doctor`
//! (checks without logging in), `backup` and `restore`, and the support
//! bundle an engineer asks for by phone. None of it writes personal data
//! anywhere but into a backup, which is as encrypted as the database.

pub mod backup;
pub mod bundle;
pub mod doctor;
mod net;
pub mod restore;

use crate::i18n::Msg;
use crate::store::StoreError;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Crypt(#[from] crate::store::crypt::CryptError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the site is not set up")]
    NoSite,
    #[error("no backup folder given or configured")]
    NoDir,
    #[error("{path} is damaged ({detail})")]
    Damaged { path: PathBuf, detail: String },
    #[error("backup of site {backup}, this is site {here}")]
    OtherSite { backup: String, here: String },
    #[error("backup of another installation")]
    OtherInstallation,
    #[error("backup from a newer jkda (schema {found}, this build knows {known})")]
    Newer { found: i64, known: i64 },
    #[error("the backup is encrypted: a login or key file is needed")]
    NeedsKey,
    #[error("the key does not open this backup")]
    WrongKey,
    #[error("wrong login or password")]
    LoginFailed,
    #[error("unlock failed")]
    Unlock(Msg),
    #[error("the database is in use")]
    InUse,
}

impl OpsError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        OpsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The message a user reads, in their language.
    pub fn message(&self) -> Msg {
        match self {
            OpsError::Store(e) => e.message(),
            OpsError::Crypt(e) => e.message(),
            OpsError::Io { path, source } => Msg::new("ops.io").arg("path", path.display()).arg("detail", source),
            OpsError::NoSite => Msg::new("ops.no_site"),
            OpsError::NoDir => Msg::new("ops.no_dir"),
            OpsError::Damaged { path, detail } => Msg::new("ops.damaged")
                .arg("path", path.display())
                .arg("detail", detail),
            OpsError::OtherSite { backup, here } => Msg::new("ops.other_site").arg("backup", backup).arg("here", here),
            OpsError::OtherInstallation => Msg::new("ops.other_installation"),
            OpsError::Newer { found, known } => Msg::new("ops.newer").arg("found", found).arg("known", known),
            OpsError::NeedsKey => Msg::new("ops.needs_key"),
            OpsError::WrongKey => Msg::new("ops.wrong_key"),
            OpsError::LoginFailed => Msg::new("access.login_failed"),
            OpsError::Unlock(m) => m.clone(),
            OpsError::InUse => Msg::new("ops.in_use"),
        }
    }
}
