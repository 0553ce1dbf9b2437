//! Upload to the city platform, and bringing residents down from it.
//!
//! The outbox (in the store) says what is waiting; the `Uploader` sends it
//! as gzip-compressed FHIR transaction Bundles (PUT with the client's ids,
//! so a resend rewrites the same resources) and records only what the
//! server confirmed. `worker` runs it on its own thread for the TUI, driven
//! by `SyncCommand`s and reporting `SyncEvent`s; `jkda sync` calls it
//! directly. `fetch` looks a resident up on the platform.

pub mod amended;
pub mod anchor;
pub mod centre;
pub mod client;
pub mod conflict;
pub mod error;
pub mod fetch;
pub mod forms;
pub mod link;
pub mod pull;
pub mod serials;
pub mod uploader;
pub mod worker;

pub use client::{Client, Traffic};
pub use error::{retried_later, stored_message, SyncError};
pub use fetch::{fetch_resident, refresh_resident, Fetched, NotRefreshed, Refreshed};
pub use uploader::{RunReport, Uploader};
pub use worker::{spawn, StoreOpener, SyncCommand, SyncEvent, SyncHandle};

use crate::fhir::Identifiers;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The site token. `Debug` never shows it (`Secret(<redacted>)`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(crate::domain::Sensitive<String>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(crate::domain::Sensitive(s.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Finds the addresses of a host and port. Unset, the uploader asks the
/// system resolver; tests supply their own, so no lookup leaves the machine.
#[derive(Clone)]
pub struct Lookup(pub Arc<LookupFn>);

/// Host and port to addresses; an error means the name is not known.
pub type LookupFn = dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup(..)")
    }
}

/// Everything the uploader needs to know; built from `config.toml`.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub server_url: Option<String>,
    pub token: Option<Secret>,
    /// A PEM file with the city's own CA; verification stays on either way.
    pub ca_file: Option<PathBuf>,
    pub identifiers: Identifiers,
    /// Records per transaction Bundle.
    pub batch_size: usize,
    pub connect_timeout: Duration,
    /// The whole exchange, request and answer.
    pub request_timeout: Duration,
    /// First retry delay; doubles per failed try, with jitter, up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Largest answer read from the server.
    pub max_response: u64,
    /// When the worker thread looks at the outbox without being nudged.
    pub idle_interval: Duration,
    /// Name resolution; None is the system resolver.
    pub lookup: Option<Lookup>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            server_url: None,
            token: None,
            ca_file: None,
            identifiers: Identifiers::default(),
            batch_size: 100,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(15 * 60),
            max_response: 32 << 20,
            idle_interval: Duration::from_secs(5 * 60),
            lookup: None,
        }
    }
}

impl SyncConfig {
    /// From `config.toml`; `JKDA_SITE_TOKEN` in the environment overrides the file's token.
    pub fn from_config(c: &crate::config::Config) -> SyncConfig {
        let mut ids = Identifiers::default();
        if let Some(s) = &c.id_number_system {
            ids.id_number = s.clone();
        }
        if let Some(s) = &c.record_no_system {
            ids.record_no = s.clone();
        }
        let env_token = std::env::var("JKDA_SITE_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new);
        SyncConfig {
            server_url: c.server_url.clone().filter(|s| !s.trim().is_empty()),
            token: env_token.or_else(|| c.site_token.clone()),
            ca_file: c.ca_file.clone(),
            identifiers: ids,
            ..SyncConfig::default()
        }
    }

    pub fn is_configured(&self) -> bool {
        self.server_url.as_deref().is_some_and(|s| !s.trim().is_empty())
            && self.token.as_ref().is_some_and(|t| !t.0.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints() {
        let c = SyncConfig {
            token: Some(Secret::new("abc123secret")),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("abc123secret"));
    }
}
