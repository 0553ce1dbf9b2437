//! The sync side of version clashes (issue 14, part 4): the platform's copy
//! kept when it refuses an amendment with 409/412, what differs between the
//! two versions item by item with the form's labels, and a person's
//! decision applied (`store::conflicts`). Shared by the conflict screen and
//! `jkda conflicts`.

use crate::form::{Answer, Answers, FieldKind, FormDef, Registry};
use crate::i18n::Lang;
use crate::store::{Resolution, ServerCopy, Store, StoreError, Unresolvable};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// One item that differs: the form's field, its label, both values as a
/// person reads them (choices by their labels, units added). `Debug` shows
/// the field only: a registration's items are a person's name and numbers.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub field: String,
    pub label: String,
    pub mine: String,
    pub theirs: String,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// What a person chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Mine,
    Theirs,
    /// Ours, with these items (field ids) taken from the platform.
    Merge(BTreeSet<String>),
}

/// The platform's QuestionnaireResponse as a copy to keep.
pub fn server_copy(qr: &Value, def: &FormDef) -> ServerCopy {
    let source = qr["meta"]["source"].as_str().unwrap_or("");
    ServerCopy {
        version: qr["meta"]["versionId"].as_str().map(str::to_string),
        answers: crate::fhir::mapping::answers_from_response(qr, def),
        author: qr["author"]["display"].as_str().map(str::to_string),
        at: qr["meta"]["lastUpdated"].as_str().map(str::to_string),
        site: source
            .strip_prefix(crate::hub::storage::SITE_SOURCE)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

/// Keeps the clash of outbox row `outbox_id` (record `record_id`) with the
/// platform's copy `server`, when it could be read. Best effort: the row is
/// already marked `conflict`, and a clash without a copy is still listed.
pub fn keep(store: &mut Store, registry: &Registry, outbox_id: i64, record_id: i64, server: Option<&Value>) {
    let copy = server.and_then(|qr| Some(server_copy(qr, form_of_copy(store, registry, record_id, qr)?.as_ref())));
    let _ = store.keep_conflict(outbox_id, copy.as_ref());
}

/// The form to read the platform's copy `qr` of record `record_id` with:
/// the one it names, else the record's own.
pub fn form_of_copy(store: &Store, registry: &Registry, record_id: i64, qr: &Value) -> Option<Arc<FormDef>> {
    let canonical = qr["questionnaire"].as_str().unwrap_or("");
    match registry.all().find(|d| d.canonical() == canonical) {
        Some(d) => Some(Arc::new(d.clone())),
        None => {
            let (id, version) = store.record_form(record_id).ok()?;
            super::forms::form_at(store, registry, &id, &version)
        }
    }
}

/// Reads the platform's copy of clashes kept without one, so a person can
/// compare and resolve them (a clash must never be stuck). Returns how many
/// copies were kept.
pub fn fetch_missing(
    client: &super::Client,
    store: &mut Store,
    registry: &Registry,
) -> Result<usize, super::SyncError> {
    let mut kept = 0;
    for (outbox_id, record_id, uuid) in store.conflicts_without_copy()? {
        if let Some(qr) = client.read("QuestionnaireResponse", &uuid)? {
            keep(store, registry, outbox_id, record_id, Some(&qr));
            kept += 1;
        }
    }
    Ok(kept)
}

/// The answer paths of one field: `id`, `id.part`, `id.ROW.column`.
fn paths_of<'a>(a: &'a Answers, field: &'a str) -> impl Iterator<Item = (&'a String, &'a Answer)> + 'a {
    a.iter()
        .filter(move |(p, _)| p.as_str() == field || p.strip_prefix(field).is_some_and(|rest| rest.starts_with('.')))
}

fn label_of(kind: &FieldKind, code: &str, lang: Lang) -> String {
    kind.options()
        .and_then(|o| o.iter().find(|o| o.code == code))
        .map(|o| o.label.get(lang).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// A field's value as a person reads it; empty when unanswered.
pub fn shown(def: &FormDef, field: &str, a: &Answers, lang: Lang) -> String {
    let Some(f) = def.field(field) else {
        return paths_of(a, field).map(|(_, v)| plain(v)).collect::<Vec<_>>().join("; ");
    };
    let unit = f.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
    if let FieldKind::BloodPressure { .. } = f.kind {
        let part = |p: &str| a.text(&format!("{field}.{p}")).unwrap_or("").to_string();
        let (s, d) = (part("systolic"), part("diastolic"));
        return if s.is_empty() && d.is_empty() {
            String::new()
        } else {
            format!("{s}/{d} mmHg")
        };
    }
    if let FieldKind::Pair { of } = &f.kind {
        // Current value, and the target agreed for the next visit after an arrow.
        let part = |p: &str| a.text(&format!("{field}.{p}")).map(|v| label_of(of, v, lang));
        return match (part("current"), part("target")) {
            (None, None) => String::new(),
            (c, None) => format!("{}{unit}", c.unwrap_or_default()),
            (c, Some(t)) => format!("{}{unit} → {t}{unit}", c.unwrap_or_else(|| "-".into())),
        };
    }
    let parts: Vec<String> = paths_of(a, field)
        .map(|(path, v)| {
            let value = match v {
                Answer::Text(t) => label_of(&f.kind, t, lang),
                Answer::Codes(c) => c
                    .iter()
                    .map(|c| label_of(&f.kind, c, lang))
                    .collect::<Vec<_>>()
                    .join("、"),
            };
            match path.strip_prefix(field).and_then(|r| r.strip_prefix('.')) {
                Some(part) => format!("{part}: {value}"),
                None => value,
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] if !one.contains(": ") => format!("{one}{unit}"),
        _ => parts.join("; "),
    }
}

fn plain(v: &Answer) -> String {
    match v {
        Answer::Text(t) => t.clone(),
        Answer::Codes(c) => c.join(","),
    }
}

/// The field an answer path belongs to.
fn field_of(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// What differs between our answers and the platform's, in the form's order
/// (items the form no longer has last).
pub fn diff(def: &FormDef, mine: &Answers, theirs: &Answers, lang: Lang) -> Vec<Item> {
    let same = |field: &str| paths_of(mine, field).eq(paths_of(theirs, field));
    let mut out = Vec::new();
    for (_, f) in def.fields() {
        if !same(&f.id) {
            out.push(Item {
                field: f.id.clone(),
                label: f.label.get(lang).to_string(),
                mine: shown(def, &f.id, mine, lang),
                theirs: shown(def, &f.id, theirs, lang),
            });
        }
    }
    let unknown: BTreeSet<&str> = mine
        .iter()
        .chain(theirs.iter())
        .map(|(p, _)| field_of(p))
        .filter(|f| def.field(f).is_none())
        .collect();
    for f in unknown {
        if !same(f) {
            out.push(Item {
                field: f.to_string(),
                label: f.to_string(),
                mine: shown(def, f, mine, lang),
                theirs: shown(def, f, theirs, lang),
            });
        }
    }
    out
}

/// Our answers with the items `take` replaced by the platform's.
pub fn merge(mine: &Answers, theirs: &Answers, take: &BTreeSet<String>) -> Answers {
    let mut out = Answers::new();
    for (path, v) in mine.iter().filter(|(p, _)| !take.contains(field_of(p))) {
        put(&mut out, path, v);
    }
    for (path, v) in theirs.iter().filter(|(p, _)| take.contains(field_of(p))) {
        put(&mut out, path, v);
    }
    out
}

fn put(a: &mut Answers, path: &str, v: &Answer) {
    match v {
        Answer::Text(t) => a.set_text(path, t),
        Answer::Codes(c) => a.set_codes(path, c.clone()),
    }
}

/// The message key saying why a clash cannot be resolved now.
pub fn unresolvable_key(why: Unresolvable) -> &'static str {
    match why {
        Unresolvable::ServerUnknown => "conflicts.server_unknown",
        Unresolvable::ChangedSince => "conflicts.changed_since",
    }
}

/// Applies a person's choice to record `record_id`'s clash: Ok(Ok(true))
/// when something is queued for upload.
pub fn resolve(
    store: &mut Store,
    registry: &Registry,
    actor: &crate::store::Actor,
    record_id: i64,
    choice: &Choice,
) -> Result<Result<bool, Unresolvable>, StoreError> {
    let c = store.conflict(actor, record_id)?;
    let Some(server) = c.server.as_ref() else {
        return Ok(Err(Unresolvable::ServerUnknown));
    };
    let def = super::forms::form_at(store, registry, &c.row.form_id, &c.row.form_version);
    let how = match choice {
        Choice::Mine => Resolution::Mine,
        Choice::Theirs => Resolution::Theirs,
        Choice::Merge(take) => Resolution::Merged(merge(&c.mine, &server.answers, take)),
    };
    let current = match &how {
        Resolution::Mine => &c.mine,
        Resolution::Theirs => &server.answers,
        Resolution::Merged(a) => a,
    };
    let date = def
        .as_ref()
        .and_then(|d| d.date_field.as_deref())
        .and_then(|f| current.text(f))
        .map(str::to_string);
    store.resolve_conflict(actor, record_id, &how, date.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_takes_whole_items_from_the_platform_and_keeps_the_rest() {
        let mut mine = Answers::new();
        mine.set_text("bp.systolic", "150");
        mine.set_text("bp.diastolic", "90");
        mine.set_text("weight.current", "70");
        mine.set_text("note", "mine");
        let mut theirs = Answers::new();
        theirs.set_text("bp.systolic", "130");
        theirs.set_text("weight.current", "71");
        let take: BTreeSet<String> = ["bp".to_string()].into();
        let m = merge(&mine, &theirs, &take);
        assert_eq!(m.text("bp.systolic"), Some("130"));
        assert_eq!(m.text("bp.diastolic"), None, "the platform's item comes whole");
        assert_eq!(m.text("weight.current"), Some("70"));
        assert_eq!(m.text("note"), Some("mine"));
    }

    #[test]
    fn the_diff_names_items_by_the_forms_labels_and_choices_by_theirs() {
        let reg = Registry::embedded();
        let def = reg.get("hypertension-followup").unwrap();
        let mut mine = Answers::new();
        mine.set_text("bp.systolic", "150");
        mine.set_text("bp.diastolic", "90");
        mine.set_text("visit_method", "1");
        let mut theirs = mine.clone();
        theirs.set_text("bp.systolic", "132");
        let d = diff(def, &mine, &theirs, Lang::En);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "bp");
        assert_eq!(
            (d[0].mine.as_str(), d[0].theirs.as_str()),
            ("150/90 mmHg", "132/90 mmHg")
        );
        assert_eq!(d[0].label, def.field("bp").unwrap().label.en);
        theirs.set_text("visit_method", "2");
        let d = diff(def, &mine, &theirs, Lang::En);
        let method = d.iter().find(|i| i.field == "visit_method").unwrap();
        let opts = def.field("visit_method").unwrap().kind.options().unwrap();
        assert_eq!(method.theirs, opts.iter().find(|o| o.code == "2").unwrap().label.en);
    }
}
