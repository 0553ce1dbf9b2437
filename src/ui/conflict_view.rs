//! A version clash on screen, over the upload list: who wrote each version
//! and when, then what differs item by item (the form's label, ours, the
//! platform's), the items ticked to take from the platform marked, and the
//! keys as the keymap has them.

use super::text::{fit, local_stamp, pad, wrap};
use super::View;
use crate::app::conflict_screen::ConflictState;
use crate::app::App;
use crate::keymap::{Action, Context};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn overlay(frame: &mut Frame, area: Rect, app: &App, c: &ConflictState, v: &View) {
    // As wide as the upload list: starting at an even column keeps a
    // full-width character under the edge whole.
    let w = area.width.saturating_sub(4).max(20);
    let h = area.height.max(5);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y,
        width: w,
        height: h,
    };
    let inner = w.saturating_sub(2) as usize;
    let keys = |action| app.keymap.compact_labels(Context::Conflict, action);
    let t = |k: &str| v.i18n.t(k).to_string();
    let form = app
        .form_title(&c.form_id)
        .map(|t| t.get(v.i18n.lang()).to_string())
        .unwrap_or_else(|| c.form_id.clone());
    let mut lines = vec![Line::styled(
        fit(
            &format!(
                "{} {} {}",
                c.resident_masked,
                form,
                c.record_date.as_deref().unwrap_or("")
            ),
            inner,
        ),
        v.theme.heading(),
    )];
    let mine = v.i18n.tf(
        "conflicts.mine_line",
        &[("who", &c.mine_who), ("when", &local_stamp(&c.mine_at, false))],
    );
    lines.push(Line::raw(fit(&mine, inner)));
    let theirs = v.i18n.tf(
        "conflicts.screen_theirs",
        &[
            ("who", &c.theirs_who),
            (
                "when",
                &c.theirs_at
                    .as_deref()
                    .map(|t| local_stamp(t, false))
                    .unwrap_or_default(),
            ),
        ],
    );
    lines.push(Line::raw(fit(&theirs, inner)));
    if let Some(m) = &c.blocked {
        for l in wrap(&format!("! {}", v.i18n.msg(m)), inner) {
            lines.push(Line::styled(l, v.theme.error()));
        }
    }
    // Label, then the two versions side by side in equal columns.
    let label_w = (inner / 4).clamp(8, 20);
    let col = inner.saturating_sub(label_w + 6) / 2;
    lines.push(Line::styled(
        fit(
            &format!(
                "    {} {} {}",
                pad(&t("conflicts.col_item"), label_w),
                pad(&t("conflicts.mine"), col),
                t("conflicts.theirs")
            ),
            inner,
        ),
        v.theme.heading(),
    ));
    let hint = wrap(
        &v.i18n.tf(
            "conflicts.screen_hint",
            &[
                ("back", &keys(Action::Back)),
                ("toggle", &keys(Action::Toggle)),
                ("mine", &keys(Action::KeepMine)),
                ("theirs", &keys(Action::TakeTheirs)),
                ("merge", &keys(Action::Merge)),
            ],
        ),
        inner,
    );
    // The box's borders, the lines above and the hint below leave this many rows.
    let visible = (h as usize).saturating_sub(2 + lines.len() + hint.len()).max(1);
    let start = c.selected.saturating_sub(visible.saturating_sub(1));
    for (i, item) in c.items.iter().enumerate().skip(start).take(visible) {
        let taken = c.take.get(i).copied().unwrap_or(false);
        let show = |s: &str| {
            if s.is_empty() {
                t("conflicts.empty")
            } else {
                s.to_string()
            }
        };
        let text = format!(
            "{} {} {} {}",
            if taken { "[x]" } else { "[ ]" },
            pad(&fit(&item.label, label_w), label_w),
            pad(&fit(&show(&item.mine), col), col),
            fit(&show(&item.theirs), col)
        );
        let style = if i == c.selected {
            v.theme.selected()
        } else if taken {
            v.theme.chosen()
        } else {
            v.theme.label()
        };
        lines.push(Line::styled(fit(&text, inner), style));
    }
    if c.items.is_empty() {
        lines.push(Line::styled(t("conflicts.no_items"), v.theme.dim()));
    }
    for l in hint {
        lines.push(Line::styled(l, v.theme.dim()));
    }
    frame.render_widget(Clear, rect);
    let title = format!(" {} ", t("conflicts.title"));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, v.theme.heading()));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
