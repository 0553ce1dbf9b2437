//! Views: pure functions from `&App` to a ratatui frame. The chrome (title,
//! status and key-hint lines) is shared; each screen draws its body.
//!
//! A view must draw any state at any size (10×3 included) without a panic:
//! byte slicing of text and indexing that can go out of range are denied.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

mod conflict_view;
mod form_view;
mod lists;
mod manage_view;
mod overlays;
pub mod session_view;
mod sync_view;
pub mod text;
pub mod theme;

use crate::app::{App, Notice, Screen};
use crate::i18n::I18n;
use crate::keymap::{Action, Context};
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
    if let Some(lock) = &app.lock {
        let login = app.session.as_ref().map(|s| s.login.as_str()).unwrap_or("");
        session_view::lock(frame, lock, login, v);
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
    let show_cursor = !app.help && app.duplicate.is_none() && app.suspects.is_none();
    match &app.screen {
        Screen::Setup(s) => lists::setup(frame, body, s, v, show_cursor),
        Screen::Residents(l) => lists::residents(frame, body, app, l, v, show_cursor),
        Screen::Resident(p) => lists::resident_page(frame, body, app, p, v),
        Screen::Form(f) => form_view::draw(frame, body, f, v, show_cursor),
        Screen::Audit(a) => session_view::audit(frame, body, a, v),
        Screen::Worklist(w) => manage_view::worklist(frame, body, app, w, v),
        Screen::Kpi(k) => manage_view::kpi(frame, body, k, v),
    }
    frame.render_widget(
        Paragraph::new(status_line).wrap(ratatui::widgets::Wrap { trim: false }),
        status,
    );
    draw_hints(frame, hints, app, v);
    if let Screen::Resident(p) = &app.screen {
        if let Some(sel) = p.picker {
            overlays::form_picker(frame, body, app, sel, v);
        }
        if let Some(reason) = &p.abandon {
            overlays::abandon_reason(frame, body, reason, v);
        }
    }
    if let Screen::Form(f) = &app.screen {
        if let Some(d) = &f.dialog {
            overlays::problems(frame, body, f, d, v);
        }
    }
    if let Some(rows) = &app.duplicate {
        overlays::duplicate(frame, body, rows, v);
    }
    if let Some(s) = &app.suspects {
        lists::suspects(frame, body, s, v);
    }
    if app.sync.open {
        sync_view::overlay(frame, body, app, v);
        if let Some(c) = &app.sync.conflict {
            conflict_view::overlay(frame, body, app, c, v);
        }
    }
    if app.help {
        overlays::help(frame, area, app, v);
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

/// One line of the most useful keys for the screen, from the keymap.
fn draw_hints(frame: &mut Frame, area: Rect, app: &App, v: &View) {
    let ctx = app.key_context();
    let actions: &[(Context, Action)] = match (&app.screen, ctx) {
        (_, Context::Dialog) => &[(Context::Dialog, Action::Confirm), (Context::Dialog, Action::Cancel)],
        (Screen::Setup(_), _) => &[(Context::Global, Action::Help), (Context::Global, Action::Quit)],
        (Screen::Audit(_), _) => &[
            (Context::Resident, Action::Up),
            (Context::Resident, Action::Down),
            (Context::Resident, Action::Back),
            (Context::Global, Action::Logout),
            (Context::Global, Action::Quit),
        ],
        (Screen::Residents(_), _) => &[
            (Context::List, Action::Open),
            (Context::List, Action::NewResident),
            (Context::List, Action::Worklist),
            (Context::List, Action::Indicators),
            (Context::Global, Action::Help),
            (Context::Global, Action::Quit),
        ],
        (Screen::Worklist(_), _) => &[
            (Context::Manage, Action::Open),
            (Context::Manage, Action::FilterProgramme),
            (Context::Manage, Action::FilterVillage),
            (Context::Manage, Action::Back),
            (Context::Global, Action::Help),
        ],
        (Screen::Kpi(_), _) => &[
            (Context::Manage, Action::Open),
            (Context::Manage, Action::NextPeriod),
            (Context::Manage, Action::FilterVillage),
            (Context::Manage, Action::Back),
            (Context::Global, Action::Help),
        ],
        (Screen::Resident(_), _) => &[
            (Context::Resident, Action::Open),
            (Context::Resident, Action::NewRecord),
            (Context::Resident, Action::EditResident),
            (Context::Resident, Action::Back),
            (Context::Global, Action::Help),
        ],
        (Screen::Form(f), _) if f.read_only => &[
            (Context::Form, Action::NextField),
            (Context::Form, Action::Amend),
            (Context::Form, Action::Back),
            (Context::Global, Action::Help),
        ],
        (Screen::Form(_), _) => &[
            (Context::Form, Action::NextField),
            (Context::Form, Action::NextSection),
            (Context::Form, Action::NextProblem),
            (Context::Form, Action::Finalize),
            (Context::Form, Action::Back),
            (Context::Global, Action::Help),
        ],
    };
    let mut spans = Vec::new();
    for (ctx, action) in actions {
        let key = app.keymap.hint(*ctx, *action);
        if key.is_empty() {
            continue;
        }
        spans.push(Span::styled(key, v.theme.heading()));
        spans.push(Span::raw(format!(
            " {}  ",
            v.i18n.t(&format!("action.{}", action.name()))
        )));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
