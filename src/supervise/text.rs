//! The report and the spot-check list as text for a terminal, in the
//! reader's language.

use super::model::{Reason, Report, SpotItem};
use crate::i18n::I18n;
use crate::manage::kpi::ProgrammeKpi;

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
            "hub.report.reason_vs_city",
            &[("what", &label), ("value", &pct(Some(v))), ("city", &pct(Some(c)))],
        ),
        (Some(v), None) => format!("{label} {}", pct(Some(v))),
        _ => label,
    }
}

pub fn render(report: &Report, i18n: &I18n) -> String {
    let t = |k: &str| i18n.t(k).to_string();
    let mut out = i18n.tf(
        "hub.report.title",
        &[("period", &report.period), ("year", &report.indicator_year.to_string())],
    );
    out.push('\n');
    out.push_str(&format!(
        "{:>4} {:<12} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7}  {}\n",
        t("hub.report.col.rank"),
        t("hub.report.col.site"),
        t("hub.report.col.score"),
        t("hub.report.col.timeliness"),
        t("hub.report.col.quality"),
        t("hub.report.col.indicators"),
        t("hub.report.col.progress"),
        t("hub.report.col.records"),
        t("hub.report.col.timely"),
        t("hub.report.col.median_lag"),
        t("hub.report.col.p90_lag"),
        t("hub.report.col.clean"),
        t("hub.report.col.ht_std"),
        t("hub.report.col.ht_ctrl"),
        t("hub.report.col.dm_std"),
        t("hub.report.col.dm_ctrl"),
        t("hub.report.col.name"),
    ));
    for s in &report.sites {
        let (ht_s, ht_c) = rates(&s.indicators, "hypertension");
        let (dm_s, dm_c) = rates(&s.indicators, "diabetes");
        out.push_str(&format!(
            "{:>3}{} {:<12} {:>5.1} {:>5} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7}  {}\n",
            s.rank,
            if s.flagged { "*" } else { " " },
            s.code,
            s.score,
            pct(Some(s.components.timeliness)),
            pct(Some(s.components.quality)),
            pct(Some(s.components.indicators)),
            pct(s.components.progress),
            s.timeliness.records,
            pct(s.timeliness.timely_share),
            days(s.timeliness.median_lag_days),
            days(s.timeliness.p90_lag_days),
            pct(s.quality.clean_share),
            ht_s,
            ht_c,
            dm_s,
            dm_c,
            s.name
        ));
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
            .map(|p| format!("{}/{} {} ×{}", p.form, p.item, p.code, p.count))
            .collect();
        out.push_str(&i18n.tf("hub.report.problems", &[("site", &s.code), ("list", &top.join(", "))]));
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
                "  {:<12} {:>3} {:>7} {:>7} {:>7} {:>7}\n",
                u.code, u.sites, ht_s, ht_c, dm_s, dm_c
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
        for (label, value) in &item.checks {
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
