//! `jkda-hub`: the reference city platform, as a library so tests and
//! benchmarks start it in-process. It speaks the part of FHIR R4 jkda uses —
//! `GET /metadata`, atomic transaction Bundles on `POST /`, read / vread /
//! update / delete by id with versions (`meta.versionId`, `ETag`,
//! `If-Match`), create on `POST /{Type}` with `If-None-Exist` (`create`:
//! how clinics claim record-number serial blocks), and search — so a clinic can later point at any FHIR R4
//! server instead, and the supervision report can read this one as it would
//! any other. Every path works at `/` and under `/fhir`.
//!
//! Search (`search`): `GET /{Type}` for every type jkda writes, with
//! `_lastUpdated` (eq, ge, gt, le, lt; a date, dateTime or instant, UTC when
//! no zone is given; repeatable), `identifier=[system|]value` for Patient,
//! `subject=` / `patient=` (`Patient/id`) for the others, `_count` (50 by
//! default, at most 1000), `_summary=count` and `_sort=(-)_lastUpdated`.
//! Anything else is refused with a 400 OperationOutcome, never ignored.
//! Live resources only, in (`meta.lastUpdated`, id) order; a searchset
//! Bundle whose `total` counts every match (as counted when the search
//! began) and whose absolute `self` / `next` links carry an opaque cursor,
//! so each page is one index range however deep it lies. A resource written
//! while a client pages comes on a later page, once (`clock` keeps the
//! stamps moving forward); one changed meanwhile comes again, as its new
//! version.
//!
//! Plain threads over `tiny_http` and SQLite, no async runtime: a county's
//! traffic is a few requests a second, and the benchmark shows one machine
//! takes far more. Each site has its own token (only its hash is stored),
//! writes only its own resources (a record's parts only when the record is
//! its own, and no ID number another Patient registered first: `identity`),
//! and reads what the platform shares (every
//! resident of the city, so a village clinic can follow up someone
//! registered at the township centre). The access log has method, path
//! without query values, status, bytes, duration and site: no personal data.

mod anchors;
pub mod bundle_in;
pub mod cli;
mod clock;
pub mod collisions;
mod create;
pub mod findings;
pub mod forms;
mod identity;
mod search;
mod server;
pub mod sites;
pub mod source;
pub mod spotchecks;
pub mod storage;
pub mod supervision;
pub mod users;
pub mod validate;
mod web;

pub use server::{Clock, Faults, Hub, HubConfig, TlsIdentity};

/// Hub failures; each maps to an HTTP status and an OperationOutcome.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{0}")]
    Invalid(String),
    /// An element whose value is not of its FHIR type; 400 naming its path.
    #[error("{0}")]
    Element(crate::fhir::elements::BadElement),
    #[error("{0}")]
    NotSupported(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    VersionConflict(String),
    /// A Patient identifier another Patient already holds (`identity`): 422.
    #[error("{0}")]
    Registered(Box<identity::Registered>),
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
    #[error("the audit trail of installation {installation} (site {site}) would go back from entry {from} to {to}")]
    AuditRewound {
        site: String,
        installation: String,
        from: i64,
        to: i64,
    },
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
            HubError::Invalid(_) | HubError::Usage(_) | HubError::Element(_) => 400,
            HubError::NotSupported(_) => 400,
            HubError::Unauthorized => 401,
            HubError::Forbidden(_) => 403,
            HubError::NotFound(_) => 404,
            HubError::VersionConflict(_) => 412,
            HubError::AuditRewound { .. } => 409,
            // A business rule, not a version conflict (see `identity`).
            HubError::Registered(_) => 422,
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
            HubError::Element(_) => "value",
            HubError::AuditRewound { .. } => "conflict",
            HubError::NotSupported(_) => "not-supported",
            HubError::Unauthorized => "login",
            HubError::Forbidden(_) => "forbidden",
            HubError::NotFound(_) => "not-found",
            HubError::VersionConflict(_) => "conflict",
            HubError::Registered(_) => "duplicate",
            HubError::TooLarge(_) => "too-costly",
            HubError::InEntry { inner, .. } => inner.issue_code(),
            HubError::Aborted | HubError::Sqlite(_) | HubError::Io(_) => "exception",
        }
    }

    /// The FHIRPath of the element at fault, for the OperationOutcome's
    /// `expression`.
    pub fn element_path(&self) -> Option<&str> {
        match self {
            HubError::Element(e) => Some(&e.path),
            HubError::Registered(r) => Some(&r.path),
            HubError::InEntry { inner, .. } => inner.element_path(),
            _ => None,
        }
    }

    /// The existing Patient when the refusal is a registration elsewhere.
    pub fn registered_to(&self) -> Option<crate::fhir::RegisteredTo> {
        match self {
            HubError::Registered(r) => Some(crate::fhir::RegisteredTo {
                code: r.what.code().to_string(),
                patient: format!("Patient/{}", r.patient),
                site: r.site.clone(),
            }),
            HubError::InEntry { inner, .. } => inner.registered_to(),
            _ => None,
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
