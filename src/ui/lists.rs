//! First-run setup, the resident list and a resident's page.

use super::text::{cell, fit, pad, width};
use super::View;
use crate::app::{App, ListState, ResidentPage, SetupState};
use crate::keymap::Keymap;
use crate::store::RecordStatus;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn setup(frame: &mut Frame, area: Rect, s: &SetupState, keys: &Keymap, v: &View, show_cursor: bool) {
    let label_w = match v.i18n.lang() {
        crate::i18n::Lang::Zh => 26,
        crate::i18n::Lang::En => 33,
    };
    let mut lines = vec![
        Line::styled(v.i18n.t("setup.welcome"), v.theme.heading()),
        Line::raw(v.i18n.t("setup.explain")),
        Line::raw(""),
    ];
    let mut cursor = None;
    for (i, (key, input)) in SetupState::LABELS.iter().zip(&s.inputs).enumerate() {
        let focused = s.focus == i;
        let style = if focused { v.theme.focus() } else { v.theme.label() };
        let label = pad(v.i18n.t(key), label_w);
        if focused {
            cursor = Some((lines.len(), label_w + 1 + input.cursor_column()));
        }
        lines.push(Line::from(vec![
            Span::styled(label, style),
            Span::raw("["),
            Span::styled(pad(input.text(), 30), style),
            Span::raw("]"),
        ]));
        lines.push(Line::styled(
            format!("{}{}", " ".repeat(label_w + 1), v.i18n.t(&format!("{key}_hint"))),
            v.theme.dim(),
        ));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &s.error {
        lines.push(Line::styled(format!("x {}", v.i18n.msg(e)), v.theme.error()));
    }
    lines.push(Line::styled(keys.fill(v.i18n.t("setup.finish")), v.theme.dim()));
    frame.render_widget(Paragraph::new(lines), area);
    if let Some((y, x)) = cursor.filter(|_| show_cursor) {
        frame.set_cursor_position(Position::new(area.x + x as u16, area.y + y as u16));
    }
}

fn sex_label(v: &View, sex: Option<&str>) -> String {
    sex.map(|s| v.i18n.t(&format!("sex.{s}")).to_string())
        .unwrap_or_default()
}

fn age_of(birth: Option<&str>, today: chrono::NaiveDate) -> String {
    birth
        .and_then(|b| chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
        .and_then(|b| crate::identity::age_on(b, today))
        .map(|a| a.to_string())
        .unwrap_or_default()
}

pub fn residents(frame: &mut Frame, area: Rect, app: &App, l: &ListState, v: &View, show_cursor: bool) {
    let prompt = v.i18n.t("list.search");
    let prompt_w = super::text::width(prompt) + 1;
    // Columns keep a blank between them; the sex column is as wide as
    // "female" needs, the village takes what is left.
    let sex_w = ["sex.1", "sex.2", "list.col_sex"]
        .iter()
        .map(|k| width(v.i18n.t(k)) + 1)
        .max()
        .unwrap_or(0)
        .max(6);
    let village_w = (area.width as usize).saturating_sub(12 + sex_w + 6 + 22);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{prompt} "), v.theme.heading()),
            Span::styled(pad(l.query.text(), 40), v.theme.focus()),
        ]),
        Line::styled(v.i18n.t("list.search_hint"), v.theme.dim()),
        Line::styled(
            format!(
                "{}{}{}{}{}",
                cell(v.i18n.t("list.col_name"), 12),
                cell(v.i18n.t("list.col_sex"), sex_w),
                cell(v.i18n.t("list.col_age"), 6),
                cell(v.i18n.t("list.col_id"), 22),
                fit(v.i18n.t("list.col_village"), village_w)
            ),
            v.theme.heading(),
        ),
    ];
    if l.rows.is_empty() {
        let key = if l.query.text().is_empty() {
            "list.empty"
        } else {
            "list.no_match"
        };
        lines.push(Line::styled(app.keymap.fill(v.i18n.t(key)), v.theme.dim()));
    }
    let avail = (area.height as usize).saturating_sub(lines.len());
    let offset = l.selected.checked_div(avail).map_or(0, |page| page * avail);
    for (i, r) in l.rows.iter().enumerate().skip(offset).take(avail) {
        let mut name = r.name.clone();
        if r.status == "draft" {
            name = format!(
                "{} {}",
                if name.is_empty() { "—".into() } else { name },
                v.i18n.t("list.draft")
            );
        }
        let text = format!(
            "{}{}{}{}{}",
            cell(&name, 12),
            cell(&sex_label(v, r.sex.as_deref()), sex_w),
            cell(&age_of(r.birth_date.as_deref(), app.today), 6),
            cell(&r.id_masked, 22),
            fit(&r.village, village_w)
        );
        let style = if i == l.selected {
            v.theme.selected()
        } else {
            v.theme.label()
        };
        lines.push(Line::styled(pad(&text, area.width as usize), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
    if show_cursor {
        frame.set_cursor_position(Position::new(
            area.x + (prompt_w + l.query.cursor_column()) as u16,
            area.y,
        ));
    }
}

pub fn resident_page(frame: &mut Frame, area: Rect, app: &App, p: &ResidentPage, v: &View) {
    let r = &p.resident;
    let lang = v.i18n.lang();
    let age = age_of(r.birth_date.as_deref(), app.today);
    // Each programme with its dates; 65 and over, the older adults' too.
    let mut programmes: Vec<String> = p
        .memberships
        .iter()
        .map(|m| {
            let name = v.i18n.t(&format!("programme.{}", m.programme.key())).to_string();
            let name = name.as_str();
            match (m.left_on, m.left_reason) {
                (Some(left), Some(why)) => v.i18n.tf(
                    "resident.programme_left",
                    &[
                        ("programme", name),
                        ("since", &m.enrolled_on.to_string()),
                        ("left", &left.to_string()),
                        ("why", v.i18n.t(&format!("resident.left_{}", why.key()))),
                    ],
                ),
                _ => v.i18n.tf(
                    "resident.programme_since",
                    &[("programme", name), ("since", &m.enrolled_on.to_string())],
                ),
            }
        })
        .collect();
    if age.parse::<u32>().is_ok_and(|a| a >= 65) {
        programmes.push(v.i18n.t("manage.older_adults").to_string());
    }
    // Full numbers only here, and only for roles whose work needs them
    // (a doctor or nurse calling or identifying the resident).
    let full = app.session.as_ref().is_none_or(|s| s.role.sees_full_identifiers());
    let id_shown = match r.id_number.as_deref() {
        Some(id) if full => id.to_string(),
        Some(id) => crate::store::mask_id(id),
        None => String::new(),
    };
    let phone_shown = match r.phone.as_deref() {
        Some(p) if full => p.to_string(),
        Some(p) => crate::identity::mask_phone(p),
        None => String::new(),
    };
    let mut lines = vec![
        Line::styled(
            format!(
                "{} {} {} {} {}",
                r.name.as_deref().unwrap_or("—"),
                sex_label(v, r.sex.as_deref()),
                if age.is_empty() {
                    String::new()
                } else {
                    v.i18n.tf("form.age", &[("age", &age)])
                },
                id_shown,
                phone_shown
            ),
            v.theme.heading(),
        ),
        Line::raw(format!(
            "{} {}   {} {}",
            v.i18n.t("resident.record_no"),
            if crate::store::serials::is_provisional(&r.record_no) {
                v.i18n.tf(
                    "resident.record_no_provisional",
                    &[("record_no", &grouped(&r.record_no))],
                )
            } else {
                crate::identity::parse_record_no(&r.record_no)
                    .map(|n| n.display_grouped())
                    .unwrap_or_else(|_| r.record_no.clone())
            },
            v.i18n.t("resident.village"),
            r.village.as_deref().unwrap_or("")
        )),
    ];
    // The programmes wrap at the window's width rather than being cut.
    if programmes.is_empty() {
        programmes.push(v.i18n.t("resident.no_programme").to_string());
    }
    let sep = v.i18n.t("search.duplicates.and");
    let mut line = v.i18n.t("resident.programmes").to_string();
    for (i, item) in programmes.iter().enumerate() {
        let piece = if i == 0 && line.ends_with(':') {
            format!(" {item}")
        } else if i == 0 {
            item.clone()
        } else {
            format!("{sep}{item}")
        };
        if i > 0 && super::text::width(&line) + super::text::width(&piece) > area.width as usize {
            line.push_str(sep.trim_end());
            lines.push(Line::raw(std::mem::take(&mut line)));
            line = format!("  {item}");
        } else {
            line.push_str(&piece);
        }
    }
    lines.push(Line::raw(line));
    lines.extend([
        Line::raw(""),
        Line::styled(
            format!(
                "{}{}{}{}",
                pad(v.i18n.t("resident.col_date"), 12),
                pad(v.i18n.t("resident.col_form"), 36),
                pad(v.i18n.t("resident.col_status"), 10),
                v.i18n.t("resident.col_author")
            ),
            v.theme.heading(),
        ),
    ]);
    if p.records.is_empty() {
        lines.push(Line::styled(
            app.keymap.fill(v.i18n.t("resident.no_records")),
            v.theme.dim(),
        ));
    }
    let avail = (area.height as usize).saturating_sub(lines.len());
    let offset = p.selected.checked_div(avail).map_or(0, |page| page * avail);
    for (i, rec) in p.records.iter().enumerate().skip(offset).take(avail) {
        let title = app
            .form_title(&rec.form_id)
            .map(|t| t.get(lang).to_string())
            .unwrap_or_else(|| rec.form_id.clone());
        let status = match rec.status {
            RecordStatus::Draft => v.i18n.t("record.draft"),
            RecordStatus::Final => v.i18n.t("record.final"),
        };
        let rev = if rec.revision > 1 {
            format!(" r{}", rec.revision)
        } else {
            String::new()
        };
        let text = format!(
            "{}{}{}{}{}",
            pad(rec.record_date.as_deref().unwrap_or("—"), 12),
            pad(&title, 35),
            " ",
            pad(&format!("{status}{rev}"), 10),
            fit(&rec.author_name, 20)
        );
        let style = if i == p.selected {
            v.theme.selected()
        } else {
            v.theme.label()
        };
        lines.push(Line::styled(pad(&text, area.width as usize), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The question before finalizing a registration that resembles existing
/// residents (same name and birth date, or same phone): who they are, why
/// they match, and what Enter and Esc do.
pub fn suspects(frame: &mut Frame, area: Rect, s: &crate::app::Suspects, keys: &Keymap, v: &View) {
    use ratatui::widgets::{Block, Borders, Clear};
    let width = area.width.saturating_sub(4).min(76);
    let inner = width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = wrap(v.i18n.t("search.suspects.explain"), inner)
        .into_iter()
        .map(|l| Line::styled(l, v.theme.warning()))
        .collect();
    // Two lines a candidate: who, then why they match.
    let room = (area.height as usize).saturating_sub(5 + 2 * lines.len()) / 2;
    for c in s.candidates.iter().take(room) {
        let r = &c.row;
        let reasons: Vec<&str> = c.reasons.iter().map(|x| v.i18n.t(x.text_key())).collect();
        let text = format!(
            "{}{}{}{}",
            pad(&r.name, 12),
            pad(r.birth_date.as_deref().unwrap_or(""), 12),
            pad(&r.id_masked, 20),
            r.phone_masked
        );
        lines.push(Line::raw(fit(&text, inner)));
        let why = format!("  {}", reasons.join(v.i18n.t("search.duplicates.and")));
        lines.push(Line::styled(fit(&why, inner), v.theme.warning()));
    }
    if s.candidates.len() > room {
        let more = (s.candidates.len() - room).to_string();
        lines.push(Line::styled(
            v.i18n.tf("search.suspects.more", &[("count", &more)]),
            v.theme.dim(),
        ));
    }
    lines.extend(
        wrap(&keys.fill(v.i18n.t("search.suspects.keys")), inner)
            .into_iter()
            .map(|l| Line::styled(l, v.theme.dim())),
    );
    let height = (lines.len() as u16 + 2).min(area.height);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let rect = Rect { x, y, width, height };
    frame.render_widget(Clear, rect);
    let title = Span::styled(format!(" {} ", v.i18n.t("search.suspects.title")), v.theme.heading());
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        rect,
    );
}

/// Breaks text into lines of at most `cols` display columns.
fn wrap(text: &str, cols: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in text.chars() {
        let line = out.last_mut().expect("never empty");
        if super::text::width(line) + super::text::width(c.encode_utf8(&mut [0; 4])) > cols.max(2) {
            // Latin text breaks at the last space; Chinese anywhere.
            let carry = match line.rfind(' ') {
                Some(i) if c != ' ' && i > 0 => line.split_off(i + 1),
                _ => String::new(),
            };
            out.push(carry);
        }
        out.last_mut().expect("never empty").push(c);
    }
    out
}

/// A 17-digit number in its four groups (`220602-101-000-00001`), as the
/// checked ones are shown: a provisional number (village `000`, which no
/// real number has) is not a valid record number, but reads the same way.
fn grouped(no: &str) -> String {
    match (no.get(..6), no.get(6..9), no.get(9..12), no.get(12..)) {
        (Some(a), Some(b), Some(c), Some(d)) if no.len() == 17 => format!("{a}-{b}-{c}-{d}"),
        _ => no.to_string(),
    }
}
