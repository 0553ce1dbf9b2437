//! `GET /supervision/site/CODE`: one site's page — its components, trend,
//! weekly registrations, timeliness, quality with the most frequent
//! problems in words, authenticity flags, indicators, the spot-check list
//! (a plain HTML form per record for bureau accounts) and the site's own
//! records with findings. Pure: data and a [`View`] in, HTML out.

use super::html::{card_row, escape, frame, num1, pct, programme_name, programmes, reason_text, View};
use super::svg;
use crate::form::def::Level;
use crate::hub::findings::RecordProblems;
use crate::supervise::model::{Flag, Report, SiteReport, SpotItem};
use crate::supervise::text::describe_problem;
use std::fmt::Write;

/// The form's title, or what the hub has for it (an unknown form's URL, or
/// a title already).
pub fn form_title(v: &View, form: &str) -> String {
    v.forms
        .get(form)
        .map_or_else(|| form.to_string(), |d| d.title.get(v.lang).to_string())
}

/// A problem in words, as `jkda-hub report` says it: the item's label and
/// what is wrong.
fn problem_words(v: &View, form: &str, item: &str, code: &str) -> (String, String) {
    let (label, what) = describe_problem(form, item, code, v.forms, v.t);
    let label = if label.is_empty() { v.t("whole_record") } else { label };
    (label, what)
}

fn level_tag(v: &View, error: bool) -> String {
    if error {
        format!(r#"<span class="tag bad">{}</span>"#, escape(&v.t("error")))
    } else {
        format!(r#"<span class="tag warn">{}</span>"#, escape(&v.t("warning")))
    }
}

pub fn site_page(report: &Report, s: &SiteReport, spots: &[SpotItem], records: &[RecordProblems], v: &View) -> String {
    let mut b = String::with_capacity(16 * 1024);
    let title = format!("{} ({})", s.name, s.code);
    let _ = write!(b, "<h1>{}</h1>", escape(&title));
    let _ = write!(
        b,
        r#"<p>{}</p>"#,
        escape(&v.tf(
            "site_summary",
            &[
                ("period", &v.period_text(&report.period)),
                ("rank", &s.rank.to_string()),
                ("sites", &report.sites.len().to_string()),
                ("score", &format!("{:.1}", s.score)),
            ]
        ))
    );
    if s.flagged {
        let _ = write!(b, r#"<div class="alert"><h2>{}</h2><ul>"#, escape(&v.t("flagged_site")));
        for r in &s.reasons {
            let _ = write!(b, "<li>{}</li>", escape(&reason_text(v, r)));
        }
        if s.reasons.is_empty() {
            let _ = write!(b, "<li>{}</li>", escape(&v.t("no_reason")));
        }
        b.push_str("</ul></div>");
    }

    charts(&mut b, s, v);
    figures(&mut b, report, s, v);
    problems(&mut b, s, v);
    flags(&mut b, &s.authenticity, v);
    indicators(&mut b, s, v);
    spot_list(&mut b, s, spots, v);
    own_records(&mut b, records, v);
    frame(v, &title, &format!("/supervision/site/{}", s.code), &b)
}

fn charts(b: &mut String, s: &SiteReport, v: &View) {
    let _ = write!(b, r#"<h2>{}</h2><div class="charts">"#, escape(&v.t("overview")));
    let _ = write!(
        b,
        "<figure><figcaption>{}</figcaption>{}</figure>",
        escape(&v.t("components")),
        super::html::component_bars(v, s)
    );
    let months: Vec<String> = s.trend.iter().map(|m| m.month.clone()).collect();
    let series = vec![
        (v.t("score"), s.trend.iter().map(|m| m.score).collect()),
        (
            v.t("timely_share"),
            s.trend.iter().map(|m| m.timely_share.map(|x| x * 100.0)).collect(),
        ),
        (
            v.t("clean_share"),
            s.trend.iter().map(|m| m.clean_share.map(|x| x * 100.0)).collect(),
        ),
    ];
    let legend: String = series
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!(r#"<span><i class="s{i}"></i>{}</span>"#, escape(name)))
        .collect();
    let _ = write!(
        b,
        r#"<figure><figcaption>{}</figcaption>{}<div class="legend">{legend}</div></figure>"#,
        escape(&v.t("trend")),
        svg::lines(&v.t("trend"), &months, &series)
    );
    let counts: Vec<u64> = s.trend.iter().map(|m| m.records).collect();
    let _ = write!(
        b,
        "<figure><figcaption>{}</figcaption>{}</figure>",
        escape(&v.t("records_by_month")),
        svg::columns(&v.t("records_by_month"), &months, &counts)
    );
    let weeks: Vec<String> = s
        .progress
        .by_week
        .iter()
        .map(|w| w.week_start.format("%m-%d").to_string())
        .collect();
    let per_week: Vec<u64> = s.progress.by_week.iter().map(|w| w.count).collect();
    let _ = write!(
        b,
        "<figure><figcaption>{}</figcaption>{}</figure></div>",
        escape(&v.t("registrations_by_week")),
        svg::columns(&v.t("registrations_by_week"), &weeks, &per_week)
    );
}

fn figures(b: &mut String, report: &Report, s: &SiteReport, v: &View) {
    let p = &s.progress;
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("progress")));
    card_row(
        b,
        &[
            (
                v.t("population"),
                p.population.map_or_else(|| "—".into(), |n| n.to_string()),
            ),
            (v.t("target_rate"), pct(p.target_rate)),
            (v.t("residents"), p.residents.to_string()),
            (v.t("complete"), p.complete.to_string()),
            (v.t("record_rate"), pct(p.rate)),
        ],
    );
    let t = &s.timeliness;
    let c = &report.city;
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("timeliness")));
    card_row(
        b,
        &[
            (v.t("records"), t.records.to_string()),
            (
                v.tf("timely_within", &[("days", &report.settings.timely_days.to_string())]),
                format!("{} / {}", t.timely, pct(t.timely_share)),
            ),
            (v.t("city_timely_share"), pct(Some(c.timely_share))),
            (v.t("median_lag"), num1(t.median_lag_days)),
            (v.t("p90_lag"), num1(t.p90_lag_days)),
        ],
    );
    let q = &s.quality;
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("quality")));
    card_row(
        b,
        &[
            (v.t("records"), q.records.to_string()),
            (v.t("clean_share"), format!("{} / {}", q.clean, pct(q.clean_share))),
            (v.t("city_clean_share"), pct(Some(c.clean_share))),
            (v.t("errors_per_100"), num1(q.errors_per_100)),
            (v.t("warnings_per_100"), num1(q.warnings_per_100)),
            (
                v.t("spot_checks"),
                v.tf(
                    "spot_checks_value",
                    &[
                        ("checked", &q.spot_checked.to_string()),
                        ("failed", &q.spot_failed.to_string()),
                    ],
                ),
            ),
        ],
    );
}

fn problems(b: &mut String, s: &SiteReport, v: &View) {
    let _ = write!(b, "<h3>{}</h3>", escape(&v.t("top_problems")));
    if s.quality.top_problems.is_empty() {
        let _ = write!(b, r#"<p class="muted">{}</p>"#, escape(&v.t("no_problems")));
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        escape(&v.t("form")),
        escape(&v.t("item")),
        escape(&v.t("problem_col")),
        escape(&v.t("level")),
        escape(&v.t("count")),
    );
    for p in &s.quality.top_problems {
        let (label, what) = problem_words(v, &p.form, &p.item, &p.code);
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
            escape(&form_title(v, &p.form)),
            escape(&label),
            escape(&what),
            level_tag(v, p.error),
            p.count
        );
    }
    b.push_str("</tbody></table></div>");
}

fn flags(b: &mut String, list: &[Flag], v: &View) {
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("authenticity")));
    if list.is_empty() {
        let _ = write!(b, r#"<p class="muted">{}</p>"#, escape(&v.t("no_flags")));
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table><thead><tr><th>{}</th><th class="n">{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        escape(&v.t("flag_col")),
        escape(&v.t("count")),
        escape(&v.t("detail")),
        escape(&v.t("records_concerned")),
    );
    for f in list {
        let detail = match (f.share, f.day) {
            (Some(share), _) => v.tf("flag_share", &[("share", &pct(Some(share)))]),
            (None, Some(day)) => v.tf("flag_day", &[("day", &day.to_string())]),
            _ => String::new(),
        };
        let ids: Vec<String> = f.records.iter().map(|r| escape(r)).collect();
        let _ = write!(
            b,
            r#"<tr><td>{}<br><span class="muted small">{}</span></td><td class="n">{}</td><td>{}</td><td class="id">{}</td></tr>"#,
            escape(&v.t(&format!("flag.{}", f.kind.key()))),
            escape(&v.t(&format!("flag_hint.{}", f.kind.key()))),
            f.count,
            escape(&detail),
            ids.join("<br>"),
        );
    }
    b.push_str("</tbody></table></div>");
}

fn indicators(b: &mut String, s: &SiteReport, v: &View) {
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("indicators")));
    if s.indicators.is_empty() {
        let _ = write!(b, r#"<p class="muted">{}</p>"#, escape(&v.t("no_indicators")));
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table><thead><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        escape(&v.t("programme")),
        escape(&v.t("managed")),
        escape(&v.t("standardised_rate")),
        escape(&v.t("control_rate")),
        escape(&v.t("exam_rate")),
    );
    for p in programmes(std::iter::once(&s.indicators)) {
        let Some(k) = s.indicators.iter().find(|k| k.programme == p) else {
            continue;
        };
        let figure = |rate: f64, n: u64| {
            if k.managed == 0 {
                "—".to_string()
            } else {
                format!("{} ({n})", pct(Some(rate)))
            }
        };
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            escape(programme_name(v, k.programme)),
            k.managed,
            figure(k.standardised_rate, k.standardised),
            figure(k.control_rate, k.controlled),
            figure(k.exam_rate, k.examined),
        );
    }
    b.push_str("</tbody></table></div>");
}

/// The bureau sees the whole sample with a form per record; the site sees
/// only the records already checked, so it cannot learn the sample before
/// the visit.
fn spot_list(b: &mut String, s: &SiteReport, spots: &[SpotItem], v: &View) {
    let bureau = v.is_bureau();
    let shown: Vec<(usize, &SpotItem)> = spots
        .iter()
        .enumerate()
        .filter(|(_, i)| bureau || i.result.is_some())
        .collect();
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("spot_list")));
    let _ = write!(
        b,
        r#"<p class="muted small">{}</p>"#,
        escape(&v.t(if bureau {
            "spot_explained"
        } else {
            "spot_explained_site"
        }))
    );
    if shown.is_empty() {
        let _ = write!(b, r#"<p class="muted">{}</p>"#, escape(&v.t("no_spot_items")));
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table class="spot"><thead><tr><th class="n">#</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        escape(&v.t("record")),
        escape(&v.t("to_verify")),
        escape(&v.t("result")),
    );
    let action = format!("/supervision/site/{}/spotcheck", escape(&s.code));
    for (i, item) in shown {
        let who = [item.resident_name.as_deref(), item.record_no.as_deref()]
            .into_iter()
            .flatten()
            .map(escape)
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = write!(
            b,
            r#"<tr id="spot-{}"><td class="n">{}</td><td><strong>{}</strong><br>{}<br>{}<div class="id">{}</div></td><td><ul class="checks">"#,
            i + 1,
            i + 1,
            escape(&form_title(v, &item.form)),
            item.visit_date.map_or_else(|| "—".into(), |d| d.to_string()),
            who,
            escape(&item.record),
        );
        for (label, value) in item.checks.iter() {
            let _ = write!(b, "<li>{}：{}</li>", escape(label), escape(value));
        }
        b.push_str("</ul></td><td>");
        if let Some(r) = &item.result {
            let _ = write!(
                b,
                r#"<span class="{}">{}</span> {}<br><span class="muted small">{}</span>"#,
                if r.passed { "pass" } else { "fail" },
                escape(&v.t(if r.passed { "passed" } else { "failed" })),
                escape(&r.note),
                escape(&v.tf(
                    "checked_by",
                    &[("day", &r.checked_on.to_string()), ("checker", &r.checker)]
                )),
            );
        }
        if bureau && item.result.is_none() {
            // The form does not print; a printed list gets boxes to tick.
            let _ = write!(
                b,
                r#"<span class="printonly">□ {} □ {} {}：</span>"#,
                escape(&v.t("passed")),
                escape(&v.t("failed")),
                escape(&v.t("note")),
            );
        }
        if bureau {
            let passed = item.result.as_ref().map(|r| r.passed);
            let _ = write!(
                b,
                r#"<form class="spot" method="post" action="{action}"><input type="hidden" name="record" value="{}"><input type="hidden" name="period" value="{}"><input type="hidden" name="lang" value="{}"><label><input type="radio" name="result" value="pass" required{}> {}</label><label><input type="radio" name="result" value="fail"{}> {}</label><input type="text" name="note" maxlength="500" value="{}" placeholder="{}" aria-label="{}"><button type="submit">{}</button></form>"#,
                escape(&item.record),
                escape(v.period),
                v.lang.code(),
                if passed == Some(true) { " checked" } else { "" },
                escape(&v.t("passed")),
                if passed == Some(false) { " checked" } else { "" },
                escape(&v.t("failed")),
                escape(item.result.as_ref().map_or("", |r| r.note.as_str())),
                escape(&v.t("note")),
                escape(&v.t("note")),
                escape(&v.t(if item.result.is_some() { "save_again" } else { "save" })),
            );
        }
        b.push_str("</td></tr>");
    }
    b.push_str("</tbody></table></div>");
}

fn own_records(b: &mut String, records: &[RecordProblems], v: &View) {
    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("own_records")));
    if records.is_empty() {
        let _ = write!(b, r#"<p class="muted">{}</p>"#, escape(&v.t("no_own_records")));
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        escape(&v.t("visit_date")),
        escape(&v.t("form")),
        escape(&v.t("findings")),
        escape(&v.t("record_id")),
    );
    for (id, date, form, list) in records {
        let _ = write!(
            b,
            r#"<tr><td class="nowrap">{}</td><td>{}</td><td><ul class="checks">"#,
            date.map_or_else(|| "—".into(), |d| d.to_string()),
            escape(&form_title(v, form)),
        );
        for p in list {
            let (label, what) = problem_words(v, form, &p.item, &p.code);
            let _ = write!(
                b,
                "<li>{} {}：{}</li>",
                level_tag(v, p.level == Level::Error),
                escape(&label),
                escape(&what),
            );
        }
        let _ = write!(b, r#"</ul></td><td class="id">{}</td></tr>"#, escape(id));
    }
    b.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn problems_are_described_in_words_with_the_items_label() {
        fixtures::with_view(Lang::Zh, &fixtures::bureau(), |v| {
            let def = v.forms.get("hypertension-followup").unwrap();
            let (label, what) = problem_words(v, &def.id, "bp", "rules.required");
            assert_eq!(label, def.field("bp").unwrap().label.zh);
            assert_eq!(what, "必填项未填");
            assert_eq!(problem_words(v, "x", "", "unknown_form").0, "整份记录");
            String::new()
        });
    }

    #[test]
    fn the_site_page_shows_the_spot_sample_to_the_bureau_only() {
        let report = fixtures::report();
        let s = &report.sites[0];
        let spots = fixtures::spots();
        let records = fixtures::records();
        let bureau = fixtures::with_view(Lang::Zh, &fixtures::bureau(), |v| {
            site_page(&report, s, &spots, &records, v)
        });
        assert_eq!(bureau.matches(r#"<form class="spot""#).count(), spots.len());
        assert!(bureau.contains("张三") && bureau.contains("李四"));
        assert!(bureau.contains("收缩压"), "{bureau}");
        let site = fixtures::with_view(Lang::Zh, &fixtures::Viewer::Site(s.code.clone()), |v| {
            site_page(&report, s, &spots, &records, v)
        });
        assert!(!site.contains(r#"<form class="spot""#));
        assert!(site.contains("李四"), "the checked record, with its result");
        assert!(!site.contains("张三"), "the unchecked record stays hidden");
        assert!(!site.contains("/supervision?period"), "no link to the ranking");
        for html in [&bureau, &site] {
            assert!(!html.contains("<script") && !html.contains("hub.web."));
            assert_eq!(html.matches("<svg").count(), 4, "components, trend, months, weeks");
        }
    }
}
