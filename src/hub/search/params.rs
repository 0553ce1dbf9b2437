//! The search parameters the hub understands, read from a query string into
//! a `Search`. A parameter it does not understand is refused (400 with an
//! OperationOutcome) rather than ignored, as FHIR also allows: a filter
//! silently dropped would hand out more residents' records than were asked
//! for, and a report built on it would count the wrong things.

use super::super::HubError;
use super::cursor::Cursor;
use super::when;
use crate::domain::Sensitive;
use crate::fhir;

/// Page size when the client gives no `_count`.
pub const DEFAULT_COUNT: usize = 50;
/// The largest page; a larger `_count` gets pages of this size.
pub const MAX_COUNT: usize = 1000;

/// One condition every match meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `last_updated` at or after this stored time.
    UpdatedFrom(String),
    /// `last_updated` before this stored time.
    UpdatedBefore(String),
    /// About one of these Patient ids (`subject=Patient/a,Patient/b`: FHIR's
    /// OR list, search.html#combining); never empty, no id twice.
    Subject(Vec<String>),
    /// A Patient with this identifier value, of this system when given
    /// (`Some("")`: an identifier without a system).
    /// The value may be an ID number: `Debug` prints it redacted.
    Identifier {
        system: Option<String>,
        value: Sensitive<String>,
    },
}

/// A search as understood.
#[derive(Debug, Clone)]
pub struct Search {
    pub kind: &'static str,
    pub filters: Vec<Filter>,
    /// Page size; 0 asks for the total only.
    pub count: usize,
    /// `_summary=count`: the total only.
    pub summary_count: bool,
    /// `_sort=-_lastUpdated`: the most recently changed first.
    pub newest_first: bool,
    /// Where this page starts, from a next link.
    pub cursor: Option<Cursor>,
    /// The parameters as given (decoded), for the self and next links;
    /// `_count` and `_cursor` are added there. Redacted in `Debug` (an
    /// identifier search carries an ID number).
    pub echo: Sensitive<Vec<(String, String)>>,
}

/// Reads `query` (without the `?`) as a search of `kind`.
pub fn parse(kind: &str, query: &str) -> Result<Search, HubError> {
    let kind = fhir::TYPES
        .iter()
        .copied()
        .find(|t| *t == kind)
        .ok_or_else(|| HubError::NotSupported(format!("resource type {kind} is not supported here")))?;
    let mut s = Search {
        kind,
        filters: Vec::new(),
        count: DEFAULT_COUNT,
        summary_count: false,
        newest_first: false,
        cursor: None,
        echo: Sensitive::default(),
    };
    let mut seen: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (fhir::percent_decode(key), fhir::percent_decode(value));
        let once = |seen: &mut Vec<String>, name: &str| {
            // `subject` and `patient` are one parameter here.
            let name = if name == "patient" { "subject" } else { name };
            if seen.iter().any(|k| k == name) {
                return Err(HubError::Invalid(format!("give {name} only once")));
            }
            seen.push(name.to_string());
            Ok(())
        };
        match key.as_str() {
            "_count" => {
                once(&mut seen, &key)?;
                let n: usize = value
                    .parse()
                    .map_err(|_| HubError::Invalid(format!("_count {value:?} is not a number")))?;
                s.count = n.min(MAX_COUNT);
                continue;
            }
            "_cursor" => {
                once(&mut seen, &key)?;
                s.cursor = Some(Cursor::decode(&value)?);
                continue;
            }
            "_summary" => {
                once(&mut seen, &key)?;
                match value.as_str() {
                    "count" => s.summary_count = true,
                    "false" => {}
                    _ => {
                        return Err(HubError::NotSupported(format!(
                            "_summary={value} is not supported here; use _summary=count"
                        )))
                    }
                }
            }
            "_format" => {
                // `json`, `application/json`, `application/fhir+json` (its `+` perhaps unescaped).
                if !value.contains("json") {
                    return Err(HubError::NotSupported(format!(
                        "_format={value}: the hub speaks JSON only"
                    )));
                }
            }
            "_sort" if value == "_lastUpdated" || value == "-_lastUpdated" => {
                once(&mut seen, &key)?;
                s.newest_first = value.starts_with('-');
            }
            "_lastUpdated" => {
                let b = when::bounds(&value)?;
                s.filters.extend(b.from.map(Filter::UpdatedFrom));
                s.filters.extend(b.before.map(Filter::UpdatedBefore));
            }
            "identifier" if kind == "Patient" => {
                once(&mut seen, &key)?;
                s.filters.push(identifier(&value)?);
            }
            "subject" | "patient" if kind != "Patient" => {
                once(&mut seen, &key)?;
                s.filters.push(Filter::Subject(patient_ids(&key, &value)?));
            }
            _ => return Err(unsupported(kind, &key, &value)),
        }
        s.echo.push((key, value));
    }
    Ok(s)
}

fn unsupported(kind: &str, key: &str, value: &str) -> HubError {
    let own = if kind == "Patient" {
        "identifier"
    } else {
        "subject (or patient)"
    };
    let what = if key == "_sort" {
        format!("_sort={value} (results come in _lastUpdated order, or -_lastUpdated)")
    } else {
        format!("search parameter {key:?}")
    };
    HubError::NotSupported(format!(
        "{what} is not supported for {kind} here; the hub searches {kind} by _lastUpdated and {own}, \
         with _count, _summary=count, _sort=(-)_lastUpdated and the next links it gives"
    ))
}

/// `system|value`, `|value` (no system) or `value`.
fn identifier(v: &str) -> Result<Filter, HubError> {
    let (system, value) = match v.split_once('|') {
        Some((s, v)) => (Some(s.to_string()), v),
        None => (None, v),
    };
    if value.is_empty() {
        return Err(HubError::Invalid(
            "identifier needs a value: system|value or value".into(),
        ));
    }
    if value.contains(',') {
        return Err(HubError::NotSupported(
            "identifier takes one value here, not a list".into(),
        ));
    }
    Ok(Filter::Identifier {
        system,
        value: Sensitive(value.to_string()),
    })
}

/// A comma-separated OR list of `patient_id`s; the union is searched, so an
/// id given twice counts once. FHIR escapes a comma inside a value as `\,`,
/// but no Patient id holds a comma (or a backslash): such a value is
/// refused as what it is rather than split somewhere surprising.
fn patient_ids(key: &str, v: &str) -> Result<Vec<String>, HubError> {
    if v.contains('\\') {
        return Err(HubError::Invalid(format!(
            "{key}: a Patient id holds no comma or backslash; \\, escapes are not accepted here"
        )));
    }
    // A request line of 8 KiB holds a few thousand short ids: a set, not a scan.
    let mut given = std::collections::HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    for one in v.split(',') {
        let id = patient_id(key, one)?;
        if given.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `Patient/id`, a full URL ending in `Patient/id`, or a bare id.
fn patient_id(key: &str, v: &str) -> Result<String, HubError> {
    let id = match v.rsplit_once("Patient/") {
        Some((_, id)) => id,
        None if v.contains('/') => {
            return Err(HubError::Invalid(format!(
                "{key} {v:?}: the hub searches by Patient/id"
            )));
        }
        None => v,
    };
    if !fhir::valid_id(id) {
        return Err(HubError::Invalid(format!("{key} {v:?} is not Patient/id")));
    }
    Ok(id.to_string())
}
