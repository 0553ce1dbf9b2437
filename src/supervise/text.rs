//! The report and the spot-check list as text for a terminal, in the
//! reader's language.

use super::model::{Reason, Report, SpotItem};
use crate::form::Registry;
use crate::i18n::I18n;
use crate::manage::kpi::ProgrammeKpi;
use unicode_width::UnicodeWidthStr;

/// Pads to a display width (a Chinese character takes two columns).
fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// A problem in words: the item's label in its form, and what is wrong —
/// a form's own check says it in the form, the follow-up rules and the
/// standard's checks in the catalogue (without the record's values).
pub fn describe_problem(form: &str, item: &str, code: &str, forms: &Registry, i18n: &I18n) -> (String, String) {
    let lang = i18n.lang();
    let def = forms.get(form);
    let label = def
        .and_then(|d| d.sections.iter().flat_map(|s| &s.fields).find(|f| f.id == item))
        .map_or_else(|| item.to_string(), |f| f.label.get(lang).to_string());
    let what = if let Some(id) = code.strip_prefix("check.") {
        def.and_then(|d| d.checks.iter().find(|c| c.id == id))
            .map(|c| c.message.get(lang).to_string())
    } else {
        i18n.lookup(&format!("hub.problem.{code}"))
            .or_else(|| i18n.lookup(code))
            .map(without_placeholders)
    };
    (label, what.unwrap_or_else(|| code.to_string()))
}

/// `"{code}" is not one of the options` → `is not one of the options`.
fn without_placeholders(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace("\"\"", "")
        .replace("“”", "")
        .replace("（）", "")
        .replace("()", "")
        .trim()
        .to_string()
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{:.0}%", v * 100.0))
}

fn days(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
}

fn rates(k: &[ProgrammeKpi], programme: &str) -> (String, String) {
    match k.iter().find(|k| k.programme == programme && k.managed > 0) {
        Some(k) => (pct(Some(k.standardised_rate)), pct(Some(k.control_rate))),
        None => ("-".into(), "-".into()),
    }
}

/// One reason in words: "timeliness 40% (city 80%)".
pub fn reason_text(r: &Reason, i18n: &I18n) -> String {
    let label = i18n.t(&format!("hub.report.reason.{}", r.kind)).to_string();
    match (r.value, r.city) {
        (Some(v), Some(c)) => i18n.tf(
            if r.kind == "progress" {
                "hub.report.reason_vs_target"
            } else {
                "hub.report.reason_vs_city"
            },
            &[("what", &label), ("value", &pct(Some(v))), ("city", &pct(Some(c)))],
        ),
        (Some(v), None) => format!("{label} {}", pct(Some(v))),
        _ => label,
    }
}

const COLUMNS: [&str; 16] = [
    "rank",
    "site",
    "score",
    "timeliness",
    "quality",
    "indicators",
    "progress",
    "records",
    "timely",
    "median_lag",
    "p90_lag",
    "clean",
    "ht_std",
    "ht_ctrl",
    "dm_std",
    "dm_ctrl",
];
const WIDTHS: [usize; 16] = [4, 12, 5, 5, 5, 5, 5, 5, 6, 8, 8, 6, 10, 10, 10, 10];

pub fn render(report: &Report, forms: &Registry, i18n: &I18n) -> String {
    let t = |k: &str| i18n.t(k).to_string();
    let mut out = i18n.tf(
        "hub.report.title",
        &[("period", &report.period), ("year", &report.indicator_year.to_string())],
    );
    out.push('\n');
    let head: Vec<String> = COLUMNS
        .iter()
        .zip(WIDTHS)
        .enumerate()
        .map(|(i, (c, w))| pad(&t(&format!("hub.report.col.{c}")), w, i != 1))
        .collect();
    out.push_str(&format!("{}  {}\n", head.join(" "), t("hub.report.col.name")));
    for s in &report.sites {
        let (ht_s, ht_c) = rates(&s.indicators, "hypertension");
        let (dm_s, dm_c) = rates(&s.indicators, "diabetes");
        let cells = [
            format!("{}{}", s.rank, if s.flagged { "*" } else { " " }),
            s.code.clone(),
            format!("{:.1}", s.score),
            pct(Some(s.components.timeliness)),
            pct(Some(s.components.quality)),
            pct(Some(s.components.indicators)),
            pct(s.components.progress),
            s.timeliness.records.to_string(),
            pct(s.timeliness.timely_share),
            days(s.timeliness.median_lag_days),
            days(s.timeliness.p90_lag_days),
            pct(s.quality.clean_share),
            ht_s,
            ht_c,
            dm_s,
            dm_c,
        ];
        let row: Vec<String> = cells
            .iter()
            .zip(WIDTHS)
            .enumerate()
            .map(|(i, (c, w))| pad(c, w, i != 1))
            .collect();
        out.push_str(&format!("{}  {}\n", row.join(" "), s.name));
    }
    let c = &report.city;
    out.push_str(&i18n.tf(
        "hub.report.city",
        &[
            ("records", &c.records.to_string()),
            ("timely", &pct(Some(c.timely_share))),
            ("clean", &pct(Some(c.clean_share))),
            ("std", &pct(Some(c.standardised_rate))),
            ("ctrl", &pct(Some(c.control_rate))),
        ],
    ));
    out.push('\n');
    let flagged: Vec<_> = report.sites.iter().filter(|s| s.flagged).collect();
    if !flagged.is_empty() {
        out.push_str(&t("hub.report.bottom"));
        out.push('\n');
        for s in flagged {
            let reasons: Vec<String> = s.reasons.iter().map(|r| reason_text(r, i18n)).collect();
            out.push_str(&format!("  {} {}: {}\n", s.code, s.name, reasons.join("; ")));
        }
    }
    for s in report.sites.iter().filter(|s| !s.quality.top_problems.is_empty()) {
        let top: Vec<String> = s
            .quality
            .top_problems
            .iter()
            .take(3)
            .map(|p| {
                let (label, what) = describe_problem(&p.form, &p.item, &p.code, forms, i18n);
                format!("{label}: {what} ×{}", p.count)
            })
            .collect();
        out.push_str(&i18n.tf("hub.report.problems", &[("site", &s.code), ("list", &top.join("; "))]));
        out.push('\n');
    }
    for (title, units) in [
        ("hub.report.townships", &report.townships),
        ("hub.report.counties", &report.counties),
    ] {
        if units.is_empty() {
            continue;
        }
        out.push_str(&t(title));
        out.push('\n');
        for u in units {
            let (ht_s, ht_c) = rates(&u.indicators, "hypertension");
            let (dm_s, dm_c) = rates(&u.indicators, "diabetes");
            out.push_str(&format!(
                "  {} {} {} {} {} {}\n",
                pad(&u.code, 12, false),
                pad(&u.sites.to_string(), 3, true),
                pad(&ht_s, 10, true),
                pad(&ht_c, 10, true),
                pad(&dm_s, 10, true),
                pad(&dm_c, 10, true)
            ));
        }
    }
    out
}

pub fn render_spot(site: &str, items: &[SpotItem], i18n: &I18n) -> String {
    let mut out = i18n.tf(
        "hub.report.spot_title",
        &[("site", site), ("n", &items.len().to_string())],
    );
    out.push('\n');
    for (i, item) in items.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {} {} {}  {} {}\n",
            i + 1,
            item.form,
            item.visit_date.map(|d| d.to_string()).unwrap_or_default(),
            item.record,
            item.resident_name.as_deref().unwrap_or(""),
            item.record_no.as_deref().unwrap_or("")
        ));
        for (label, value) in item.checks.iter() {
            out.push_str(&format!("   [ ] {label}: {value}\n"));
        }
        out.push_str(&format!("   [ ] {}\n", i18n.t("hub.report.spot_seen")));
        if let Some(r) = &item.result {
            let verdict = i18n.t(if r.passed {
                "hub.report.spot_passed"
            } else {
                "hub.report.spot_failed"
            });
            out.push_str(&format!("   => {verdict} {} {} {}\n", r.checked_on, r.checker, r.note));
        }
    }
    out
}
