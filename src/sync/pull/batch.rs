//! Which searches a pull makes: this PC's residents the platform knows, as
//! `patient` OR lists sized for the request line, or — for a PC holding
//! very many — one platform-wide search, whichever costs the link less.
//!
//! `patient=<id>,<id>` (QuestionnaireResponse's standard `patient`
//! parameter, whose target can only be a Patient, so bare ids are plain
//! FHIR) rather than `subject=Patient/<id>,…`: shorter, and a jkda-hub from
//! before OR lists refuses it (400, "not Patient/id") where it would have
//! read `subject=Patient/a,Patient/b` as `Patient/b` alone — a pull
//! silently missing residents, with its watermark moved past them.

use std::time::Duration;

/// The longest `patient` value one search carries, percent-encoded as sent
/// (`<id>%2C<id>…`, 39 bytes a resident with a UUID id: 102 residents).
/// The request line around it — path, `_lastUpdated=gt…`, `_count`, and a
/// next link's cursor (about 200 bytes on jkda-hub) — stays far under the
/// 8 KiB jkda-hub allows (`vendor/tiny_http`: longer is 414) and the 8 KiB
/// common to servers and proxies in front of them (nginx, Tomcat).
pub const LIST_CHARS: usize = 4000;

/// Above this many lists (20 400 residents with UUID ids) a pull asks
/// platform-wide instead: every list is a round trip (about 4 KB up, an
/// empty Bundle down when nothing changed), 200 of them about 1 MB and a
/// minute or more on a slow link at every sync, while a PC holding that
/// many is a large centre whose residents are a good share of the
/// platform's changes anyway.
pub const MAX_LISTS: usize = 200;

/// The searches of one pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// One search per `patient` value (`a,b,…`); none when
    /// the platform knows none of this PC's residents.
    Lists(Vec<String>),
    /// `_lastUpdated` alone, every unit's changes.
    Wide,
}

impl Plan {
    pub fn searches(&self) -> usize {
        match self {
            Plan::Lists(l) => l.len(),
            Plan::Wide => 1,
        }
    }
}

/// The searches for Patients `ids`.
pub fn plan(ids: &[String]) -> Plan {
    let lists = lists(ids, LIST_CHARS);
    if lists.len() > MAX_LISTS {
        Plan::Wide
    } else {
        Plan::Lists(lists)
    }
}

/// `ids` as OR lists (`a,b,…`), each at most `budget` bytes once
/// percent-encoded (an id longer than that alone still gets a list).
pub fn lists(ids: &[String], budget: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for id in ids {
        let cost = crate::sync::client::encode(id).len();
        // `%2C`, the comma before every value but the first.
        let sep = if current.is_empty() { 0 } else { 3 };
        if !current.is_empty() && used + sep + cost > budget {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        if !current.is_empty() {
            current.push(',');
            used += 3;
        }
        current.push_str(id);
        used += cost;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The watermark after several lists: the latest change seen (`latest`),
/// moved back by how long the pull took, never before `since`. A change to
/// a resident of a list already read, made while later lists were read,
/// can be stamped before the latest change those lists gave; it is at most
/// the pull's duration older, so the next pull still asks for it (and
/// whatever it reads again is known here and not kept twice). A stamp that
/// does not parse is kept as it is.
pub fn pulled_back(since: &str, latest: &str, took: Duration) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(latest) else {
        return latest.to_string();
    };
    // A second more, for the stamps' and the measure's rounding.
    let margin = chrono::Duration::from_std(took).unwrap_or(chrono::Duration::MAX) + chrono::Duration::seconds(1);
    let back = t
        .with_timezone(&chrono::Utc)
        .checked_sub_signed(margin)
        .map(crate::store::utc_text);
    match back {
        Some(b) if b.as_str() > since => b,
        _ => since.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("0f8c1e6a-1b2c-4d5e-8f90-{i:012}")).collect()
    }

    #[test]
    fn lists_hold_every_id_once_within_the_budget() {
        let ids = uuids(1000);
        let lists = lists(&ids, LIST_CHARS);
        assert_eq!(lists.len(), 10, "102 a list");
        let mut back: Vec<String> = Vec::new();
        for l in &lists {
            let encoded = crate::sync::client::encode(l);
            assert!(encoded.len() <= LIST_CHARS, "{}", encoded.len());
            back.extend(l.split(',').map(str::to_string));
        }
        assert_eq!(back, ids);
        // A whole request line with a next link stays well under 8 KiB.
        let line = format!(
            "GET /fhir/QuestionnaireResponse?patient={}&_lastUpdated=gt2026-11-05T08%3A01%3A02.345Z&_count=200&_cursor={} HTTP/1.1",
            crate::sync::client::encode(&lists[0]),
            "ab".repeat(100)
        );
        assert!(line.len() < 6 * 1024, "{}", line.len());
        assert!(super::lists(&[], LIST_CHARS).is_empty());
    }

    #[test]
    fn very_many_residents_are_asked_for_platform_wide() {
        assert_eq!(plan(&[]), Plan::Lists(Vec::new()));
        assert_eq!(plan(&uuids(3)).searches(), 1);
        assert_eq!(plan(&uuids(20_400)).searches(), 200);
        assert_eq!(plan(&uuids(20_401)), Plan::Wide);
    }

    #[test]
    fn the_watermark_goes_back_by_the_pulls_duration_but_not_before_since() {
        let since = "2026-11-05T08:00:00.000Z";
        let latest = "2026-11-05T08:10:00.500Z";
        assert_eq!(
            pulled_back(since, latest, Duration::from_millis(2500)),
            "2026-11-05T08:09:57.000Z"
        );
        assert_eq!(pulled_back(since, latest, Duration::from_secs(3600)), since);
        assert_eq!(pulled_back(since, "2026-11-05T08:10:00+08:00", Duration::ZERO), since);
        assert_eq!(pulled_back(since, "garbled", Duration::ZERO), "garbled");
    }
}
