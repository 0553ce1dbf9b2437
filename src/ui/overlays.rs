//! Boxes drawn over a screen: help (generated from the keymap), the form
//! picker, the list of problems that stop finalizing, and the duplicate-ID stop.

use super::text::{fit, pad};
use super::View;
use crate::app::form_fill::Dialog;
use crate::app::{App, FormState};
use crate::form::def::Level;
use crate::form::rules::FindingText;
use crate::keymap::{Context, Key};
use crate::store::ResidentRow;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

fn boxed(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, v: &View) {
    // Clear one column more on each side: a wide (Chinese) character cut by
    // the box edge would otherwise hide the border on a real terminal.
    let screen = frame.area();
    let x = area.x.saturating_sub(1);
    let right = (area.right() + 1).min(screen.right());
    frame.render_widget(
        Clear,
        Rect {
            x,
            width: right - x,
            ..area
        },
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), v.theme.heading()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub fn help(frame: &mut Frame, area: Rect, app: &App, v: &View) {
    let inner_w = area.width.saturating_sub(2) as usize;
    let inner_h = area.height.saturating_sub(2) as usize;
    // Chinese labels are short enough for three columns at 80; English two,
    // or three narrower ones when two do not fit the height.
    let layouts: &[(usize, usize)] = match v.i18n.lang() {
        crate::i18n::Lang::Zh => &[(12, 14), (10, 12)],
        crate::i18n::Lang::En => &[(14, 24), (10, 14)],
    };
    let mut lines = Vec::new();
    for &(key_w, label_w) in layouts {
        lines = help_lines(app, v, inner_w, key_w, label_w);
        if lines.len() <= inner_h {
            break;
        }
    }
    boxed(frame, area, v.i18n.t("help.title"), lines, v);
}

fn help_lines(app: &App, v: &View, inner_w: usize, key_w: usize, label_w: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for ctx in Context::ALL {
        let entries = app.keymap.entries(ctx);
        if entries.is_empty() {
            continue;
        }
        lines.push(Line::styled(
            v.i18n.t(&format!("help.context.{}", ctx.name())).to_string(),
            v.theme.heading(),
        ));
        let mut row = String::new();
        for (action, keys) in entries {
            let keys: Vec<String> = keys.iter().map(Key::label).collect();
            // A blank after the label too: a label cut to its width must
            // not run into the next key.
            let item = format!(
                "{} {} ",
                pad(&keys.join("/"), key_w),
                pad(v.i18n.t(&format!("action.{}", action.name())), label_w)
            );
            if super::text::width(&row) + super::text::width(&item) > inner_w {
                lines.push(Line::raw(std::mem::take(&mut row)));
            }
            row.push_str(&item);
        }
        if !row.is_empty() {
            lines.push(Line::raw(row));
        }
    }
    lines
}

pub fn form_picker(frame: &mut Frame, area: Rect, app: &App, selected: usize, v: &View) {
    let lines: Vec<Line> = app
        .visit_forms
        .iter()
        .enumerate()
        .map(|(i, (_, title))| {
            let text = format!("{} {}", i + 1, title.get(v.i18n.lang()));
            let style = if i == selected {
                v.theme.selected()
            } else {
                v.theme.label()
            };
            Line::styled(pad(&text, 50), style)
        })
        .collect();
    let h = lines.len() as u16 + 2;
    boxed(frame, centered(area, 56, h), v.i18n.t("picker.title"), lines, v);
}

/// The reason for abandoning a draft, typed in a box with what the keys do.
pub fn abandon_reason(frame: &mut Frame, area: Rect, reason: &str, v: &View) {
    let lines = vec![
        Line::styled(v.i18n.t("abandon.prompt").to_string(), v.theme.label()),
        Line::styled(pad(&format!("{reason}▏"), 50), v.theme.selected()),
        Line::styled(v.i18n.t("abandon.keys").to_string(), v.theme.dim()),
    ];
    boxed(frame, centered(area, 56, 5), v.i18n.t("abandon.title"), lines, v);
}

pub fn problems(frame: &mut Frame, area: Rect, f: &FormState, d: &Dialog, v: &View) {
    let Dialog::Problems {
        items,
        selected,
        errors,
    } = d;
    let lang = v.i18n.lang();
    let width = area.width.saturating_sub(4);
    let inner = width.saturating_sub(2) as usize;
    let mut lines = vec![Line::styled(
        v.i18n.t(if *errors {
            "problems.errors_explain"
        } else {
            "problems.warnings_explain"
        }),
        v.theme.dim(),
    )];
    let avail = area.height.saturating_sub(5) as usize;
    let offset = selected.checked_div(avail).map_or(0, |page| page * avail);
    for (i, item) in items.iter().enumerate().skip(offset).take(avail) {
        let field = item.path.split('.').next().unwrap_or(&item.path);
        let label = f
            .def
            .field(field)
            .map(|fd| fd.label.get(lang).to_string())
            .unwrap_or_else(|| field.to_string());
        let text = match &item.text {
            FindingText::Msg(m) => v.i18n.msg(m),
            FindingText::Form(t) => t.get(lang).to_string(),
        };
        let (mark, style) = match item.level {
            Level::Error => (v.i18n.t("problems.error"), v.theme.error()),
            Level::Warning => (v.i18n.t("problems.warning"), v.theme.warning()),
        };
        let line = fit(&format!("{mark} {}: {text}", label), inner);
        let style = if i == *selected {
            style.patch(v.theme.selected())
        } else {
            style
        };
        lines.push(Line::styled(pad(&line, inner), style));
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let title = format!(
        "{} ({})",
        v.i18n.t(if *errors {
            "problems.title_errors"
        } else {
            "problems.title_warnings"
        }),
        items.len()
    );
    let title = title.as_str();
    boxed(frame, centered(area, width, h), title, lines, v);
}

pub fn duplicate(frame: &mut Frame, area: Rect, rows: &[ResidentRow], v: &View) {
    let mut lines = vec![Line::styled(v.i18n.t("duplicate.explain"), v.theme.error())];
    for r in rows {
        lines.push(Line::raw(format!("{}  {}  {}", r.name, r.id_masked, r.village)));
    }
    lines.push(Line::styled(v.i18n.t("duplicate.keys"), v.theme.dim()));
    let h = lines.len() as u16 + 2;
    boxed(frame, centered(area, 70, h), v.i18n.t("duplicate.title"), lines, v);
}
