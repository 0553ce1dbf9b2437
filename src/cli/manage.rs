//! The management half on the command line: `jkda worklist`, `jkda report
//! kpi`, `jkda check` and `jkda programme leave|rejoin`. Each takes today
//! from `--today` when given (scripts and tests), else the local date.

use crate::cli::{CheckArgs, KpiArgs, ProgrammeCmd, ReportCmd, WorklistArgs};
use crate::form::def::{Level, Programme};
use crate::form::rules::{evaluate, Context, FindingText};
use crate::form::Registry;
use crate::i18n::I18n;
use crate::manage::kpi::Period;
use crate::store::care::{parse_programme, LeaveReason};
use crate::store::care_read::{KpiReport, WorklistFilter};
use crate::store::{Actor, Store, StoreError};
use crate::ui::text::pad;
use chrono::NaiveDate;
use serde::Serialize;
use std::process::ExitCode;

fn today_or(arg: &Option<String>) -> Result<NaiveDate, String> {
    match arg {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| s.clone()),
        None => Ok(chrono::Local::now().date_naive()),
    }
}

fn programme_arg(s: &Option<String>, i18n: &I18n) -> Result<Option<Programme>, ExitCode> {
    match s.as_deref() {
        None => Ok(None),
        Some(p) => match parse_programme(p) {
            Some(p) => Ok(Some(p)),
            None => {
                eprintln!("{}", i18n.tf("manage.cli.bad_programme", &[("value", p)]));
                Err(ExitCode::from(2))
            }
        },
    }
}

fn bad_date(i18n: &I18n, value: &str) -> ExitCode {
    eprintln!("{}", i18n.tf("manage.cli.bad_date", &[("value", value)]));
    ExitCode::from(2)
}

pub fn worklist(store: &Store, actor: &Actor, i18n: &I18n, args: &WorklistArgs) -> Result<ExitCode, StoreError> {
    let today = match today_or(&args.today) {
        Ok(d) => d,
        Err(v) => return Ok(bad_date(i18n, &v)),
    };
    let programme = match programme_arg(&args.programme, i18n) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let filter = WorklistFilter {
        village: args.village.clone(),
        programme,
    };
    let items = store
        .worklist(actor, today, &filter, args.limit.unwrap_or(usize::MAX))?
        .items;
    store.audit_list_reads(actor)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
        );
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        eprintln!("{}", i18n.t("manage.worklist.empty"));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {} {} {} {} {}",
        pad(i18n.t("manage.worklist.col_kind"), 14),
        pad(i18n.t("list.col_name"), 10),
        pad(i18n.t("manage.worklist.col_village"), 12),
        pad(i18n.t("manage.worklist.col_programme"), 10),
        pad(i18n.t("manage.worklist.col_due"), 10),
        i18n.t("manage.worklist.col_overdue"),
    );
    for i in &items {
        let programme = i
            .programme
            .map(|p| i18n.t(&format!("programme.{p}")).to_string())
            .unwrap_or_else(|| i18n.t("manage.older_adults").to_string());
        println!(
            "{} {} {} {} {} {}",
            pad(i18n.t(&format!("manage.kind.{}", i.kind.key())), 14),
            pad(&i.name, 10),
            pad(&i.village, 12),
            pad(&programme, 10),
            pad(&i.due.map(|d| d.to_string()).unwrap_or_default(), 10),
            if i.days_overdue > 0 {
                i.days_overdue.to_string()
            } else {
                String::new()
            }
        );
    }
    eprintln!(
        "{}",
        i18n.tf("manage.worklist.count", &[("count", &items.len().to_string())])
    );
    Ok(ExitCode::SUCCESS)
}

pub fn report(store: &Store, actor: &Actor, i18n: &I18n, cmd: &ReportCmd) -> Result<ExitCode, StoreError> {
    let ReportCmd::Kpi(args) = cmd;
    kpi(store, actor, i18n, args)
}

fn kpi(store: &Store, actor: &Actor, i18n: &I18n, args: &KpiArgs) -> Result<ExitCode, StoreError> {
    let period = match args.quarter {
        Some(q) => Period::quarter(args.year, q),
        None => Period::year(args.year),
    };
    let Some(period) = period else {
        eprintln!("{}", i18n.t("manage.cli.bad_period"));
        return Ok(ExitCode::from(2));
    };
    let report = store.kpi(actor, &period, args.village.clone())?;
    store.audit_list_reads(actor)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".into())
        );
    } else if args.csv {
        print!("{}", kpi_csv(&report));
    } else {
        print!("{}", kpi_text(&report, i18n));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per group and programme; rates as fractions, as in the JSON.
pub fn kpi_csv(r: &KpiReport) -> String {
    let mut out = String::from(
        "village,village_name,programme,managed,standardised,standardised_rate,controlled,control_rate,examined,exam_rate\n",
    );
    let groups = std::iter::once(("", "", &r.figures)).chain(
        r.villages
            .iter()
            .map(|v| (v.code.as_str(), v.name.as_str(), &v.figures)),
    );
    for (code, name, g) in groups {
        for p in &g.programmes {
            out.push_str(&format!(
                "{code},{},{},{},{},{:.4},{},{:.4},{},{:.4}\n",
                name.replace(',', " "),
                p.programme,
                p.managed,
                p.standardised,
                p.standardised_rate,
                p.controlled,
                p.control_rate,
                p.examined,
                p.exam_rate
            ));
        }
        out.push_str(&format!(
            "{code},{},older_adults,{},,,,,{},{:.4}\n",
            name.replace(',', " "),
            g.older_adults,
            g.older_adults_examined,
            g.older_adults_exam_rate
        ));
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn kpi_text(r: &KpiReport, i18n: &I18n) -> String {
    let mut out = i18n.tf(
        "manage.kpi.title",
        &[
            ("start", &r.period.start.to_string()),
            ("end", &r.period.end.to_string()),
        ],
    );
    out.push('\n');
    let f = &r.figures;
    for p in &f.programmes {
        out.push_str(&i18n.tf(
            "manage.kpi.programme_line",
            &[
                ("programme", i18n.t(&format!("programme.{}", p.programme))),
                ("managed", &p.managed.to_string()),
                ("standardised", &p.standardised.to_string()),
                ("standardised_rate", &pct(p.standardised_rate)),
                ("controlled", &p.controlled.to_string()),
                ("control_rate", &pct(p.control_rate)),
                ("examined", &p.examined.to_string()),
                ("exam_rate", &pct(p.exam_rate)),
            ],
        ));
        out.push('\n');
    }
    out.push_str(&i18n.tf(
        "manage.kpi.older_line",
        &[
            ("older", &f.older_adults.to_string()),
            ("examined", &f.older_adults_examined.to_string()),
            ("rate", &pct(f.older_adults_exam_rate)),
        ],
    ));
    out.push('\n');
    let record_rate = f
        .record_rate
        .map(pct)
        .unwrap_or_else(|| i18n.t("manage.kpi.no_population").to_string());
    out.push_str(&i18n.tf(
        "manage.kpi.records_line",
        &[
            ("records", &f.records.to_string()),
            ("record_rate", &record_rate),
            ("in_use", &f.records_in_use.to_string()),
            ("usage_rate", &pct(f.usage_rate)),
        ],
    ));
    out.push('\n');
    out
}

#[derive(Serialize)]
struct Suggested {
    classification: Option<u8>,
    next_step: Option<u8>,
    next_visit_by: Option<NaiveDate>,
    referral: Option<&'static str>,
    emergency: bool,
}

#[derive(Serialize)]
struct CheckOut {
    form: String,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    suggested: Option<Suggested>,
}

#[derive(Serialize)]
struct Problem {
    path: String,
    code: Option<&'static str>,
    message: String,
}

/// `jkda check FILE`: a QuestionnaireResponse for a resident in this
/// database, checked against its form and the follow-up rules with the
/// resident's own history. Exit 0 no errors, 1 errors, 2 unusable input.
pub fn check(
    store: &Store,
    actor: &Actor,
    registry: &Registry,
    i18n: &I18n,
    args: &CheckArgs,
) -> Result<ExitCode, StoreError> {
    let today = match today_or(&args.today) {
        Ok(d) => d,
        Err(v) => return Ok(bad_date(i18n, &v)),
    };
    let fail = |key: &str, detail: &str| {
        eprintln!(
            "{}",
            i18n.tf(key, &[("detail", detail), ("path", &args.file.display().to_string())])
        );
        Ok(ExitCode::from(2))
    };
    let limit = crate::bounded_read::DATA_FILE;
    let text = match crate::bounded_read::read_to_string(&args.file, limit) {
        Ok(t) => t,
        Err(e) if crate::bounded_read::exceeded(&e).is_some() => {
            return fail("manage.check.too_big", &crate::bounded_read::size_text(limit))
        }
        Err(e) => return fail("cli.io_error", &e.to_string()),
    };
    let qr: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return fail("manage.check.not_json", &e.to_string()),
    };
    if qr["resourceType"] != "QuestionnaireResponse" {
        return fail("manage.check.not_response", qr["resourceType"].as_str().unwrap_or("?"));
    }
    let canonical = qr["questionnaire"].as_str().unwrap_or("");
    let (url, version) = canonical.split_once('|').unwrap_or((canonical, ""));
    let Some(def) = registry
        .all()
        .find(|d| d.url == url && (version.is_empty() || d.version == version))
    else {
        return fail("manage.check.unknown_form", canonical);
    };
    let subject = qr["subject"]["reference"].as_str().unwrap_or("");
    let uuid = subject.strip_prefix("Patient/").unwrap_or(subject);
    let Some(resident_id) = store.resident_id_by_uuid(uuid)? else {
        return fail("manage.check.unknown_subject", subject);
    };
    let resident = store.resident(actor, resident_id)?;
    let answers = crate::fhir::mapping::answers_from_response(&qr, def);
    let birth = resident
        .birth_date
        .as_deref()
        .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok());
    let ctx = Context {
        today,
        sex: resident.sex.clone(),
        birth_date: birth,
    };
    let eval = evaluate(def, &answers, &ctx);
    let record_uuid = qr["id"].as_str().unwrap_or("");
    let except = store.record_id_by_uuid(record_uuid)?.unwrap_or(-1);
    let visit = crate::manage::Visit::from_answers(&answers, today);
    let previous = match (def.programme, visit.date) {
        (Some(p), Some(d)) => store.previous_visit(resident_id, p, d, except)?,
        _ => None,
    };
    let assessment =
        crate::manage::assess_answers(def, &answers, birth, previous.as_ref(), store.care_settings(), today);
    let mut out = CheckOut {
        form: def.canonical(),
        errors: Vec::new(),
        warnings: Vec::new(),
        suggested: None,
    };
    for f in &eval.findings {
        let message = match &f.text {
            FindingText::Msg(m) => i18n.msg(m),
            FindingText::Form(t) => t.get(i18n.lang()).to_string(),
        };
        let p = Problem {
            path: f.path.clone(),
            code: None,
            message,
        };
        match f.level {
            Level::Error => out.errors.push(p),
            Level::Warning => out.warnings.push(p),
        }
    }
    if let Some(a) = &assessment {
        for f in &a.findings {
            let p = Problem {
                path: f.path.to_string(),
                code: Some(f.code),
                message: i18n.msg(&f.msg),
            };
            match f.level {
                Level::Error => out.errors.push(p),
                Level::Warning => out.warnings.push(p),
            }
        }
        out.suggested = Some(Suggested {
            classification: a.classification,
            next_step: a.next_step,
            next_visit_by: a.next_visit_by,
            referral: a.referral.map(|r| match r {
                crate::manage::Referral::Emergency => "emergency",
                crate::manage::Referral::Complication => "complication",
                crate::manage::Referral::TwiceUncontrolled => "twice_uncontrolled",
            }),
            emergency: a.emergency,
        });
    }
    let code = if out.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{}".into()));
        return Ok(code);
    }
    for (label, list) in [
        ("manage.check.error", &out.errors),
        ("manage.check.warning", &out.warnings),
    ] {
        for p in list {
            println!("{} {}: {}", i18n.t(label), p.path, p.message);
        }
    }
    if let Some(s) = &out.suggested {
        let none = String::from("-");
        println!(
            "{}",
            i18n.tf(
                "manage.check.suggested",
                &[
                    (
                        "classification",
                        &s.classification.map(|c| c.to_string()).unwrap_or(none.clone())
                    ),
                    ("next_step", &s.next_step.map(|c| c.to_string()).unwrap_or(none.clone())),
                    (
                        "next_visit_by",
                        &s.next_visit_by.map(|d| d.to_string()).unwrap_or(none.clone())
                    ),
                    ("referral", s.referral.unwrap_or("-")),
                ]
            )
        );
    }
    if out.errors.is_empty() && out.warnings.is_empty() {
        println!("{}", i18n.t("manage.check.clean"));
    }
    Ok(code)
}

pub fn programme(store: &mut Store, actor: &Actor, i18n: &I18n, cmd: &ProgrammeCmd) -> Result<ExitCode, StoreError> {
    let (record_no, programme, date, reason) = match cmd {
        ProgrammeCmd::Leave {
            record_no,
            programme,
            date,
            reason,
        } => (record_no, programme, date, Some(reason)),
        ProgrammeCmd::Rejoin {
            record_no,
            programme,
            date,
        } => (record_no, programme, date, None),
    };
    let Some(p) = parse_programme(programme) else {
        eprintln!("{}", i18n.tf("manage.cli.bad_programme", &[("value", programme)]));
        return Ok(ExitCode::from(2));
    };
    let Ok(on) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        return Ok(bad_date(i18n, date));
    };
    let Some(resident_id) = store.resident_id_by_record_no(record_no)? else {
        eprintln!("{}", i18n.tf("manage.cli.no_resident", &[("record_no", record_no)]));
        return Ok(ExitCode::from(1));
    };
    match reason {
        Some(r) => {
            let Some(reason) = LeaveReason::parse(r) else {
                eprintln!("{}", i18n.tf("manage.cli.bad_reason", &[("value", r)]));
                return Ok(ExitCode::from(2));
            };
            store.leave_programme(actor, resident_id, p, on, reason)?;
        }
        None => store.rejoin_programme(actor, resident_id, p, on)?,
    }
    println!("{}", i18n.t("manage.cli.recorded"));
    Ok(ExitCode::SUCCESS)
}
