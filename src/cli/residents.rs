//! `jkda residents search` and `jkda residents duplicates`: the search box and
//! the duplicate clean-up list for scripts and plain terminals. Rows carry
//! masked identifiers only, registrations not finalized are marked as drafts
//! (text: the list's "（建档中）"; JSON: `"status": "draft"`), and each command writes one audit entry with the
//! number of residents it showed, never the query (which may itself be a name
//! or an ID number).

use crate::cli::ResidentsCmd;
use crate::i18n::I18n;
use crate::store::{Actor, DuplicateReason, ResidentRow, Store, StoreError};
use crate::ui::text::pad;
use chrono::NaiveDate;
use std::process::ExitCode;

/// One resident as printed, text or JSON.
#[derive(serde::Serialize)]
struct RowOut<'a> {
    record_no: &'a str,
    name: &'a str,
    sex: Option<&'a str>,
    age: Option<u32>,
    birth_date: Option<&'a str>,
    id_masked: &'a str,
    phone_masked: &'a str,
    village: &'a str,
    status: &'a str,
}

impl<'a> RowOut<'a> {
    fn new(r: &'a ResidentRow, today: NaiveDate) -> Self {
        let age = r
            .birth_date
            .as_deref()
            .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
            .and_then(|b| crate::identity::age_on(b, today));
        RowOut {
            record_no: &r.record_no,
            name: &r.name,
            sex: r.sex.as_deref(),
            age,
            birth_date: r.birth_date.as_deref(),
            id_masked: &r.id_masked,
            phone_masked: &r.phone_masked,
            village: &r.village,
            status: &r.status,
        }
    }
}

#[derive(serde::Serialize)]
struct PairOut<'a> {
    reasons: &'a [DuplicateReason],
    a: RowOut<'a>,
    b: RowOut<'a>,
}

pub fn run(cmd: &ResidentsCmd, store: &Store, actor: &Actor, i18n: &I18n) -> Result<ExitCode, StoreError> {
    let today = chrono::Local::now().date_naive();
    match cmd {
        ResidentsCmd::Search { query, json, limit } => {
            search(store, actor, i18n, &query.join(" "), *json, *limit, today)
        }
        ResidentsCmd::Duplicates { json, shared_phones } => {
            duplicates(store, actor, i18n, *json, *shared_phones, today)
        }
        // Handled in main.rs by sync::cli::fetch and sync::link (they need the network configuration).
        ResidentsCmd::Fetch { .. } | ResidentsCmd::Link { .. } => Ok(ExitCode::from(2)),
    }
}

fn search(
    store: &Store,
    actor: &Actor,
    i18n: &I18n,
    query: &str,
    json: bool,
    limit: usize,
    today: NaiveDate,
) -> Result<ExitCode, StoreError> {
    // One more than asked, to say whether there are more.
    let mut rows = store.find_residents_audited(actor, query, limit.saturating_add(1))?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let out: Vec<RowOut> = rows.iter().map(|r| RowOut::new(r, today)).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".into()));
        return Ok(ExitCode::SUCCESS);
    }
    if out.is_empty() {
        eprintln!("{}", i18n.t("search.cli.no_match"));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", header(i18n));
    for r in &out {
        println!("{}", line(r, i18n));
    }
    let key = if more {
        "search.cli.count_more"
    } else {
        "search.cli.count"
    };
    eprintln!("{}", i18n.tf(key, &[("count", &out.len().to_string())]));
    Ok(ExitCode::SUCCESS)
}

fn duplicates(
    store: &Store,
    actor: &Actor,
    i18n: &I18n,
    json: bool,
    shared_phones: bool,
    today: NaiveDate,
) -> Result<ExitCode, StoreError> {
    let pairs = store.duplicate_pairs(actor, shared_phones)?;
    let out: Vec<PairOut> = pairs
        .iter()
        .map(|p| PairOut {
            reasons: &p.reasons,
            a: RowOut::new(&p.a, today),
            b: RowOut::new(&p.b, today),
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".into()));
        return Ok(ExitCode::SUCCESS);
    }
    if out.is_empty() {
        eprintln!("{}", i18n.t("search.duplicates.none"));
        return Ok(ExitCode::SUCCESS);
    }
    for p in &out {
        let reasons: Vec<&str> = p.reasons.iter().map(|r| i18n.t(r.text_key())).collect();
        println!("{}", reasons.join(i18n.t("search.duplicates.and")));
        println!("  {}", line(&p.a, i18n));
        println!("  {}", line(&p.b, i18n));
    }
    eprintln!(
        "{}",
        i18n.tf("search.duplicates.count", &[("count", &out.len().to_string())])
    );
    Ok(ExitCode::SUCCESS)
}

const WIDTHS: [usize; 6] = [19, 12, 6, 6, 20, 13];

fn header(i18n: &I18n) -> String {
    let cols = ["record_no", "name", "sex", "age", "id", "phone"];
    let mut s: String = cols
        .iter()
        .zip(WIDTHS)
        .map(|(c, w)| pad(i18n.t(&format!("search.cli.col_{c}")), w))
        .collect();
    s.push_str(i18n.t("search.cli.col_village"));
    s
}

fn line(r: &RowOut, i18n: &I18n) -> String {
    let sex = r
        .sex
        .map(|s| i18n.t(&format!("sex.{s}")).to_string())
        .unwrap_or_default();
    let age = r.age.map(|a| a.to_string()).unwrap_or_default();
    let cells = [r.record_no, r.name, &sex, &age, r.id_masked, r.phone_masked];
    let mut s: String = cells.iter().zip(WIDTHS).map(|(c, w)| pad(c, w)).collect();
    s.push_str(r.village);
    // A registration not finalized (in progress or abandoned), as the TUI list marks it.
    if r.status == "draft" {
        s.push_str("  ");
        s.push_str(i18n.t("list.draft"));
    }
    s.trim_end().to_string()
}
