//! Screens of the session: the login/installation gate, the idle lock
//! (which shows nothing about any resident) and the audit trail.

use super::text::{fit, pad, width};
use super::View;
use crate::app::gate::{GateMode, GateState};
use crate::app::{AuditState, LockState};
use crate::keymap::Keymap;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

fn title_line(text: &str, v: &View, cols: u16) -> Line<'static> {
    Line::styled(
        pad(&format!(" {} │ {}", v.i18n.t("app.name"), text), cols as usize),
        v.theme.title(),
    )
}

pub fn gate(frame: &mut Frame, g: &GateState, keys: &Keymap, v: &View) {
    let area = frame.area();
    if area.width < super::MIN_WIDTH || area.height < super::MIN_HEIGHT {
        super::too_small(frame, area, v);
        return;
    }
    let (title, intro) = match g.mode {
        GateMode::Install { .. } => ("gate.install_title", "gate.install_intro"),
        GateMode::Login => ("gate.login_title", "gate.login_intro"),
        GateMode::ChangePassword => ("gate.change_title", "gate.change_intro"),
    };
    let label_w = g.labels.iter().map(|l| width(v.i18n.t(l))).max().unwrap_or(10) + 2;
    let mut lines = vec![
        title_line(v.i18n.t(title), v, area.width),
        Line::raw(""),
        Line::raw(v.i18n.t(intro).to_string()),
        Line::raw(""),
    ];
    let mut cursor = None;
    for (i, (label, input)) in g.labels.iter().zip(&g.inputs).enumerate() {
        let focused = g.focus == i;
        let style = if focused { v.theme.focus() } else { v.theme.label() };
        let shown = input.shown();
        if focused {
            cursor = Some((lines.len(), label_w + 1 + input.cursor_column()));
        }
        lines.push(Line::from(vec![
            Span::styled(pad(v.i18n.t(label), label_w), style),
            Span::raw("["),
            Span::styled(pad(&shown, 32), style),
            Span::raw("]"),
        ]));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &g.error {
        lines.push(Line::styled(
            fit(&format!("x {}", v.i18n.msg(e)), area.width as usize),
            v.theme.error(),
        ));
    }
    lines.push(Line::styled(keys.fill(v.i18n.t("gate.keys")), v.theme.dim()));
    frame.render_widget(Paragraph::new(lines), area);
    if let Some((y, x)) = cursor {
        frame.set_cursor_position(Position::new(area.x + x as u16, area.y + y as u16));
    }
}

/// The idle lock covers the whole screen: no name, no number, no record.
pub fn lock(frame: &mut Frame, l: &LockState, login: &str, keys: &Keymap, v: &View) {
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Clear, area);
    let label = v.i18n.t("gate.password");
    let label_w = width(label) + 2;
    let mut lines = vec![
        title_line(v.i18n.t("lock.title"), v, area.width),
        Line::raw(""),
        Line::raw(v.i18n.tf("lock.explain", &[("login", login)])),
        Line::raw(""),
        Line::from(vec![
            Span::styled(pad(label, label_w), v.theme.focus()),
            Span::raw("["),
            Span::styled(pad(&l.password.masked(), 32), v.theme.focus()),
            Span::raw("]"),
        ]),
        Line::raw(""),
    ];
    if let Some(e) = &l.error {
        lines.push(Line::styled(
            fit(&format!("x {}", v.i18n.msg(e)), area.width as usize),
            v.theme.error(),
        ));
    }
    lines.push(Line::styled(keys.fill(v.i18n.t("lock.keys")), v.theme.dim()));
    frame.render_widget(Paragraph::new(lines), area);
    frame.set_cursor_position(Position::new(
        area.x + (label_w + 1 + l.password.cursor()) as u16,
        area.y + 4,
    ));
}

pub fn audit(frame: &mut Frame, area: Rect, a: &AuditState, v: &View) {
    let mut lines = vec![Line::styled(
        format!(
            "{}{}{}{}",
            pad(v.i18n.t("audit.col_time"), 27),
            pad(v.i18n.t("audit.col_user"), 14),
            pad(v.i18n.t("audit.col_action"), 18),
            v.i18n.t("audit.col_what")
        ),
        v.theme.heading(),
    )];
    if a.entries.is_empty() {
        lines.push(Line::styled(v.i18n.t("audit.empty").to_string(), v.theme.dim()));
    }
    let selected = a.selected.min(a.entries.len().saturating_sub(1));
    let avail = (area.height as usize).saturating_sub(1).max(1);
    let offset = (selected / avail) * avail;
    for (i, e) in a.entries.iter().enumerate().skip(offset).take(avail) {
        let action_key = format!("audit.action.{}", e.action);
        let action = v.i18n.t(&action_key);
        let action = if action == action_key {
            e.action.as_str()
        } else {
            action
        };
        let text = format!(
            "{}{}{}{} {}",
            pad(&super::text::local_stamp(&e.at, true), 27),
            pad(&e.actor, 14),
            pad(action, 18),
            e.entity,
            e.entity_id
        );
        let style = if i == selected {
            v.theme.selected()
        } else {
            v.theme.label()
        };
        lines.push(Line::styled(pad(&text, area.width as usize), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
