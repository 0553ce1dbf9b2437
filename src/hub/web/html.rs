//! The supervision pages as HTML text: the shared frame (one inlined
//! stylesheet, no script), the ranked table, and small formatting helpers.
//! Pure functions of the report and a [`View`]; every value from the data
//! goes through [`escape`]. The site page is in `site.rs`.

use super::svg;
use crate::form::Registry;
use crate::i18n::{I18n, Lang};
use crate::manage::kpi::ProgrammeKpi;
use crate::supervise::model::{Reason, Report, SiteReport, UnitIndicators};
use std::fmt::Write;

const STYLE: &str = include_str!("style.css");

/// Text made safe to put in HTML, in element content and in quoted
/// attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who is looking: a bureau account sees everything and enters spot-check
/// results; a site sees its own page only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Bureau(String),
    Site(String),
}

/// What every page needs besides its data.
pub struct View<'a> {
    pub t: &'a I18n,
    pub lang: Lang,
    /// The month shown, `YYYY-MM` (checked before it gets here).
    pub period: &'a str,
    pub forms: &'a Registry,
    pub viewer: &'a Viewer,
    /// When the figures were computed, the city's local time.
    pub computed_at: &'a str,
}

impl View<'_> {
    /// The text of `hub.web.<key>`; a missing key shows itself.
    pub fn t(&self, key: &str) -> String {
        let full = format!("hub.web.{key}");
        self.t.lookup(&full).map_or(full, str::to_string)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.t.tf(&format!("hub.web.{key}"), args)
    }

    /// A link to `path` keeping the period and the language.
    pub fn href(&self, path: &str) -> String {
        self.href_for(path, self.period, self.lang)
    }

    pub fn href_for(&self, path: &str, period: &str, lang: Lang) -> String {
        let mut h = format!("{path}?period={}", escape(period));
        if lang == Lang::En {
            h.push_str("&amp;lang=en");
        }
        h
    }

    /// `2026年11月` / `November 2026`.
    pub fn period_text(&self, period: &str) -> String {
        let (y, m) = period.split_once('-').unwrap_or((period, ""));
        let month = m.trim_start_matches('0');
        let name = self.t(&format!("month.{month}"));
        self.tf("period_text", &[("year", y), ("month", month), ("month_name", &name)])
    }

    pub fn is_bureau(&self) -> bool {
        matches!(self.viewer, Viewer::Bureau(_))
    }
}

/// The month before and after `YYYY-MM`.
pub fn neighbours(period: &str) -> Option<(String, String)> {
    let d = chrono::NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
    let prev = d.checked_sub_months(chrono::Months::new(1))?;
    let next = d.checked_add_months(chrono::Months::new(1))?;
    Some((prev.format("%Y-%m").to_string(), next.format("%Y-%m").to_string()))
}

/// The frame of every page: head with the stylesheet, the bar with the
/// month picker (a plain GET form) and the language switch, then `body`.
/// `here` is the path the month picker and the language link point at.
pub fn frame(v: &View, title: &str, here: &str, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + STYLE.len() + 2048);
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head><body><header class="top">"#,
        v.lang.code(),
        escape(title),
    );
    if v.is_bureau() {
        let _ = write!(
            s,
            r#"<a class="brand" href="{}">{}</a>"#,
            v.href("/supervision"),
            escape(&v.t("brand"))
        );
    } else {
        let _ = write!(s, r#"<span class="brand">{}</span>"#, escape(&v.t("brand")));
    }
    if let Some((prev, next)) = neighbours(v.period) {
        let _ = write!(
            s,
            r#"<a href="{}">‹ {}</a><form method="get" action="{}"><label>{} <input type="month" name="period" value="{}" pattern="[0-9]{{4}}-[0-9]{{2}}" required></label>"#,
            v.href_for(here, &prev, v.lang),
            escape(&v.t("prev_month")),
            escape(here),
            escape(&v.t("month_label")),
            escape(v.period),
        );
        if v.lang == Lang::En {
            s.push_str(r#"<input type="hidden" name="lang" value="en">"#);
        }
        let _ = write!(
            s,
            r#"<button type="submit">{}</button></form><a href="{}">{} ›</a>"#,
            escape(&v.t("show")),
            v.href_for(here, &next, v.lang),
            escape(&v.t("next_month")),
        );
    }
    let other = if v.lang == Lang::En { Lang::Zh } else { Lang::En };
    let _ = write!(
        s,
        r#"<a href="{}" lang="{}">{}</a>"#,
        v.href_for(here, v.period, other),
        other.code(),
        escape(&v.t("other_language"))
    );
    let who = match v.viewer {
        Viewer::Bureau(name) => v.tf("signed_in_bureau", &[("name", &escape(name))]),
        Viewer::Site(code) => v.tf("signed_in_site", &[("code", &escape(code))]),
    };
    let _ = write!(s, r#"<span class="who">{who}</span></header><main>{body}</main>"#);
    let _ = write!(
        s,
        "<footer>{}</footer></body></html>",
        escape(&v.tf("footer", &[("time", v.computed_at)]))
    );
    s
}

/// A page saying what went wrong, in the same frame minus navigation.
pub fn message_page(t: &I18n, lang: Lang, title: &str, text: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head><body><header class="top"><span class="brand">{}</span></header><main><div class="errorbox"><h1>{}</h1><p>{}</p></div></main></body></html>"#,
        lang.code(),
        escape(title),
        escape(t.t("hub.web.brand")),
        escape(title),
        escape(text)
    )
}

pub fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), |x| format!("{:.1}%", x * 100.0))
}

pub fn num1(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), |x| format!("{x:.1}"))
}

/// A component (0..=1) as points out of 100.
pub fn points(x: Option<f64>) -> String {
    num1(x.map(|x| x * 100.0))
}

pub fn programme_name<'a>(v: &'a View, key: &'a str) -> &'a str {
    v.t.lookup(&format!("programme.{key}")).unwrap_or(key)
}

/// The programmes that appear in any of `lists`: hypertension, diabetes,
/// then any other in order of appearance.
pub fn programmes<'a>(lists: impl Iterator<Item = &'a Vec<ProgrammeKpi>>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for list in lists {
        for k in list {
            if !out.contains(&k.programme) {
                out.push(k.programme);
            }
        }
    }
    let rank = |p: &str| ["hypertension", "diabetes"].iter().position(|k| *k == p).unwrap_or(2);
    out.sort_by_key(|p| rank(p));
    out
}

/// A programme's rate, or "—" when nobody is under management.
pub fn rate_of(k: Option<&ProgrammeKpi>, rate: impl Fn(&ProgrammeKpi) -> f64) -> String {
    match k.filter(|k| k.managed > 0) {
        Some(k) => pct(Some(rate(k))),
        None => "—".into(),
    }
}

/// A reason a site ranks low, in words (the same as `jkda-hub report`).
pub fn reason_text(v: &View, r: &Reason) -> String {
    crate::supervise::text::reason_text(r, v.t)
}

fn kpi_of<'a>(list: &'a [ProgrammeKpi], programme: &str) -> Option<&'a ProgrammeKpi> {
    list.iter().find(|k| k.programme == programme)
}

/// Figures as a row of cards: (what, value).
pub fn card_row(b: &mut String, cards: &[(String, String)]) {
    b.push_str(r#"<div class="cards">"#);
    for (key, value) in cards {
        let _ = write!(
            b,
            r#"<div class="card"><div class="v">{}</div><div class="k">{}</div></div>"#,
            escape(value),
            escape(key)
        );
    }
    b.push_str("</div>");
}

/// `GET /supervision`: the city's figures, the bottom three, the ranked
/// table, and the township and county indicators.
pub fn ranked_page(report: &Report, v: &View) -> String {
    let mut b = String::with_capacity(4096 + report.sites.len() * 1200);
    let period = v.period_text(&report.period);
    let title = v.tf("ranking_title", &[("period", &period)]);
    let _ = write!(b, "<h1>{}</h1>", escape(&title));
    let w = &report.settings.weights;
    let _ = write!(
        b,
        r#"<p class="muted small">{}</p>"#,
        escape(&v.tf(
            "ranking_explained",
            &[
                ("start", &report.period_start.to_string()),
                ("end", &report.period_end.to_string()),
                ("days", &report.settings.timely_days.to_string()),
                ("wt", &format!("{}", w.timeliness)),
                ("wq", &format!("{}", w.quality)),
                ("wi", &format!("{}", w.indicators)),
                ("wp", &format!("{}", w.progress)),
                ("year", &report.indicator_year.to_string()),
            ]
        ))
    );

    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("city_figures")));
    let c = &report.city;
    card_row(
        &mut b,
        &[
            (v.t("sites"), report.sites.len().to_string()),
            (v.t("records"), c.records.to_string()),
            (v.t("timely_share"), pct(Some(c.timely_share))),
            (v.t("clean_share"), pct(Some(c.clean_share))),
            (v.t("standardised_rate"), pct(Some(c.standardised_rate))),
            (v.t("control_rate"), pct(Some(c.control_rate))),
        ],
    );

    let flagged: Vec<&SiteReport> = report.sites.iter().filter(|s| s.flagged).collect();
    if !flagged.is_empty() {
        let _ = write!(b, r#"<div class="alert"><h2>{}</h2><ul>"#, escape(&v.t("bottom_three")));
        for s in flagged {
            let reasons: Vec<String> = s.reasons.iter().map(|r| escape(&reason_text(v, r))).collect();
            let _ = write!(
                b,
                r#"<li><strong>{}. <a href="{}">{}</a></strong> <span class="muted">{}</span> — {}</li>"#,
                s.rank,
                v.href(&format!("/supervision/site/{}", escape(&s.code))),
                escape(&s.name),
                escape(&s.code),
                if reasons.is_empty() {
                    escape(&v.t("no_reason"))
                } else {
                    reasons.join("；")
                }
            );
        }
        b.push_str("</ul></div>");
    }

    let _ = write!(b, "<h2>{}</h2>", escape(&v.t("ranking")));
    ranked_table(&mut b, report, v);

    for (key, units) in [("townships", &report.townships), ("counties", &report.counties)] {
        let _ = write!(b, "<h2>{}</h2>", escape(&v.t(key)));
        unit_table(&mut b, units, v);
    }
    frame(v, &title, "/supervision", &b)
}

fn ranked_table(b: &mut String, report: &Report, v: &View) {
    let progs = programmes(report.sites.iter().map(|s| &s.indicators));
    if report.sites.is_empty() {
        let _ = write!(b, "<p>{}</p>", escape(&v.t("no_sites")));
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table class="ranked"><thead><tr><th rowspan="2" class="n">{}</th><th rowspan="2">{}</th><th rowspan="2" class="n">{}</th><th colspan="4" class="g">{}</th><th colspan="4" class="g">{}</th><th colspan="2" class="g">{}</th>"#,
        escape(&v.t("rank")),
        escape(&v.t("site")),
        escape(&v.t("score")),
        escape(&v.t("components")),
        escape(&v.t("timeliness")),
        escape(&v.t("quality")),
    );
    for p in &progs {
        let _ = write!(b, r#"<th colspan="2" class="g">{}</th>"#, escape(programme_name(v, p)));
    }
    b.push_str("</tr><tr>");
    for key in [
        "c_timeliness",
        "c_quality",
        "c_indicators",
        "c_progress",
        "records",
        "timely_share",
        "median_lag",
        "p90_lag",
        "clean_share",
        "errors_per_100",
    ] {
        let _ = write!(b, r#"<th class="n">{}</th>"#, escape(&v.t(key)));
    }
    for _ in &progs {
        let _ = write!(
            b,
            r#"<th class="n">{}</th><th class="n">{}</th>"#,
            escape(&v.t("standardised_rate")),
            escape(&v.t("control_rate"))
        );
    }
    b.push_str("</tr></thead><tbody>");
    for s in &report.sites {
        let _ = write!(
            b,
            r#"<tr{}><td class="n">{}</td><td><a href="{}">{}</a><br><span class="muted small">{}</span>{}</td><td class="n"><strong>{:.1}</strong></td>"#,
            if s.flagged { r#" class="flagged""# } else { "" },
            s.rank,
            v.href(&format!("/supervision/site/{}", escape(&s.code))),
            escape(&s.name),
            escape(&s.code),
            if s.flagged {
                format!(r#" <span class="tag bad">{}</span>"#, escape(&v.t("flagged")))
            } else {
                String::new()
            },
            s.score,
        );
        let c = &s.components;
        for x in [Some(c.timeliness), Some(c.quality), Some(c.indicators), c.progress] {
            let _ = write!(b, r#"<td class="n">{}</td>"#, points(x));
        }
        let t = &s.timeliness;
        let q = &s.quality;
        for cell in [
            t.records.to_string(),
            pct(t.timely_share),
            num1(t.median_lag_days),
            num1(t.p90_lag_days),
            pct(q.clean_share),
            num1(q.errors_per_100),
        ] {
            let _ = write!(b, r#"<td class="n">{cell}</td>"#);
        }
        for p in &progs {
            let k = kpi_of(&s.indicators, p);
            let _ = write!(
                b,
                r#"<td class="n">{}</td><td class="n">{}</td>"#,
                rate_of(k, |k| k.standardised_rate),
                rate_of(k, |k| k.control_rate)
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></div>");
    let _ = write!(b, r#"<p class="muted small">{}</p>"#, escape(&v.t("ranked_note")));
}

/// Indicators per township or county.
pub fn unit_table(b: &mut String, units: &[UnitIndicators], v: &View) {
    if units.is_empty() {
        let _ = write!(b, "<p class=\"muted\">{}</p>", escape(&v.t("no_units")));
        return;
    }
    let progs = programmes(units.iter().map(|u| &u.indicators));
    let _ = write!(
        b,
        r#"<div class="scroll"><table><thead><tr><th rowspan="2">{}</th><th rowspan="2" class="n">{}</th>"#,
        escape(&v.t("unit_code")),
        escape(&v.t("sites"))
    );
    for p in &progs {
        let _ = write!(b, r#"<th colspan="3" class="g">{}</th>"#, escape(programme_name(v, p)));
    }
    b.push_str("</tr><tr>");
    for _ in &progs {
        let _ = write!(
            b,
            r#"<th class="n">{}</th><th class="n">{}</th><th class="n">{}</th>"#,
            escape(&v.t("managed")),
            escape(&v.t("standardised_rate")),
            escape(&v.t("control_rate"))
        );
    }
    b.push_str("</tr></thead><tbody>");
    for u in units {
        let _ = write!(
            b,
            r#"<tr><td class="id">{}</td><td class="n">{}</td>"#,
            escape(&u.code),
            u.sites
        );
        for p in &progs {
            let k = kpi_of(&u.indicators, p);
            let _ = write!(
                b,
                r#"<td class="n">{}</td><td class="n">{}</td><td class="n">{}</td>"#,
                k.map_or(0, |k| k.managed),
                rate_of(k, |k| k.standardised_rate),
                rate_of(k, |k| k.control_rate)
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></div>");
}

/// The components of one site as bars out of 100.
pub fn component_bars(v: &View, s: &SiteReport) -> String {
    let c = &s.components;
    let items: Vec<(String, Option<f64>, String)> = [
        ("c_timeliness", Some(c.timeliness)),
        ("c_quality", Some(c.quality)),
        ("c_indicators", Some(c.indicators)),
        ("c_progress", c.progress),
    ]
    .into_iter()
    .map(|(k, x)| (v.t(k), x.map(|x| x * 100.0), points(x)))
    .collect();
    svg::hbars(&v.t("components"), &items, 100.0, &v.t("no_population"))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<script>alert("x&y's")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("东山村卫生室"), "东山村卫生室");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn the_ranked_page_shows_every_site_and_flags_the_bottom_three() {
        let report = fixtures::report();
        for lang in [Lang::Zh, Lang::En] {
            let html = fixtures::with_view(lang, &fixtures::bureau(), |v| ranked_page(&report, v));
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(!html.contains("<script"), "no script, and names escaped");
            assert!(
                html.contains("&lt;script&gt;"),
                "the hostile site name is shown escaped"
            );
            for s in &report.sites {
                assert!(html.contains(&format!("/supervision/site/{}?period=2026-11", s.code)));
            }
            assert_eq!(html.matches(r#"<tr class="flagged">"#).count(), 3);
            assert!(!html.contains("hub.web."), "a key without text in {lang:?}");
            assert!(html.contains("81.3%"), "the city's timely share");
        }
        let zh = fixtures::with_view(Lang::Zh, &fixtures::bureau(), |v| ranked_page(&report, v));
        assert!(zh.contains("规范管理率") && zh.contains("2026年11月"));
        assert!(zh.contains("录入不及时 42%（全市 81%）"), "a reason in words: {zh}");
    }
}
