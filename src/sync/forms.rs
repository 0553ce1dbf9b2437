//! Forms from the platform: at each sync, the form versions the bureau
//! published since the last look (`Binary?_lastUpdated=gt…`, standard
//! search) are checked with this PC's own loader and, when newer than what
//! this PC has, kept in the data directory's `forms/` for new records (from
//! the next start). A broken or older version is refused and the old one
//! stays; records always keep the version they were filled with.

use super::SyncError;
use crate::fhir::FhirSource;
use crate::form::published::{self, compare_versions};
use crate::form::{FormDef, Registry};
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;

/// The form a record was filled with: the registry's, or the exact text
/// kept in the database for an older version.
pub fn form_at(store: &Store, registry: &Registry, form_id: &str, version: &str) -> Option<Arc<FormDef>> {
    match registry.get(form_id).filter(|d| d.version == version) {
        Some(d) => Some(Arc::new(d.clone())),
        None => store
            .form_source(form_id, version)
            .ok()
            .flatten()
            .and_then(|src| crate::form::parse_form(form_id, &src).ok())
            .map(Arc::new),
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FormsUpdate {
    /// (form id, version) adopted.
    pub adopted: Vec<(String, String)>,
    /// (published id, why) refused: `broken` or `not_newer`.
    pub refused: Vec<(String, &'static str)>,
}

pub fn update(src: &FhirSource, store: &Store, current: &Registry, dir: &Path) -> Result<FormsUpdate, SyncError> {
    let since = store
        .setting("forms.since")?
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
    let filter = format!("gt{since}");
    let mut latest = since.clone();
    let mut out = FormsUpdate::default();
    let mut found: Vec<(String, String)> = Vec::new();
    src.for_each(
        "Binary",
        &[("_lastUpdated", &filter)],
        50,
        |b| -> Result<(), SyncError> {
            if let Some(t) = b["meta"]["lastUpdated"].as_str().filter(|t| *t > latest.as_str()) {
                latest = t.to_string();
            }
            let id = b["id"].as_str().unwrap_or("").to_string();
            if let Some(source) = published::source_of(&b) {
                found.push((id, source));
            }
            Ok(())
        },
    )?;
    for (id, source) in found {
        let def = match published::parse(&id, &source) {
            Ok(d) => d,
            Err(_) => {
                out.refused.push((id, "broken"));
                continue;
            }
        };
        let have = current.get(&def.id).map(|d| d.version.clone());
        if have.is_some_and(|v| compare_versions(&def.version, &v).is_le()) {
            out.refused.push((id, "not_newer"));
            continue;
        }
        // Written whole, then renamed: a power cut leaves the old form.
        std::fs::create_dir_all(dir).map_err(|e| SyncError::Config(e.to_string()))?;
        let path = dir.join(format!("{}.toml", def.id));
        let tmp = dir.join(format!(".{}.toml.new", def.id));
        std::fs::write(&tmp, &source)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| SyncError::Config(format!("{}: {e}", path.display())))?;
        out.adopted.push((def.id.clone(), def.version.clone()));
    }
    store.set_setting("forms.since", &latest)?;
    Ok(out)
}
