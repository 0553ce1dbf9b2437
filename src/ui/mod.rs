//! Views: pure functions from `&App` to a ratatui frame. The chrome (title,
//! status and key-hint lines) is shared; each screen draws its body.
//!
//! A view must draw any state at any size (10×3 included) without a panic:
//! byte slicing of text and indexing that can go out of range are denied.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

mod conflict_view;
mod form_view;
mod hints;
mod lists;
mod manage_view;
mod overlays;
pub mod session_view;
mod sync_view;
pub mod text;
pub mod theme;

use crate::app::{App, Notice, Overlay, Screen};
use crate::i18n::I18n;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
pub use theme::Theme;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub struct View<'a> {
    pub i18n: &'a I18n,
    pub theme: Theme,
}

pub fn draw(frame: &mut Frame, app: &App, v: &View) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, v);
        return;
    }
    // The lock hides everything (it is always on top while it is down).
    if let Some(Overlay::Lock(lock)) = app.overlays.top() {
        let login = app.session.as_ref().map(|s| s.login.as_str()).unwrap_or("");
        session_view::lock(frame, lock, login, &app.keymap, v);
        return;
    }
    // A status too long for one line (a long upload problem at 80
    // columns) takes a second line from the body rather than being cut.
    let status_line = status_line(app, v);
    let status_rows = if status_line.width() > area.width as usize {
        2
    } else {
        1
    };
    let title = Rect { height: 1, ..area };
    let body = Rect {
        y: area.y + 1,
        height: area.height - 2 - status_rows,
        ..area
    };
    let status = Rect {
        y: area.bottom() - 1 - status_rows,
        height: status_rows,
        ..area
    };
    let hints = Rect {
        y: area.bottom() - 1,
        height: 1,
        ..area
    };

    draw_title(frame, title, app, v);
    // Under an overlay the cursor would blink through it: leave it hidden.
    let show_cursor = app.overlays.is_empty();
    match &app.screen {
        Screen::Setup(s) => lists::setup(frame, body, s, &app.keymap, v, show_cursor),
        Screen::Residents(l) => lists::residents(frame, body, app, l, v, show_cursor),
        Screen::Resident(p) => lists::resident_page(frame, body, app, p, v),
        Screen::Form(f) => form_view::draw(frame, body, f, &app.keymap, v, show_cursor),
        Screen::Audit(a) => session_view::audit(frame, body, a, v),
        Screen::Worklist(w) => manage_view::worklist(frame, body, app, w, v),
        Screen::Kpi(k) => manage_view::kpi(frame, body, k, &app.keymap, v),
    }
    frame.render_widget(
        Paragraph::new(status_line).wrap(ratatui::widgets::Wrap { trim: false }),
        status,
    );
    hints::draw(frame, hints, app, v);
    // Bottom to top, so the top one (which has the keys) is in front.
    for overlay in app.overlays.iter() {
        match overlay {
            Overlay::Problems(d) => {
                if let Screen::Form(f) = &app.screen {
                    overlays::problems(frame, body, f, d, &app.keymap, v);
                }
            }
            Overlay::Picker(sel) => overlays::form_picker(frame, body, app, *sel, v),
            Overlay::AbandonReason(reason) => overlays::abandon_reason(frame, body, reason, &app.keymap, v),
            Overlay::Duplicate(rows) => overlays::duplicate(frame, body, rows, &app.keymap, v),
            Overlay::Suspects(s) => lists::suspects(frame, body, s, &app.keymap, v),
            Overlay::Uploads => sync_view::overlay(frame, body, app, v),
            Overlay::Conflict(c) => conflict_view::overlay(frame, body, app, c, v),
            // Over everything but the hint line, which says how to scroll it.
            Overlay::Help { scroll } => overlays::help(
                frame,
                Rect {
                    height: area.height - 1,
                    ..area
                },
                app,
                *scroll,
                v,
            ),
            Overlay::Lock(_) => {}
        }
    }
}

pub(crate) fn too_small(frame: &mut Frame, area: Rect, v: &View) {
    let text = v.i18n.tf(
        "screen.too_small",
        &[
            ("width", &area.width.to_string()),
            ("height", &area.height.to_string()),
            ("min_width", &MIN_WIDTH.to_string()),
            ("min_height", &MIN_HEIGHT.to_string()),
        ],
    );
    frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }), area);
}

fn screen_title_key(app: &App) -> &'static str {
    match &app.screen {
        Screen::Setup(_) => "screen.setup",
        Screen::Residents(_) => "screen.residents",
        Screen::Resident(_) => "screen.resident",
        Screen::Form(_) => "screen.form",
        Screen::Audit(_) => "screen.audit",
        Screen::Worklist(_) => "screen.worklist",
        Screen::Kpi(_) => "screen.indicators",
    }
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App, v: &View) {
    let text = match app.site.as_ref() {
        Some(site) => {
            let user = app
                .session
                .as_ref()
                .map(|s| format!(" │ {}", s.display_name))
                .unwrap_or_default();
            format!(
                " {} │ {} │ {}{user}",
                v.i18n.t("app.name"),
                site.name,
                v.i18n.t(screen_title_key(app))
            )
        }
        None => format!(" {} │ {}", v.i18n.t("app.name"), v.i18n.t(screen_title_key(app))),
    };
    let line = text::fit(&text, area.width as usize);
    frame.render_widget(Paragraph::new(line).style(v.theme.title()), area);
}

fn status_line(app: &App, v: &View) -> Line<'static> {
    let mut spans = vec![Span::styled(
        v.i18n
            .tf("status.pending", &[("count", &app.pending_uploads.to_string())]),
        v.theme.dim(),
    )];
    spans.extend(sync_view::status_spans(app, v));
    match &app.notice {
        Some(Notice::Info(m)) => {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(v.i18n.msg(m), v.theme.ok()));
        }
        Some(Notice::Error(m)) => {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(format!("! {}", v.i18n.msg(m)), v.theme.error()));
        }
        None => {}
    }
    Line::from(spans)
}
