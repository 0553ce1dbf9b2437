//! The worklist and the clinic's indicators: a table of who is due, most
//! urgent first; the year's (or quarter's) figures with follow-ups per month
//! and rates per village as bar charts, and the residents behind a figure.
//! 16 colours, readable without colour: every figure is also a number.

use super::text::{pad, width};
use super::View;
use crate::app::manage_screens::{KpiState, WorklistState, KPI_ROWS};
use crate::app::App;
use crate::form::def::Programme;
use crate::manage::worklist::Kind;
use crate::store::care_read::{GroupKpi, Measure};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph};
use ratatui::Frame;

fn programme_name(v: &View, p: Option<&str>) -> String {
    match p {
        Some(p) => v.i18n.t(&format!("programme.{p}")).to_string(),
        None => v.i18n.t("manage.older_adults").to_string(),
    }
}

/// The programme in a table column: the short name ("HT", "高血压").
fn programme_short(v: &View, p: Option<&str>) -> String {
    match p {
        Some(p) => v.i18n.t(&format!("manage.short.{p}")).to_string(),
        None => v.i18n.t("manage.older_adults").to_string(),
    }
}

fn filter_line(v: &View, programme: Option<&str>, village: Option<(&str, &str)>) -> String {
    let all = v.i18n.t("manage.screen.all");
    let p = programme
        .map(|p| programme_name(v, Some(p)))
        .unwrap_or_else(|| all.to_string());
    let vil = village
        .map(|(c, n)| format!("{c} {n}"))
        .unwrap_or_else(|| all.to_string());
    v.i18n
        .tf("manage.screen.filter", &[("programme", &p), ("village", &vil)])
}

pub fn worklist(frame: &mut Frame, area: Rect, app: &App, w: &WorklistState, v: &View) {
    let village = w.village.as_deref().map(|c| {
        let name = w.villages.iter().find(|x| x.0 == c).map(|x| x.1.as_str()).unwrap_or("");
        (c, name)
    });
    let mut lines = vec![Line::styled(
        filter_line(v, w.programme.map(|p| p.key()), village),
        v.theme.dim(),
    )];
    // Counts per kind, in urgency order.
    let counts: Vec<String> = w
        .counts
        .iter()
        .map(|(k, n)| format!("{} {n}", v.i18n.t(&format!("manage.kind.{}", k.key()))))
        .collect();
    // The counts wrap rather than lose a kind at 80 columns.
    let mut line = String::new();
    for c in counts {
        if !line.is_empty() && width(&line) + 2 + width(&c) > area.width as usize {
            lines.push(Line::styled(std::mem::take(&mut line), v.theme.heading()));
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(&c);
    }
    lines.push(Line::styled(line, v.theme.heading()));
    lines.push(Line::styled(
        format!(
            "{} {} {} {} {} {} {}",
            pad(v.i18n.t("manage.worklist.col_kind"), 14),
            pad(v.i18n.t("list.col_name"), 10),
            pad(v.i18n.t("list.col_age"), 4),
            pad(v.i18n.t("manage.worklist.col_village"), 10),
            pad(v.i18n.t("manage.worklist.col_programme"), 10),
            pad(v.i18n.t("manage.worklist.col_due"), 10),
            v.i18n.t("manage.worklist.col_overdue")
        ),
        v.theme.heading(),
    ));
    if w.loaded && w.items.is_empty() {
        lines.push(Line::styled(v.i18n.t("manage.worklist.empty"), v.theme.dim()));
    }
    let avail = (area.height as usize).saturating_sub(lines.len());
    let offset = w.selected.checked_div(avail).map_or(0, |page| page * avail);
    for (i, item) in w.items.iter().enumerate().skip(offset).take(avail) {
        let text = format!(
            "{} {} {} {} {} {} {}",
            pad(v.i18n.t(&format!("manage.kind.{}", item.kind.key())), 14),
            pad(&item.name, 10),
            pad(&item.age.map(|a| a.to_string()).unwrap_or_default(), 4),
            pad(&item.village, 10),
            pad(&programme_short(v, item.programme), 10),
            pad(
                &item.due.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                10
            ),
            if item.days_overdue > 0 {
                item.days_overdue.to_string()
            } else {
                String::new()
            }
        );
        let style = if i == w.selected {
            v.theme.selected()
        } else if matches!(item.kind, Kind::Referral | Kind::Overdue) {
            v.theme.warning()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    let _ = app;
    frame.render_widget(Paragraph::new(lines), area);
}

fn measure_label<'a>(v: &'a View, m: Measure) -> &'a str {
    v.i18n.t(match m {
        Measure::Managed => "manage.screen.managed",
        Measure::Standardised | Measure::NotStandardised => "manage.screen.standardised",
        Measure::Controlled | Measure::NotControlled => "manage.screen.controlled",
        Measure::Examined | Measure::NotExamined => "manage.screen.examined",
    })
}

/// The programme and measure of an indicator row; the first row for an
/// index past the table (a stale message), rather than a panic.
fn kpi_row(row: usize) -> (Programme, Measure) {
    KPI_ROWS
        .get(row)
        .copied()
        .unwrap_or((Programme::Hypertension, Measure::Managed))
}

fn figure(g: &GroupKpi, row: usize) -> (u64, Option<f64>) {
    let (programme, measure) = kpi_row(row);
    let Some(p) = g.programmes.iter().find(|p| p.programme == programme.key()) else {
        return (0, None);
    };
    match measure {
        Measure::Managed => (p.managed, None),
        Measure::Standardised | Measure::NotStandardised => (p.standardised, Some(p.standardised_rate)),
        Measure::Controlled | Measure::NotControlled => (p.controlled, Some(p.control_rate)),
        Measure::Examined | Measure::NotExamined => (p.examined, Some(p.exam_rate)),
    }
}

pub fn kpi(frame: &mut Frame, area: Rect, k: &KpiState, keys: &crate::keymap::Keymap, v: &View) {
    let period = match k.quarter {
        Some(q) => v.i18n.tf(
            "manage.screen.quarter",
            &[("year", &k.year.to_string()), ("q", &q.to_string())],
        ),
        None => v.i18n.tf("manage.screen.year", &[("year", &k.year.to_string())]),
    };
    let village = k.village.as_deref().map(|c| {
        let name = k.villages.iter().find(|x| x.0 == c).map(|x| x.1.as_str()).unwrap_or("");
        (c, name)
    });
    let mut lines = vec![Line::from(vec![
        Span::styled(period, v.theme.heading()),
        Span::raw("  "),
        Span::styled(filter_line(v, None, village), v.theme.dim()),
    ])];
    if let Some((row, rows, sel)) = &k.drill {
        let (programme, measure) = kpi_row(*row);
        lines.push(Line::styled(
            keys.fill(&v.i18n.tf(
                "manage.screen.behind",
                &[
                    ("programme", &programme_name(v, Some(programme.key()))),
                    ("figure", measure_label(v, measure)),
                    ("count", &rows.len().to_string()),
                ],
            )),
            v.theme.heading(),
        ));
        let avail = (area.height as usize).saturating_sub(lines.len());
        let offset = sel.checked_div(avail).map_or(0, |page| page * avail);
        for (i, r) in rows.iter().enumerate().skip(offset).take(avail) {
            let text = format!(
                "{} {} {} {}",
                pad(&r.name, 10),
                pad(&r.record_no, 18),
                pad(&r.phone_masked, 14),
                r.village
            );
            let style = if i == *sel {
                v.theme.selected()
            } else {
                ratatui::style::Style::new()
            };
            lines.push(Line::styled(text, style));
        }
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let Some(report) = &k.report else {
        lines.push(Line::styled(v.i18n.t("manage.screen.loading"), v.theme.dim()));
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let g = &report.figures;
    for (i, (programme, measure)) in KPI_ROWS.iter().enumerate() {
        let (n, r) = figure(g, i);
        let name = if matches!(measure, Measure::Managed) {
            programme_name(v, Some(programme.key()))
        } else {
            String::new()
        };
        let text = format!(
            "{} {} {:>7} {}",
            pad(&name, 16),
            pad(measure_label(v, *measure), 14),
            n,
            r.map(|r| format!("{:5.1}%", r * 100.0)).unwrap_or_default()
        );
        let style = if i == k.selected {
            v.theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    lines.push(Line::raw(v.i18n.tf(
        "manage.screen.older",
        &[
            ("n", &g.older_adults.to_string()),
            ("examined", &g.older_adults_examined.to_string()),
            ("rate", &format!("{:.1}%", g.older_adults_exam_rate * 100.0)),
        ],
    )));
    let record_rate = g
        .record_rate
        .map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| v.i18n.t("manage.kpi.no_population").to_string());
    lines.push(Line::raw(v.i18n.tf(
        "manage.screen.records",
        &[
            ("n", &g.records.to_string()),
            ("record_rate", &record_rate),
            ("usage_rate", &format!("{:.1}%", g.usage_rate * 100.0)),
        ],
    )));
    let used = lines.len() as u16;
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            height: used.min(area.height),
            ..area
        },
    );
    let rest = Rect {
        y: area.y + used,
        height: area.height.saturating_sub(used),
        ..area
    };
    if rest.height < 5 {
        return;
    }
    let half = rest.width / 2;
    let left = Rect { width: half, ..rest };
    let right = Rect {
        x: rest.x + half,
        width: rest.width - half,
        ..rest
    };
    // Face-to-face follow-ups per month, both programmes.
    let months: Vec<u64> = (0..report.period.months as usize)
        .map(|m| {
            g.programmes
                .iter()
                .map(|p| p.followups_by_month.get(m).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let bars: Vec<Bar> = months
        .iter()
        .enumerate()
        .map(|(i, n)| Bar::default().value(*n).label(Line::raw(format!("{}", i + 1))))
        .collect();
    // Two columns and a gap per month fit 80 columns; a bar too narrow for
    // its number leaves it out, so the title says the highest.
    let bar_width = (left.width.saturating_sub(2) / months.len().max(1) as u16)
        .saturating_sub(1)
        .clamp(1, 5);
    let title = v.i18n.tf(
        "manage.screen.per_month",
        &[("max", &months.iter().max().copied().unwrap_or(0).to_string())],
    );
    frame.render_widget(
        BarChart::default()
            .block(Block::default().borders(Borders::TOP).title(title))
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_width)
            .bar_gap(1),
        left,
    );
    // The selected programme's control rate per village (percent).
    let selected = kpi_row(k.selected).0;
    let vbars: Vec<Bar> = report
        .villages
        .iter()
        .map(|vk| {
            let rate = vk
                .figures
                .programmes
                .iter()
                .find(|p| p.programme == selected.key())
                .map(|p| p.control_rate)
                .unwrap_or(0.0);
            let short: String = vk.name.chars().take(2).collect();
            let label = if width(&short) > 0 { short } else { vk.code.clone() };
            Bar::default()
                .value((rate * 100.0).round() as u64)
                .label(Line::raw(label))
        })
        .collect();
    let title = v.i18n.tf(
        "manage.screen.per_village",
        &[("programme", &programme_name(v, Some(selected.key())))],
    );
    frame.render_widget(
        BarChart::default()
            .block(Block::default().borders(Borders::TOP).title(title))
            .data(BarGroup::default().bars(&vbars))
            .bar_width(4)
            .bar_gap(1)
            .max(100),
        right,
    );
}
