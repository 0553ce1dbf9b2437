//! What can go wrong talking to the platform, sorted by what the uploader
//! must do about it: try again later (`is_retryable`), flag one record for a
//! person (`concerns_record`), or stop and tell the user the setup is wrong.

use crate::i18n::Msg;
use crate::store::StoreError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("upload is not configured (server_url and site_token)")]
    NotConfigured,
    #[error("configuration: {0}")]
    Config(String),
    #[error("platform unreachable: {0}")]
    Unreachable(String),
    /// The server's host name did not resolve to an address.
    #[error("the platform's name {0} could not be resolved (DNS)")]
    HostNotFound(String),
    #[error("platform did not answer in time")]
    Timeout,
    #[error("secure connection failed: {0}")]
    Tls(String),
    #[error("platform error: HTTP {0}")]
    Server(u16),
    #[error("platform busy (HTTP 429)")]
    RateLimited(Option<Duration>),
    #[error("site token rejected (HTTP {0})")]
    Unauthorized(u16),
    #[error("HTTP {0} without a FHIR reason: check server_url")]
    Endpoint(u16),
    #[error("refused (HTTP {status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("version conflict (HTTP {status}): {reason}")]
    Conflict { status: u16, reason: String },
    /// The resident's ID card or health-record number is already another
    /// Patient's on the platform (`hub::identity`); `patient` is
    /// `Patient/<id>`. The number itself is not kept.
    #[error("already registered at site {site} ({patient}) (HTTP {status})")]
    RegisteredElsewhere {
        status: u16,
        id_card: bool,
        patient: String,
        site: String,
    },
    #[error("unreadable answer: {0}")]
    BadResponse(String),
    #[error("local database: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Transport trouble, 5xx, 429 and garbled answers: the same upload may
    /// well succeed later, so the records stay queued.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SyncError::Unreachable(_)
                | SyncError::HostNotFound(_)
                | SyncError::Timeout
                | SyncError::Tls(_)
                | SyncError::Server(_)
                | SyncError::RateLimited(_)
                | SyncError::BadResponse(_)
        )
    }

    /// A refusal or conflict about what was sent, as opposed to a problem
    /// with the connection or the setup.
    pub fn concerns_record(&self) -> bool {
        matches!(
            self,
            SyncError::Refused { .. } | SyncError::Conflict { .. } | SyncError::RegisteredElsewhere { .. }
        )
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, SyncError::Conflict { .. })
    }

    /// The message key and its arguments, in the order `stored` keeps them.
    fn parts(&self) -> (&'static str, Vec<String>) {
        let (key, detail) = match self {
            SyncError::RegisteredElsewhere {
                id_card, patient, site, ..
            } => {
                let key = if *id_card {
                    "sync.err_registered_id_card"
                } else {
                    "sync.err_registered_record_no"
                };
                return (key, vec![site.clone(), patient.clone()]);
            }
            SyncError::NotConfigured => ("sync.err_not_configured", String::new()),
            SyncError::Config(d) => ("sync.err_config", d.clone()),
            SyncError::Unreachable(d) => ("sync.err_unreachable", d.clone()),
            SyncError::HostNotFound(host) => ("sync.err_dns", host.clone()),
            SyncError::Timeout => ("sync.err_timeout", String::new()),
            SyncError::Tls(d) => ("sync.err_tls", d.clone()),
            SyncError::Server(s) => ("sync.err_server", format!("HTTP {s}")),
            SyncError::RateLimited(_) => ("sync.err_busy", String::new()),
            SyncError::Unauthorized(s) => ("sync.err_token", format!("HTTP {s}")),
            SyncError::Endpoint(s) => ("sync.err_endpoint", format!("HTTP {s}")),
            SyncError::Refused { reason, .. } => ("sync.err_refused", reason.clone()),
            SyncError::Conflict { reason, .. } => ("sync.err_conflict", reason.clone()),
            SyncError::BadResponse(d) => ("sync.err_bad_response", d.clone()),
            SyncError::Store(e) => ("sync.err_store", e.to_string()),
        };
        (key, vec![detail])
    }

    /// The message a person reads, in their language.
    pub fn message(&self) -> Msg {
        let (key, args) = self.parts();
        with_args(key, args_of(key).iter().copied().zip(args))
    }

    /// How a clash found when bringing records down is kept: our change
    /// waits to go up while another PC's amendment (platform version
    /// `version`) got there first.
    pub fn stored_changed_elsewhere(version: &str) -> String {
        format!("sync.err_changed_elsewhere|{version}")
    }

    /// How the error is kept in the outbox (`last_error`): the message key
    /// and its detail, so it is shown later in the reader's language.
    pub fn stored(&self) -> String {
        let (key, args) = self.parts();
        format!("{key}|{}", args.join("|"))
    }
}

/// The arguments of a message key, in stored order: `detail` for all but
/// the registrations elsewhere, whose site code and Patient reference hold
/// no `|`.
fn args_of(key: &str) -> &'static [&'static str] {
    match key {
        "sync.err_registered_id_card" | "sync.err_registered_record_no" => &["site", "patient"],
        // The same person on the platform, found at sync (`serials`).
        "sync.err_registered_same" => &["site", "patient", "record_no", "resident"],
        _ => &["detail"],
    }
}

fn with_args(key: &'static str, args: impl Iterator<Item = (&'static str, String)>) -> Msg {
    args.fold(Msg::new(key), |m, (name, value)| m.arg(name, value))
}

const KEYS: [&str; 19] = [
    "sync.err_not_configured",
    "sync.err_config",
    "sync.err_unreachable",
    "sync.err_dns",
    "sync.err_timeout",
    "sync.err_tls",
    "sync.err_server",
    "sync.err_busy",
    "sync.err_token",
    "sync.err_endpoint",
    "sync.err_refused",
    "sync.err_conflict",
    "sync.err_registered_id_card",
    "sync.err_registered_record_no",
    "sync.err_bad_response",
    "sync.err_store",
    // Held back, not an error of the connection: a provisional number (`serials`).
    "sync.err_provisional",
    "sync.err_registered_same",
    // Our change waits while the platform took another (found at pull).
    "sync.err_changed_elsewhere",
];

/// Messages about trouble the uploader meets again by itself (the records
/// stay queued): the TUI adds that it will retry, `jkda sync` what to run.
const RETRIED: [&str; 6] = [
    "sync.err_unreachable",
    "sync.err_dns",
    "sync.err_timeout",
    "sync.err_server",
    "sync.err_busy",
    "sync.err_bad_response",
];

/// Whether `m` is about trouble the background uploader retries by itself.
pub fn retried_later(m: &Msg) -> bool {
    RETRIED.contains(&m.key)
}

/// A stored `last_error` back as a message; text from elsewhere is shown as it is.
pub fn stored_message(s: &str) -> Msg {
    let (key, rest) = s.split_once('|').unwrap_or(("", s));
    match KEYS.iter().find(|k| **k == key) {
        Some(k) => {
            let names = args_of(k);
            let values = rest.splitn(names.len(), '|').map(str::to_string);
            with_args(k, names.iter().copied().zip(values))
        }
        None => Msg::new("sync.err_other").arg("detail", s),
    }
}

/// Reading the platform page by page (`fhir::FhirSource`) fails like any
/// other request.
impl From<crate::fhir::SourceError> for SyncError {
    fn from(e: crate::fhir::SourceError) -> SyncError {
        match e {
            crate::fhir::SourceError::Timeout { .. } => SyncError::Timeout,
            // The server understood and said no (a search it does not
            // support): not a network trouble to retry.
            crate::fhir::SourceError::Status { status: 400, .. } => SyncError::Refused {
                status: 400,
                reason: e.to_string(),
            },
            other => SyncError::Unreachable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(SyncError::Server(503).is_retryable());
        assert!(SyncError::RateLimited(None).is_retryable());
        assert!(SyncError::Timeout.is_retryable());
        let refused = SyncError::Refused {
            status: 400,
            reason: "bad".into(),
        };
        assert!(!refused.is_retryable() && refused.concerns_record());
        assert!(!SyncError::Unauthorized(401).is_retryable());
        assert!(!SyncError::Unauthorized(401).concerns_record());
    }

    #[test]
    fn stored_errors_come_back_as_messages() {
        let e = SyncError::Refused {
            status: 400,
            reason: "Patient.birthDate is not a date".into(),
        };
        let m = stored_message(&e.stored());
        assert_eq!(m, e.message());
        assert_eq!(stored_message("free text").key, "sync.err_other");
    }

    #[test]
    fn a_registration_elsewhere_is_kept_with_site_and_patient_only() {
        let e = SyncError::RegisteredElsewhere {
            status: 422,
            id_card: true,
            patient: "Patient/p-1".into(),
            site: "s1".into(),
        };
        assert!(e.concerns_record() && !e.is_conflict() && !e.is_retryable());
        assert_eq!(e.stored(), "sync.err_registered_id_card|s1|Patient/p-1");
        let m = stored_message(&e.stored());
        assert_eq!(m, e.message());
        assert_eq!(
            m.args,
            vec![("site", "s1".to_string()), ("patient", "Patient/p-1".to_string())]
        );
        // A detail with `|` in it comes back whole.
        let refused = SyncError::Refused {
            status: 400,
            reason: "a|b".into(),
        };
        assert_eq!(
            stored_message(&refused.stored()).args,
            vec![("detail", "a|b".to_string())]
        );
    }
}
