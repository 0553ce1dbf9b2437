//! Upload state on screen: the status-line part (last confirmed upload,
//! last problem) and the list of waiting / failed uploads.

use super::text::{fit, pad, wrap};
use super::View;
use crate::app::App;
use crate::i18n::Msg;
use crate::keymap::{Action, Context};
use crate::sync::{retried_later, stored_message};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// A problem in plain words; trouble the uploader meets again by itself
/// says so (the command line says what to run instead).
fn problem(m: &Msg, v: &View) -> String {
    let text = v.i18n.msg(m);
    if retried_later(m) {
        format!("{text}{}", v.i18n.t("sync.will_retry"))
    } else {
        text
    }
}

/// After the waiting count: when the platform last confirmed, and why
/// records are still waiting, in plain words.
pub fn status_spans(app: &App, v: &View) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let last = match &app.sync.last_success {
        Some(t) => Some(v.i18n.tf("sync.status_last", &[("time", t)])),
        None if app.pending_uploads > 0 => Some(v.i18n.t("sync.status_never").to_string()),
        None => None,
    };
    if let Some(last) = last {
        out.push(Span::styled(format!(" · {last}"), v.theme.dim()));
    }
    if let Some(e) = &app.sync.last_error {
        if app.pending_uploads > 0 {
            out.push(Span::styled(format!(" · {}", problem(e, v)), v.theme.warning()));
        }
    }
    out
}

pub fn overlay(frame: &mut Frame, area: Rect, app: &App, v: &View) {
    let w = area.width.saturating_sub(4).max(20);
    let h = area.height.saturating_sub(2).max(5);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let inner = w.saturating_sub(2) as usize;
    // The keys as the keymap has them (a site may have changed them).
    let keys = |action| app.keymap.compact_labels(Context::Uploads, action);
    let mut lines = Vec::new();
    // Why nothing is uploaded, before anything else.
    if let Some(m) = &app.sync.disabled {
        let text = if m.key == "sync.err_not_configured" {
            v.i18n.tf("sync.not_set_up", &[("send", &keys(Action::Send))])
        } else {
            v.i18n.msg(m)
        };
        for l in wrap(&format!("! {text}"), inner) {
            lines.push(Line::styled(l, v.theme.error()));
        }
    }
    lines.push(Line::styled(
        fit(
            &format!(
                "{} {} {} {} {} {}",
                pad(v.i18n.t("sync.col_state"), 8),
                pad(v.i18n.t("sync.col_record"), 10),
                pad(v.i18n.t("sync.col_form"), 22),
                pad(v.i18n.t("sync.col_date"), 10),
                pad(v.i18n.t("sync.col_tries"), 5),
                v.i18n.t("sync.col_reason")
            ),
            inner,
        ),
        v.theme.heading(),
    ));
    if app.sync.rows.is_empty() {
        lines.push(Line::styled(v.i18n.t("sync.screen_empty").to_string(), v.theme.dim()));
    }
    let visible = (h as usize).saturating_sub(3 + lines.len());
    let start = app.sync.selected.saturating_sub(visible.saturating_sub(1));
    for (i, r) in app.sync.rows.iter().enumerate().skip(start).take(visible) {
        let form = app
            .form_title(&r.form_id)
            .map(|t| t.get(v.i18n.lang()).to_string())
            .unwrap_or_else(|| r.form_id.clone());
        let reason = r
            .last_error
            .as_deref()
            .map(|e| problem(&stored_message(e), v))
            .unwrap_or_default();
        let text = format!(
            "{} {} {} {} {} {}",
            pad(v.i18n.t(&format!("sync.state_{}", r.state)), 8),
            pad(&fit(&r.resident_masked, 10), 10),
            pad(&fit(&form, 22), 22),
            pad(r.record_date.as_deref().unwrap_or(""), 10),
            pad(&r.attempts.to_string(), 5),
            reason
        );
        let style = if i == app.sync.selected {
            v.theme.selected()
        } else if r.state == "pending" {
            v.theme.dim()
        } else {
            v.theme.error()
        };
        lines.push(Line::styled(fit(&text, inner), style));
    }
    let hint = v.i18n.tf(
        "sync.screen_hint",
        &[
            ("back", &keys(Action::Back)),
            ("send", &keys(Action::Send)),
            ("retry", &keys(Action::Retry)),
            ("link", &keys(Action::Link)),
            ("compare", &keys(Action::Compare)),
        ],
    );
    lines.push(Line::styled(fit(&hint, inner), v.theme.dim()));
    frame.render_widget(Clear, rect);
    let title = format!(" {} ", v.i18n.t("sync.screen_title"));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, v.theme.heading()));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
