//! The hint line: the most useful keys for whatever is in front — the top
//! overlay (the same `App::overlays.top()` that gets the keys), else the
//! screen — with the keys the keymap has for them, so a site's own keys
//! are what the line shows.

use super::View;
use crate::app::{App, Overlay, Screen};
use crate::keymap::{Action, Context};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// The actions shown, in the first context the keys are looked up in.
pub fn actions(app: &App) -> &'static [Action] {
    use Action::*;
    match app.overlays.top() {
        Some(Overlay::Lock(_)) => &[Confirm, Quit],
        Some(Overlay::Help { .. }) => &[Up, Down, PageDown, Back],
        Some(Overlay::Uploads) => &[Send, Retry, Back],
        Some(Overlay::Conflict(_)) => &[Toggle, Merge, KeepMine, TakeTheirs, Back],
        Some(Overlay::AbandonReason(_)) => &[Confirm, Cancel],
        Some(Overlay::Problems(_) | Overlay::Picker(_) | Overlay::Duplicate(_) | Overlay::Suspects(_)) => {
            &[Confirm, Cancel]
        }
        None => match &app.screen {
            Screen::Setup(_) => &[NextField, Confirm, Help, Quit],
            Screen::Audit(_) => &[Up, Down, Back, Logout, Quit],
            Screen::Residents(_) => &[Open, NewResident, Worklist, Indicators, Help, Quit],
            Screen::Worklist(_) => &[Open, FilterProgramme, FilterVillage, Back, Help],
            Screen::Kpi(_) => &[Open, NextPeriod, FilterVillage, Back, Help],
            Screen::Resident(_) => &[Open, NewRecord, EditResident, Back, Help],
            Screen::Form(f) if f.read_only => &[NextField, Amend, Back, Help],
            Screen::Form(_) => &[NextField, NextSection, NextProblem, Finalize, Back, Help],
        },
    }
}

/// `(key, action)` pairs as shown: each action's first key along the
/// contexts that are asked for it; an action without a key is left out.
pub fn pairs(app: &App) -> Vec<(String, Action)> {
    let chain = app.key_contexts();
    actions(app)
        .iter()
        .filter_map(|a| {
            let key = chain
                .iter()
                .chain([&Context::Global])
                .map(|c| app.keymap.hint(*c, *a))
                .find(|k| !k.is_empty())?;
            Some((key, *a))
        })
        .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, v: &View) {
    let mut spans = Vec::new();
    for (key, action) in pairs(app) {
        spans.push(Span::styled(key, v.theme.heading()));
        spans.push(Span::raw(format!(
            " {}  ",
            v.i18n.t(&format!("action.{}", action.name()))
        )));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
