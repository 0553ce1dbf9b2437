//! `jkda-hub`: the reference city platform, as a library so tests and
//! benchmarks start it in-process. It speaks the part of FHIR R4 jkda uses —
//! `GET /metadata`, atomic transaction Bundles on `POST /`, read / update /
//! delete by id with versions (`meta.versionId`, `ETag`, `If-Match`), and
//! `Patient?identifier=` / `QuestionnaireResponse?subject=` search — so a
//! clinic can later point at any FHIR R4 server instead.
//!
//! Plain threads over `tiny_http` and SQLite, no async runtime: a county's
//! traffic is a few requests a second, and the benchmark shows one machine
//! takes far more. Each site has its own token (only its hash is stored),
//! writes only its own resources, and reads what the platform shares (every
//! resident of the city, so a village clinic can follow up someone
//! registered at the township centre). The access log has method, path
//! without query values, status, bytes, duration and site: no personal data.

pub mod bundle_in;
pub mod report;
mod server;
pub mod storage;

pub use report::{report, SiteReport};
pub use server::{Faults, Hub, HubConfig, TlsIdentity};

/// Hub failures; each maps to an HTTP status and an OperationOutcome.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotSupported(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    VersionConflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("missing or unknown site token")]
    Unauthorized,
    #[error("transaction aborted")]
    Aborted,
    #[error("{0}")]
    Usage(String),
    #[error("entry {index} ({url}): {inner}")]
    InEntry {
        index: usize,
        url: String,
        inner: Box<HubError>,
    },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl HubError {
    pub fn status(&self) -> u16 {
        match self {
            HubError::Invalid(_) | HubError::Usage(_) => 400,
            HubError::NotSupported(_) => 400,
            HubError::Unauthorized => 401,
            HubError::Forbidden(_) => 403,
            HubError::NotFound(_) => 404,
            HubError::VersionConflict(_) => 412,
            HubError::TooLarge(_) => 413,
            HubError::InEntry { inner, .. } => inner.status(),
            HubError::Sqlite(e) if matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy)) => 503,
            HubError::Aborted | HubError::Sqlite(_) | HubError::Io(_) => 500,
        }
    }

    /// The FHIR issue type.
    pub fn issue_code(&self) -> &'static str {
        match self {
            HubError::Invalid(_) | HubError::Usage(_) => "invalid",
            HubError::NotSupported(_) => "not-supported",
            HubError::Unauthorized => "login",
            HubError::Forbidden(_) => "forbidden",
            HubError::NotFound(_) => "not-found",
            HubError::VersionConflict(_) => "conflict",
            HubError::TooLarge(_) => "too-costly",
            HubError::InEntry { inner, .. } => inner.issue_code(),
            HubError::Aborted | HubError::Sqlite(_) | HubError::Io(_) => "exception",
        }
    }

    pub(crate) fn in_entry(self, index: usize, url: &str) -> HubError {
        HubError::InEntry {
            index,
            url: url.to_string(),
            inner: Box::new(self),
        }
    }
}
