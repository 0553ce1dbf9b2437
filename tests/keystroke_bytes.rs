//! Bytes written to the terminal per keystroke (issue 12, part 7): typing
//! into a decimal input of the health exam costs at most 64 bytes a key at
//! 80x24, in both languages, with colours and without — through the real
//! core, views, ratatui's diff and the terminal backend jkda draws with.
//! Over SSH or a slow line each byte of the echo is latency.

mod common;

use common::form_app::{self, clock};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::app::{App, FormState, Msg, Screen};
use jkda::form::def::FieldKind;
use jkda::i18n::{I18n, Lang};
use jkda::tui_backend::LeanBackend;
use jkda::ui::{Theme, View};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// The health exam open for a woman of 76 (so the items for the elderly show).
fn exam(lang: Lang) -> App {
    form_app::app("health-exam", lang)
}

fn form(app: &App) -> &FormState {
    match &app.screen {
        Screen::Form(f) => f,
        _ => panic!("not on a form"),
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), &clock());
}

type Term = Terminal<LeanBackend<Vec<u8>>>;

/// Handles one key and draws the frame; the bytes that frame wrote.
fn press(app: &mut App, term: &mut Term, view: &View, code: KeyCode) -> Vec<u8> {
    key(app, code);
    if code == KeyCode::Tab {
        // Leaving an item saves it; the shell answers like this.
        app.update(Msg::Saved { record_id: 1 }, &clock());
    }
    let before = term.backend().writer().len();
    term.draw(|f| jkda::ui::draw(f, app, view)).unwrap();
    term.backend().writer().get(before..).unwrap_or_default().to_vec()
}

/// Fills the whole exam as a person would (a plausible value in every
/// input, then Tab), returning for each key typed into a decimal input its
/// item and the bytes it cost — unless the key brought another item into
/// view or out of it.
fn decimal_keys(lang: Lang, color: bool) -> Vec<(String, String)> {
    let i18n = I18n::new(lang);
    let view = View {
        i18n: &i18n,
        theme: Theme { color },
    };
    let mut app = exam(lang);
    let mut term = Terminal::with_options(
        LeanBackend::new(Vec::new()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 80, 24)),
        },
    )
    .unwrap();
    term.draw(|f| jkda::ui::draw(f, &app, &view)).unwrap();
    let mut out = Vec::new();
    for _ in 0..400 {
        let f = form(&app);
        let Some(slot) = f.slot().cloned() else { break };
        if f.cursor + 1 >= f.slots.len() {
            break;
        }
        let kind = slot.kind(&f.def).clone();
        let typed: String = match &kind {
            _ if slot.cell.is_some_and(|(row, _)| row > 0) => String::new(),
            FieldKind::Integer(_) => "72".into(),
            FieldKind::Decimal(_) => match slot.path.as_str() {
                "height" => "158.5".into(),
                "weight" => "56.5".into(),
                "waist" => "80.5".into(),
                _ => "36.5".into(),
            },
            FieldKind::Date { .. } => "20261129".into(),
            FieldKind::Choice { options } | FieldKind::Multi { options, .. } => options[0].code.clone(),
            FieldKind::Text { .. } => "无".into(),
            _ => String::new(),
        };
        for ch in typed.chars() {
            let items_before = form(&app).slots.len();
            let bytes = press(&mut app, &mut term, &view, KeyCode::Char(ch));
            // A first digit may bring an item into view (the unit of a
            // blood glucose): that key redraws the page below, as it must.
            let same_items = form(&app).slots.len() == items_before;
            if matches!(kind, FieldKind::Decimal(_)) && same_items {
                out.push((slot.path.clone(), String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        if matches!(kind, FieldKind::Multi { .. }) {
            press(&mut app, &mut term, &view, KeyCode::Char(' '));
        }
        press(&mut app, &mut term, &view, KeyCode::Tab);
    }
    out
}

#[test]
fn typing_into_a_decimal_input_costs_at_most_64_bytes_a_key() {
    for lang in [Lang::Zh, Lang::En] {
        for color in [true, false] {
            let keys = decimal_keys(lang, color);
            let items: std::collections::BTreeSet<&str> = keys.iter().map(|(p, _)| p.as_str()).collect();
            for item in ["temperature", "height", "weight", "waist"] {
                assert!(items.contains(item), "{item} was not typed into ({lang:?}): {items:?}");
            }
            for (item, bytes) in &keys {
                assert!(
                    bytes.len() <= 64,
                    "{lang:?}, colour {color}: a key in {item} wrote {} bytes: {}",
                    bytes.len(),
                    bytes.escape_debug()
                );
            }
            // Most keys only echo the digit in the focus style.
            let mut sizes: Vec<usize> = keys.iter().map(|(_, b)| b.len()).collect();
            sizes.sort_unstable();
            assert!(sizes[sizes.len() / 2] <= 16, "median {} bytes", sizes[sizes.len() / 2]);
        }
    }
}

/// The BMI waits while its weight is typed ("5" on the way to "56.5" is not
/// a BMI of 2), and is there as soon as the weight is left.
#[test]
fn the_bmi_shows_once_the_weight_is_left() {
    let i18n = I18n::new(Lang::Zh);
    let view = View {
        i18n: &i18n,
        theme: Theme { color: false },
    };
    let mut app = exam(Lang::Zh);
    for _ in 0..80 {
        if form(&app).focus_path().as_deref() == Some("height") {
            break;
        }
        key(&mut app, KeyCode::Tab);
    }
    for ch in "160".chars() {
        key(&mut app, KeyCode::Char(ch));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(form(&app).focus_path().as_deref(), Some("weight"));
    let screen = |app: &App| {
        let mut term = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        term.draw(|f| jkda::ui::draw(f, app, &view)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for ch in "5".chars() {
        key(&mut app, KeyCode::Char(ch));
    }
    let typing = screen(&app);
    let bmi_line = |s: &str| s.lines().find(|l| l.contains("kg/m²")).unwrap_or_default().to_string();
    assert!(bmi_line(&typing).contains("—"), "no BMI of a weight of 5 kg:\n{typing}");
    for ch in "0".chars() {
        key(&mut app, KeyCode::Char(ch));
    }
    key(&mut app, KeyCode::Tab);
    let left = screen(&app);
    assert!(bmi_line(&left).contains("19.5"), "BMI of 50 kg at 160 cm:\n{left}");
}
