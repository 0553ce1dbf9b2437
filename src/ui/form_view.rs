//! The form being filled: a header (resident, progress), then the current
//! section only, so a long form such as the health exam scrolls by section
//! and a keystroke redraws a few cells, not the screen.

use super::text::{cell, fit, pad, width};
use super::View;
use crate::app::slots::{Part, Slot};
use crate::app::FormState;
use crate::form::def::{ChoiceOption, Field, FieldKind, Level};
use crate::form::rules::{fmt_num, Finding, FindingText};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Label column: Chinese labels are short; English ones need more room.
fn label_cols(v: &View) -> usize {
    match v.i18n.lang() {
        crate::i18n::Lang::Zh => 18,
        crate::i18n::Lang::En => 24,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, f: &FormState, keys: &crate::keymap::Keymap, v: &View, show_cursor: bool) {
    let lang = v.i18n.lang();
    let i18n = v.i18n;
    let mut lines: Vec<Line> = Vec::new();

    // Header: whose record, which form, how far along.
    let h = &f.header;
    let sex = h
        .sex
        .as_deref()
        .map(|s| i18n.t(&format!("sex.{s}")).to_string())
        .unwrap_or_default();
    let age = h
        .age
        .map(|a| i18n.tf("form.age", &[("age", &a.to_string())]))
        .unwrap_or_default();
    let who = format!("{} {} {} {}", h.name, sex, age, h.id_masked);
    let title = f.def.title.get(lang);
    let head = format!("{}  {}", title, who.trim());
    lines.push(Line::styled(fit(&head, area.width as usize), v.theme.heading()));

    let (done, total) = f.progress();
    // Empty required items are counted by the progress figure, not as
    // errors. The input being typed, and what is calculated from it, are
    // counted once it is left, as its findings are shown then.
    let typing_at = f.slot().filter(|_| f.typing).map(|s| s.path.as_str());
    let errors = f
        .eval
        .errors()
        .filter(|e| {
            !is_required_finding(e) && Some(e.path.as_str()) != typing_at && f.is_shown(e) && !waits(f, &e.path)
        })
        .count();
    let warnings = f
        .eval
        .warnings()
        .filter(|w| Some(w.path.as_str()) != typing_at && f.is_shown(w) && !waits(f, &w.path))
        .count();
    // The time of the last save, not a saving/saved flag: that would flip
    // on every input and cost bytes on every keystroke over a slow link.
    let (state, state_style) = if f.read_only {
        (keys.fill(i18n.t("form.read_only")), v.theme.dim())
    } else if f.save_failed {
        (i18n.t("form.unsaved").to_string(), v.theme.error())
    } else if let Some(t) = f.saved_at {
        let time = t.format("%H:%M").to_string();
        (i18n.tf("form.saved_at", &[("time", &time)]), v.theme.dim())
    } else {
        (String::new(), v.theme.dim())
    };
    let current_section = f.slot().map(|s| s.section).unwrap_or(0);
    // A validated form has sections; should one have none, the body is empty.
    let section = f.def.sections.get(current_section);
    let progress = i18n.tf(
        "form.progress",
        &[
            ("done", &done.to_string()),
            ("total", &total.to_string()),
            ("errors", &errors.to_string()),
            ("warnings", &warnings.to_string()),
        ],
    );
    // A long section title gives way to the save state, not the other way.
    let room = (area.width as usize).saturating_sub(width(&progress) + width(&state) + 4);
    let sec = fit(
        &format!(
            "[{}/{}] {}",
            current_section + 1,
            f.def.sections.len(),
            section.map_or("", |s| s.title.get(lang))
        ),
        room,
    );
    lines.push(Line::from(vec![
        Span::styled(progress, if errors > 0 { v.theme.error() } else { v.theme.ok() }),
        Span::raw("  "),
        Span::styled(sec, v.theme.heading()),
        Span::raw("  "),
        Span::styled(state, state_style),
    ]));

    // A fixed line for the focused input's hint and findings: typing changes
    // this line, never the layout below it, so a keystroke costs few bytes.
    lines.push(focus_message(f, v, area.width as usize));

    // Body: the fields of the current section.
    let mut body: Vec<Line> = Vec::new();
    let mut cursor: Option<(usize, usize)> = None; // (line in body, column)
                                                   // The body lines of the focused input (all of a choice's options), and
                                                   // of the whole item it belongs to.
    let mut focus_lines: Option<(usize, usize)> = None;
    let mut item_lines: Option<(usize, usize)> = None;
    for field in section.into_iter().flat_map(|s| &s.fields) {
        if !f.eval.is_visible(&field.id) {
            continue;
        }
        let start = body.len();
        render_field(
            field,
            f,
            v,
            area.width as usize,
            &mut body,
            &mut cursor,
            &mut focus_lines,
        );
        if focus_lines.is_some() && item_lines.is_none() {
            item_lines = Some((start, body.len()));
        }
    }
    let avail = (area.height as usize).saturating_sub(lines.len());
    let offset = scroll_offset(focus_lines, item_lines, avail);
    let header_lines = lines.len();
    lines.extend(body.into_iter().skip(offset).take(avail));
    frame.render_widget(Paragraph::new(lines), area);
    if let Some((line, col)) = cursor {
        if show_cursor && !f.read_only {
            let y = (area.y as usize + header_lines + line).checked_sub(offset);
            if let Some(y) = y.filter(|y| *y < area.bottom() as usize && col < area.width as usize) {
                frame.set_cursor_position(Position::new(area.x + col as u16, y as u16));
            }
        }
    }
}

/// Page-wise scrolling (the view moves only when the focus leaves the
/// page), but the focused input is always shown whole — every option of a
/// choice, not only its first line — and with its item's label above when
/// the page has room for both (a detail, a row of a table).
fn scroll_offset(focus: Option<(usize, usize)>, item: Option<(usize, usize)>, avail: usize) -> usize {
    let Some((start, end)) = focus else { return 0 };
    if avail == 0 {
        return 0;
    }
    let (want_start, want_end) = match item {
        Some((item_start, _)) if item_start <= start && end - item_start <= avail => (item_start, end),
        _ => (start, end),
    };
    let mut offset = (start / avail) * avail;
    if want_end > offset + avail {
        offset = want_end - avail;
    }
    if want_start < offset {
        offset = want_start;
    }
    offset
}

fn focus_message(f: &FormState, v: &View, cols: usize) -> Line<'static> {
    let Some(slot) = f.slot() else { return Line::raw("") };
    let worst = f
        .eval
        .at(&slot.path)
        .filter(|x| !f.typing && f.is_shown(x) && (f.show_required || !is_required_finding(x)))
        .max_by_key(|x| x.level);
    if let Some(x) = worst {
        let (mark, style) = match x.level {
            Level::Error => ("x ", v.theme.error()),
            Level::Warning => ("! ", v.theme.warning()),
        };
        return Line::styled(fit(&format!("{mark}{}", finding_text(x, v)), cols), style);
    }
    let field = f.def.sections.get(slot.section).and_then(|s| s.fields.get(slot.field));
    let hint = match (field, slot.cell) {
        (Some(field), Some((_, c))) => match &field.kind {
            FieldKind::Rows { columns, .. } => columns.get(c).map(|col| hint_text(col, v)).unwrap_or_default(),
            _ => String::new(),
        },
        (Some(field), None) => hint_text(field, v),
        (None, _) => String::new(),
    };
    Line::styled(fit(&hint, cols), v.theme.dim())
}

/// A calculated value (BMI) whose input is being typed waits, like that
/// input's own findings, until the input is left: "5" on the way to "55" kg
/// is not a BMI of 1.9 worth showing, nor an error worth counting, nor the
/// bytes of redrawing them on every keystroke.
fn waits(f: &FormState, path: &str) -> bool {
    let Some(typing) = f.slot().filter(|_| f.typing).map(|s| s.path.as_str()) else {
        return false;
    };
    match f.def.field(path).map(|d| &d.kind) {
        Some(FieldKind::Calculated { formula, .. }) => formula.inputs().contains(&typing),
        _ => false,
    }
}

fn is_required_finding(x: &Finding) -> bool {
    matches!(&x.text, FindingText::Msg(m) if m.key == "rules.required")
}

fn finding_text(f: &Finding, v: &View) -> String {
    match &f.text {
        FindingText::Msg(m) => v.i18n.msg(m),
        FindingText::Form(t) => t.get(v.i18n.lang()).to_string(),
    }
}

/// Findings for one answer path, shown under the field once it is left (the
/// focused input's findings are on the message line). "Required" shows only
/// after a finalize attempt, so an empty form is not a wall of red.
fn findings_lines(f: &FormState, path: &str, focused: bool, v: &View, out: &mut Vec<Line<'static>>) {
    let indent = label_cols(v);
    if f.is_suggested(path) {
        out.push(Line::styled(
            format!("{}~ {}", " ".repeat(indent), v.i18n.t("form.suggested")),
            v.theme.dim(),
        ));
    }
    if focused {
        return;
    }
    for finding in f.eval.at(path) {
        if (is_required_finding(finding) && !f.show_required) || !f.is_shown(finding) {
            continue;
        }
        let (mark, style) = match finding.level {
            Level::Error => ("x ", v.theme.error()),
            Level::Warning => ("! ", v.theme.warning()),
        };
        out.push(Line::styled(
            format!("{}{mark}{}", " ".repeat(indent), finding_text(finding, v)),
            style,
        ));
    }
}

fn render_field(
    field: &Field,
    f: &FormState,
    v: &View,
    cols: usize,
    out: &mut Vec<Line<'static>>,
    cursor: &mut Option<(usize, usize)>,
    focus_lines: &mut Option<(usize, usize)>,
) {
    let lang = v.i18n.lang();
    let label = field.label.get(lang);
    let unit = field.unit.as_deref().map(|u| v.i18n.unit(u)).unwrap_or_default();
    let focused_slot = f.slot();
    let is_focus = |s: &Slot| focused_slot.is_some_and(|fs| fs == s);
    let slots: Vec<&Slot> = f.slots.iter().filter(|s| s.field_id(&f.def) == field.id).collect();
    let req = if f.eval.required.contains(&field.id) { "*" } else { " " };
    let label_w = label_cols(v);
    let label_span = |text: &str, focused: bool| {
        let style = if focused { v.theme.focus() } else { v.theme.label() };
        Span::styled(cell(&format!("{req}{text}"), label_w), style)
    };
    let any_focus = slots.iter().any(|s| is_focus(s));

    match &field.kind {
        FieldKind::Calculated { .. } => {
            let waiting = waits(f, &field.id);
            let value = f
                .eval
                .computed
                .get(&field.id)
                .filter(|_| !waiting)
                .map(|v| fmt_num(*v))
                .unwrap_or_else(|| "—".into());
            out.push(Line::from(vec![
                label_span(label, false),
                Span::styled(format!("{value} {unit}"), v.theme.dim()),
            ]));
            findings_lines(f, &field.id, waiting, v, out);
        }
        FieldKind::Pair { .. } | FieldKind::BloodPressure { .. } => {
            let mut spans = vec![label_span(label, any_focus)];
            let mut col = label_w;
            for (i, s) in slots.iter().enumerate() {
                let sep = match s.part {
                    Part::Diastolic => "/".to_string(),
                    Part::Current => format!("{} ", v.i18n.t("form.current")),
                    Part::Target => format!(" {} ", v.i18n.t("form.target")),
                    _ => {
                        if i > 0 {
                            " ".into()
                        } else {
                            String::new()
                        }
                    }
                };
                col += width(&sep);
                spans.push(Span::raw(sep));
                let (seg, cur) = value_segment(f, s, is_focus(s), v, col);
                if let Some(c) = cur {
                    *cursor = Some((out.len(), c));
                }
                col += seg.iter().map(|sp| width(&sp.content)).sum::<usize>();
                spans.extend(seg);
            }
            spans.push(Span::styled(format!(" {unit}"), v.theme.dim()));
            if any_focus {
                *focus_lines = Some((out.len(), out.len() + 1));
            }
            out.push(Line::from(spans));
            for s in &slots {
                findings_lines(f, &s.path, is_focus(s), v, out);
            }
            findings_lines(f, &field.id, any_focus, v, out);
        }
        FieldKind::Rows { columns, .. } => {
            out.push(Line::from(vec![label_span(label, any_focus)]));
            for s in &slots {
                let Some((row, ci)) = s.cell else { continue };
                let Some(column) = columns.get(ci) else { continue };
                let col_label = format!("  {}. {}", row + 1, column.label.get(lang));
                let style = if is_focus(s) { v.theme.focus() } else { v.theme.label() };
                let mut spans = vec![Span::styled(cell(&col_label, label_w), style)];
                let (seg, cur) = value_segment(f, s, is_focus(s), v, label_w);
                if let Some(c) = cur {
                    *cursor = Some((out.len(), c));
                }
                spans.extend(seg);
                if let Some(u) = &column.unit {
                    spans.push(Span::styled(format!(" {}", v.i18n.unit(u)), v.theme.dim()));
                }
                if is_focus(s) {
                    *focus_lines = Some((out.len(), out.len() + 1));
                }
                out.push(Line::from(spans));
                findings_lines(f, &s.path, is_focus(s), v, out);
            }
            findings_lines(f, &field.id, any_focus, v, out);
        }
        FieldKind::Choice { options } | FieldKind::Multi { options, .. } => {
            let main = slots.iter().find(|s| s.part == Part::Whole);
            let focused = main.is_some_and(|s| is_focus(s));
            let chosen: Vec<String> = match &field.kind {
                FieldKind::Multi { .. } => f.answers.codes(&field.id).to_vec(),
                _ => f
                    .answers
                    .text(&field.id)
                    .map(|s| vec![s.to_string()])
                    .unwrap_or_default(),
            };
            let highlight = if focused && matches!(field.kind, FieldKind::Multi { .. }) {
                Some(f.highlight)
            } else {
                None
            };
            let first = out.len();
            option_lines(
                label_span(label, focused),
                label_w,
                options,
                &chosen,
                highlight,
                cols,
                v,
                out,
            );
            if focused {
                *focus_lines = Some((first, out.len()));
            }
            findings_lines(f, &field.id, focused, v, out);
            if let Some(d) = slots.iter().find(|s| s.part == Part::Detail) {
                let style = if is_focus(d) { v.theme.focus() } else { v.theme.label() };
                let mut spans = vec![Span::styled(
                    cell(&format!("  {}", v.i18n.t("form.detail")), label_w),
                    style,
                )];
                let (seg, cur) = value_segment(f, d, is_focus(d), v, label_w);
                if let Some(c) = cur {
                    *cursor = Some((out.len(), c));
                }
                spans.extend(seg);
                if is_focus(d) {
                    *focus_lines = Some((out.len(), out.len() + 1));
                }
                out.push(Line::from(spans));
                findings_lines(f, &d.path, is_focus(d), v, out);
            }
        }
        _ => {
            let Some(s) = slots.first() else { return };
            let focused = is_focus(s);
            let mut spans = vec![label_span(label, focused)];
            let (seg, cur) = value_segment(f, s, focused, v, label_w);
            if let Some(c) = cur {
                *cursor = Some((out.len(), c));
            }
            spans.extend(seg);
            spans.push(Span::styled(format!(" {unit}"), v.theme.dim()));
            if focused {
                *focus_lines = Some((out.len(), out.len() + 1));
            }
            out.push(Line::from(spans));
            findings_lines(f, &s.path, focused, v, out);
        }
    }
}

fn hint_text(field: &Field, v: &View) -> String {
    let lang = v.i18n.lang();
    match (&field.hint, &field.kind) {
        (Some(h), _) => h.get(lang).to_string(),
        (None, FieldKind::Date { .. }) => v.i18n.t("form.date_hint").to_string(),
        _ => String::new(),
    }
}

/// The typed value of one input: `[value____]`, the cursor column if focused.
fn value_segment(f: &FormState, s: &Slot, focused: bool, v: &View, col: usize) -> (Vec<Span<'static>>, Option<usize>) {
    if let FieldKind::Choice { options } = s.kind(&f.def) {
        // A choice inside a pair or a row: show the chosen option's label.
        let code = f.answers.text(&s.path).unwrap_or("");
        let label = options
            .iter()
            .find(|o| o.code == code)
            .map(|o| format!("{code} {}", o.label.get(v.i18n.lang())))
            .unwrap_or_else(|| code.to_string());
        let all: Vec<String> = options
            .iter()
            .map(|o| format!("{}{}", o.code, o.label.get(v.i18n.lang())))
            .collect();
        let style = if focused { v.theme.focus() } else { v.theme.chosen() };
        let mut spans = vec![Span::styled(format!("[{}]", pad(&label, 8)), style)];
        if focused {
            spans.push(Span::styled(format!(" {}", all.join(" ")), v.theme.dim()));
        }
        return (spans, None);
    }
    let text = if focused {
        f.edit.text().to_string()
    } else {
        f.answers.text(&s.path).unwrap_or("").to_string()
    };
    let field_width = match s.kind(&f.def) {
        FieldKind::Integer(_) | FieldKind::Decimal(_) => 7,
        FieldKind::Date { .. } => 12,
        FieldKind::IdNumber => 20,
        FieldKind::Phone => 14,
        _ => 40,
    };
    let w = width(&text).max(field_width);
    let shown = pad(&text, w);
    let style = if focused { v.theme.focus() } else { Style::new() };
    let cursor = focused.then(|| col + 1 + f.edit.cursor_column());
    (vec![Span::raw("["), Span::styled(shown, style), Span::raw("]")], cursor)
}

/// Options laid out as on paper (`1 门诊  2 家庭  3 电话`), wrapped to the width.
#[allow(clippy::too_many_arguments)]
fn option_lines(
    label: Span<'static>,
    label_w: usize,
    options: &[ChoiceOption],
    chosen: &[String],
    highlight: Option<usize>,
    cols: usize,
    v: &View,
    out: &mut Vec<Line<'static>>,
) {
    let lang = v.i18n.lang();
    let mut line: Vec<Span<'static>> = vec![label];
    let mut used = label_w;
    for (i, o) in options.iter().enumerate() {
        let is_chosen = chosen.contains(&o.code);
        let text = if is_chosen {
            format!("<{} {}>", o.code, o.label.get(lang))
        } else {
            format!(" {} {} ", o.code, o.label.get(lang))
        };
        let w = width(&text) + 1;
        if used + w > cols && used > label_w {
            out.push(Line::from(std::mem::take(&mut line)));
            line.push(Span::raw(" ".repeat(label_w)));
            used = label_w;
        }
        let mut style = if is_chosen { v.theme.chosen() } else { Style::new() };
        if highlight == Some(i) {
            style = style.patch(v.theme.selected());
        }
        line.push(Span::styled(text, style));
        line.push(Span::raw(" "));
        used += w;
    }
    out.push(Line::from(line));
}
