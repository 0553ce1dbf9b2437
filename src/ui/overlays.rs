//! Boxes drawn over a screen (the `Overlay`s): help (generated from the
//! keymap), the form picker, the reason for abandoning a draft, the list of
//! problems that stop finalizing, and the duplicate-ID stop. Their key
//! instructions are translated text with the keymap's keys filled in.

use super::text::{fit, pad};
use super::View;
use crate::app::form_fill::Dialog;
use crate::app::overlay::{HELP_COLUMNS, HELP_KEYS_WIDTH};
use crate::app::text_input::TextBuf;
use crate::app::{App, FormState};
use crate::form::def::Level;
use crate::form::rules::FindingText;
use crate::keymap::{Action, HelpRow, Key, Keymap};
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

/// Every context's keys, two actions a row with all their keys, scrolled
/// to `scroll` (the core keeps it within the rows): nothing is cut at 80×24.
pub fn help(frame: &mut Frame, area: Rect, app: &App, scroll: usize, v: &View) {
    let inner_w = area.width.saturating_sub(2) as usize;
    let inner_h = area.height.saturating_sub(2) as usize;
    let rows = app.keymap.help_rows(HELP_COLUMNS, HELP_KEYS_WIDTH);
    let label = |a: Action| v.i18n.t(&format!("action.{}", a.name())).to_string();
    let col_w = inner_w / HELP_COLUMNS;
    // The labels as wide as the widest, the keys after them.
    let label_w = rows
        .iter()
        .flat_map(|r| match r {
            HelpRow::Entries(e) => e.iter().map(|(a, _)| super::text::width(&label(*a))).collect(),
            HelpRow::Context(_) => Vec::new(),
        })
        .max()
        .unwrap_or(0)
        .min(col_w / 2);

    let lines: Vec<Line> = rows
        .iter()
        .map(|r| match r {
            HelpRow::Context(ctx) => Line::styled(
                v.i18n.t(&format!("help.context.{}", ctx.name())).to_string(),
                v.theme.heading(),
            ),
            HelpRow::Entries(entries) => {
                // An action alone on its row has its keys all the width.
                let width = if entries.len() == 1 { inner_w } else { col_w };
                let keys_w = width.saturating_sub(label_w + 4);
                Line::from(
                    entries
                        .iter()
                        .flat_map(|(action, keys)| {
                            [
                                Span::raw(format!("  {} ", pad(&label(*action), label_w))),
                                Span::styled(pad(&fit(&Key::labels(keys), keys_w), keys_w + 1), v.theme.label()),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )
            }
        })
        .collect();
    let top = scroll.min(lines.len().saturating_sub(inner_h));
    let shown: Vec<Line> = lines.into_iter().skip(top).take(inner_h).collect();
    let title = app.keymap.fill(v.i18n.t("help.title"));
    boxed(frame, area, &title, shown, v);
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
    let title = app.keymap.fill(v.i18n.t("picker.title"));
    boxed(frame, centered(area, 56, h), &title, lines, v);
}

/// The reason for abandoning a draft, typed in a box with what the keys do.
pub fn abandon_reason(frame: &mut Frame, area: Rect, reason: &TextBuf, keys: &Keymap, v: &View) {
    // The cursor drawn where it is: the [text] keys move it.
    let before: String = reason.text().chars().take(reason.cursor()).collect();
    let after: String = reason.text().chars().skip(reason.cursor()).collect();
    let lines = vec![
        Line::styled(v.i18n.t("abandon.prompt").to_string(), v.theme.label()),
        Line::styled(pad(&format!("{before}▏{after}"), 50), v.theme.selected()),
        Line::styled(keys.fill(v.i18n.t("abandon.keys")), v.theme.dim()),
    ];
    boxed(frame, centered(area, 56, 5), v.i18n.t("abandon.title"), lines, v);
}

pub fn problems(frame: &mut Frame, area: Rect, f: &FormState, d: &Dialog, keys: &Keymap, v: &View) {
    let Dialog::Problems {
        items,
        selected,
        errors,
    } = d;
    let lang = v.i18n.lang();
    let width = area.width.saturating_sub(4);
    let inner = width.saturating_sub(2) as usize;
    let mut lines = vec![Line::styled(
        keys.fill(v.i18n.t(if *errors {
            "problems.errors_explain"
        } else {
            "problems.warnings_explain"
        })),
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

pub fn duplicate(frame: &mut Frame, area: Rect, rows: &[ResidentRow], keys: &Keymap, v: &View) {
    let mut lines = vec![Line::styled(v.i18n.t("duplicate.explain"), v.theme.error())];
    for r in rows {
        lines.push(Line::raw(format!("{}  {}  {}", r.name, r.id_masked, r.village)));
    }
    lines.push(Line::styled(keys.fill(v.i18n.t("duplicate.keys")), v.theme.dim()));
    let h = lines.len() as u16 + 2;
    boxed(frame, centered(area, 70, h), v.i18n.t("duplicate.title"), lines, v);
}
