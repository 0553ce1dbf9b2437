//! The bureau's commands of `jkda-hub`: the report, spot checks and the
//! sites' populations. The binary parses; these do the work and print in
//! the reader's language (`JKDA_LANG`, Chinese by default).

use super::{storage, supervision, HubError};
use crate::form::Registry;
use crate::i18n::{I18n, Lang};
use crate::supervise::{text, SupervisionSettings};
use chrono::NaiveDate;
use std::path::Path;

pub fn i18n() -> I18n {
    I18n::new(
        std::env::var("JKDA_LANG")
            .ok()
            .and_then(|l| Lang::parse(&l))
            .unwrap_or_default(),
    )
}

/// The city's month now, the default period.
pub fn this_month(now: chrono::DateTime<chrono::Utc>) -> String {
    (now.naive_utc() + chrono::Duration::hours(supervision::CITY_UTC_OFFSET_HOURS))
        .format("%Y-%m")
        .to_string()
}

/// A stable seed from the site and period, so a spot check drawn twice is
/// the same list unless the bureau asks for another.
pub fn default_seed(site: &str, period: Option<&str>) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{site}|{}", period.unwrap_or("")).as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

/// The supervision settings beside the hub's database, read by the pages
/// and by `report` (missing: the defaults).
pub const SETTINGS_FILE: &str = "supervision.toml";

pub fn load_settings(path: Option<&Path>) -> Result<SupervisionSettings, HubError> {
    match path {
        Some(p) => SupervisionSettings::load(p).map_err(HubError::Usage),
        None => Ok(SupervisionSettings::default()),
    }
}

pub struct ReportArgs<'a> {
    pub period: &'a str,
    pub json: bool,
    pub settings: Option<&'a Path>,
}

/// Another FHIR server to read instead of the hub's own database.
pub struct Source<'a> {
    pub url: &'a str,
    pub token: &'a str,
    /// `code,name[,...]` of the bureau's units, so silent ones are listed.
    pub sites: Option<&'a Path>,
}

/// The database a command reads: the hub's own, or a scratch copy of what
/// a FHIR server holds.
pub enum Data {
    Hub(rusqlite::Connection),
    Source(super::source::Scratch),
}

impl Data {
    pub fn conn(&self) -> &rusqlite::Connection {
        match self {
            Data::Hub(c) => c,
            Data::Source(s) => &s.conn,
        }
    }
}

pub fn open(db: &Path, source: Option<&Source>) -> Result<Data, HubError> {
    let Some(s) = source else {
        return Ok(Data::Hub(storage::open(db)?));
    };
    let sites = match s.sites {
        Some(p) => super::source::read_sites(&read_text(p)?),
        None => Vec::new(),
    };
    let fhir = crate::fhir::FhirSource::new(s.url, s.token)?;
    let mut scratch = super::source::scratch(&fhir, &Registry::embedded(), &sites)?;
    if let Some(p) = s.sites {
        // Populations and targets from the same file, when it has them.
        let text = read_text(p).unwrap_or_default();
        let with_numbers: String = text
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split(',').map(str::trim).collect();
                let code = cols.first()?;
                let population = cols.get(2).filter(|p| p.parse::<u64>().is_ok())?;
                Some(format!("{code},{population},{}\n", cols.get(3).unwrap_or(&"")))
            })
            .collect();
        supervision::import_targets(&mut scratch.conn, &with_numbers)?;
    }
    Ok(Data::Source(scratch))
}

pub fn report_from(conn: &rusqlite::Connection, args: &ReportArgs) -> Result<String, HubError> {
    let settings = load_settings(args.settings)?;
    let forms = Registry::embedded();
    let report = supervision::build_report(conn, &forms, args.period, &settings)?;
    if args.json {
        return serde_json::to_string_pretty(&report).map_err(|e| HubError::Invalid(e.to_string()));
    }
    let i18n = i18n();
    if report.sites.is_empty() {
        return Ok(format!("{}\n", i18n.t("hub.report.no_sites")));
    }
    Ok(text::render(&report, &forms, &i18n))
}

pub struct SpotArgs<'a> {
    pub site: &'a str,
    pub n: usize,
    pub seed: Option<u64>,
    pub period: Option<&'a str>,
    pub json: bool,
}

pub fn spotcheck_from(conn: &rusqlite::Connection, args: &SpotArgs) -> Result<String, HubError> {
    let i18n = i18n();
    let seed = args.seed.unwrap_or_else(|| default_seed(args.site, args.period));
    let forms = Registry::embedded();
    let items = super::spotchecks::spot_sample(conn, &forms, args.site, args.n, seed, args.period, i18n.lang())?;
    if args.json {
        return serde_json::to_string_pretty(&items).map_err(|e| HubError::Invalid(e.to_string()));
    }
    Ok(text::render_spot(args.site, &items, &i18n))
}

pub fn spot_result(
    db: &Path,
    site: &str,
    record: &str,
    passed: bool,
    note: &str,
    checker: &str,
    on: NaiveDate,
) -> Result<String, HubError> {
    let conn = storage::open(db)?;
    super::spotchecks::record_spot_result(&conn, site, record, passed, note, checker, on)?;
    Ok(format!(
        "{}\n",
        i18n().tf("hub.report.spot_saved", &[("record", record)])
    ))
}

pub fn set_target(db: &Path, site: &str, population: Option<u64>, rate: Option<f64>) -> Result<String, HubError> {
    let conn = storage::open(db)?;
    supervision::set_target(&conn, site, population, rate)?;
    Ok(format!("{}\n", i18n().tf("hub.report.targets_set", &[("site", site)])))
}

pub fn import_targets(db: &Path, csv: &Path) -> Result<String, HubError> {
    let mut conn = storage::open(db)?;
    let text = read_text(csv)?;
    let n = supervision::import_targets(&mut conn, &text)?;
    Ok(format!(
        "{}\n",
        i18n().tf("hub.report.targets_imported", &[("n", &n.to_string())])
    ))
}

/// Replaces `db` with a copy of what the source holds: filled beside it,
/// then renamed over it, so a running `serve` never sees half a copy.
pub fn mirror(db: &Path, src: &Source) -> Result<String, HubError> {
    let fresh = db.with_extension("mirror-new");
    let _ = std::fs::remove_file(&fresh);
    let sites = match src.sites {
        Some(p) => super::source::read_sites(&read_text(p)?),
        None => Vec::new(),
    };
    let fhir = crate::fhir::FhirSource::new(src.url, src.token)?;
    let loaded = {
        let mut conn = storage::open(&fresh)?;
        let loaded = super::source::load(&fhir, &mut conn, &Registry::embedded(), &sites)?;
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        loaded
    };
    std::fs::rename(&fresh, db)?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(format!(
        "{}\n",
        i18n().tf(
            "hub.report.mirrored",
            &[
                ("patients", &loaded.patients.to_string()),
                ("records", &loaded.responses.to_string()),
                ("url", src.url)
            ]
        )
    ))
}

/// A site or population list, within `bounded_read::DATA_FILE`.
fn read_text(p: &Path) -> Result<String, HubError> {
    crate::bounded_read::read_to_string(p, crate::bounded_read::DATA_FILE)
        .map_err(|e| HubError::Usage(format!("{}: {e}", p.display())))
}
