//! `jkda-hub forms publish FILE`: a new version of a form, checked with the
//! clinic's own loader, published as a FHIR `Binary` (the exact file, which
//! clinics fetch and adopt at their next sync) and a `Questionnaire` (for
//! other systems and renderers). A broken file, or a version not newer than
//! the one in force, is refused and nothing changes.

use super::{storage, HubError};
use crate::form::published::{self, compare_versions};
use crate::form::Registry;
use rusqlite::{Connection, TransactionBehavior};

/// Who owns what the bureau publishes (not a site).
pub const PUBLISHER: &str = "platform";

/// The newest published version of a form, if any.
fn published_version(conn: &Connection, id: &str) -> Result<Option<String>, HubError> {
    let prefix = format!("form-{id}-");
    let mut stmt = conn.prepare(
        "SELECT content FROM resources WHERE type = 'Binary' AND deleted = 0 AND substr(id, 1, length(?1)) = ?1",
    )?;
    let mut newest: Option<String> = None;
    for content in stmt.query_map([&prefix], |r| r.get::<_, String>(0))? {
        let v: serde_json::Value = serde_json::from_str(&content?).unwrap_or_default();
        let Some(def) = published::source_of(&v).and_then(|s| published::parse("published", &s).ok()) else {
            continue;
        };
        if def.id == id
            && newest
                .as_deref()
                .is_none_or(|n| compare_versions(&def.version, n).is_gt())
        {
            newest = Some(def.version);
        }
    }
    Ok(newest)
}

/// Publishes a form file; returns the published resource id.
pub fn publish(conn: &mut Connection, file: &std::path::Path, now: &str) -> Result<String, HubError> {
    let meta = std::fs::metadata(file).map_err(|e| HubError::Usage(format!("{}: {e}", file.display())))?;
    if meta.len() > 1 << 20 {
        return Err(HubError::Usage(format!(
            "{}: larger than 1 MB, not a form file",
            file.display()
        )));
    }
    let source = std::fs::read_to_string(file).map_err(|e| HubError::Usage(format!("{}: {e}", file.display())))?;
    let name = file.display().to_string();
    let def = published::parse(&name, &source).map_err(|errs| {
        let lines: Vec<String> = errs
            .iter()
            .map(|e| format!("{} {}: {}", e.file, e.path, e.msg.key))
            .collect();
        HubError::Usage(format!(
            "the form does not load; nothing published:\n{}",
            lines.join("\n")
        ))
    })?;
    let shipped = Registry::embedded().get(&def.id).map(|d| d.version.clone());
    let in_force = [shipped, published_version(conn, &def.id)?]
        .into_iter()
        .flatten()
        .max_by(|a, b| compare_versions(a, b));
    if let Some(v) = in_force.filter(|v| compare_versions(&def.version, v).is_le()) {
        return Err(HubError::Usage(format!(
            "{} version {} is not newer than {v}, the version in force: nothing published",
            def.id, def.version
        )));
    }
    let forms = Registry::embedded();
    let binary = published::to_binary(&def, &source);
    let mut questionnaire = crate::form::fhir::questionnaire(&def);
    let q_id = published::binary_id(&def).replacen("form-", "q-", 1);
    questionnaire["id"] = serde_json::json!(q_id);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = published::binary_id(&def);
    storage::write(&tx, &forms, PUBLISHER, "Binary", &id, Some(&binary), None, None, now)?;
    storage::write(
        &tx,
        &forms,
        PUBLISHER,
        "Questionnaire",
        &q_id,
        Some(&questionnaire),
        None,
        None,
        now,
    )?;
    tx.commit()?;
    Ok(id)
}
