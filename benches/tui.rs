//! TUI benchmark (prints figures; asserts nothing about time).
//! Release build, a data directory with 10 000 demo residents:
//! - start to first drawn frame of the real binary in a pseudo-terminal;
//! - CPU time per keystroke filling the whole health exam (median, p99);
//! - bytes written to the terminal per keystroke (median, p99), through the
//!   backend jkda draws with, beside what ratatui's crossterm backend would
//!   have written for the same frames; typing into a decimal input (体温,
//!   身高, 体重 …) on its own (median, p95);
//! - peak RSS of the real binary after searching and opening the health exam.
//!
//! Run: `cargo bench --bench tui`. The load average (from /proc/loadavg) is
//! printed before and after the keystrokes: the CPU figures depend on it.

#[path = "../tests/common/mod.rs"]
mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::app::{App, Msg, Screen};
use jkda::form::def::FieldKind;
use jkda::form::Registry;
use jkda::i18n::{I18n, Lang};
use jkda::shell::Shell;
use jkda::store::{Actor, Store};
use jkda::tui::system_clock;
use jkda::tui_backend::LeanBackend;
use jkda::ui::{Theme, View};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RESIDENTS: u32 = 10_000;

/// Per kind of key: update + effects CPU ms, draw CPU ms, bytes written,
/// bytes ratatui's crossterm backend would have written.
type KindFigures = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

#[derive(Clone, Default)]
struct Counting(Arc<Mutex<usize>>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().unwrap() += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[allow(unsafe_code)] // the CPU clock is a libc call
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    common::install(dir.path(), RESIDENTS);
    println!(
        "encrypted install with {RESIDENTS} demo residents in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 1. Start to first frame, real binary in a pseudo-terminal.
    let mut firsts = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut tui = common::Tui::start(dir.path(), &[], 80, 24);
        tui.wait_for("登录名");
        firsts.push(t.elapsed().as_secs_f64() * 1000.0);
        tui.send(common::CTRL_Q);
        tui.wait_exit();
    }
    firsts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "start to first frame (login screen): median {:.1} ms, max {:.1} ms (target <= 100 ms)",
        pct(&firsts, 0.5),
        pct(&firsts, 1.0)
    );
    let mut lists = Vec::new();
    for _ in 0..3 {
        let mut tui = common::Tui::start(dir.path(), &[], 80, 24);
        tui.wait_for("登录名");
        let t = Instant::now();
        common::login(&mut tui, "li", common::DOCTOR_PW);
        tui.wait_for("查找");
        lists.push(t.elapsed().as_secs_f64() * 1000.0);
        tui.send(common::CTRL_Q);
        tui.wait_exit();
    }
    lists.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "login (argon2id + opening the encrypted database) to the resident list: median {:.1} ms",
        pct(&lists, 0.5)
    );

    // 2 + 3. Keystrokes through the real core, shell, store and renderer.
    let mut keyring = jkda::store::crypt::Keyring::load(dir.path()).unwrap().unwrap();
    let db_key = keyring
        .unlock("li", &common::DOCTOR_PW.into(), chrono::Utc::now())
        .unwrap();
    let store = Store::open_with_key(&dir.path().join("jkda.db"), Some(&db_key)).unwrap();
    let site = store.site().unwrap();
    let i18n = I18n::new(Lang::Zh);
    let mut app = App::new(Lang::Zh, jkda::keymap::Keymap::default(), site, &system_clock());
    let mut shell = Shell::new(
        store,
        Registry::embedded(),
        Actor::with_role("li", jkda::store::Role::Doctor),
    );
    let counter = Counting::default();
    // Fixed, as in the real program (src/tui.rs, which adds one ioctl per
    // frame), drawing through the same backend.
    let options = || ratatui::TerminalOptions {
        viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 80, 24)),
    };
    let mut terminal = Terminal::with_options(LeanBackend::new(counter.clone()), options()).unwrap();
    // The same frames through ratatui's crossterm backend, for comparison
    // (not timed).
    let stock_counter = Counting::default();
    let mut stock = Terminal::with_options(CrosstermBackend::new(stock_counter.clone()), options()).unwrap();
    let view = View {
        i18n: &i18n,
        theme: Theme { color: true },
    };
    let clock = system_clock();
    for m in shell.startup(&mut app, &clock) {
        shell.dispatch(&mut app, m, &clock);
    }
    terminal.draw(|f| jkda::ui::draw(f, &app, &view)).unwrap();
    stock.draw(|f| jkda::ui::draw(f, &app, &view)).unwrap();
    // Open the first resident and start a health exam.
    shell.dispatch(&mut app, key(KeyCode::Enter), &clock);
    shell.dispatch(&mut app, key(KeyCode::Char('n')), &clock);
    let exam_index = app.visit_forms.iter().position(|(id, _)| id == "health-exam").unwrap() + 1;
    shell.dispatch(
        &mut app,
        key(KeyCode::Char(char::from_digit(exam_index as u32, 10).unwrap())),
        &clock,
    );
    assert!(matches!(app.screen, Screen::Form(_)), "health exam did not open");
    terminal.draw(|f| jkda::ui::draw(f, &app, &view)).unwrap();
    stock.draw(|f| jkda::ui::draw(f, &app, &view)).unwrap();

    let mut cpu = Vec::new();
    let mut bytes = Vec::new();
    let mut stock_bytes = Vec::new();
    // Per kind of key: typing into an input (a decimal one apart), or Tab to
    // the next one (which saves).
    let mut by_kind: std::collections::BTreeMap<&str, KindFigures> = Default::default();
    let load_before = loadavg();
    let mut press = |app: &mut App,
                     shell: &mut Shell,
                     terminal: &mut Terminal<LeanBackend<Counting>>,
                     stock: &mut Terminal<CrosstermBackend<Counting>>,
                     msg: Msg,
                     decimal: bool| {
        let kind = match &msg {
            Msg::Key(k) if k.code == KeyCode::Tab => "Tab (next input, saves)",
            _ if decimal => "typing into a decimal input",
            _ => "typing into another input",
        };
        let before_bytes = *counter.0.lock().unwrap();
        let c0 = thread_cpu();
        shell.dispatch(app, msg, &system_clock());
        let c1 = thread_cpu();
        terminal.draw(|f| jkda::ui::draw(f, app, &view)).unwrap();
        let c2 = thread_cpu();
        let ms = (c2 - c0).as_secs_f64() * 1000.0;
        let b = (*counter.0.lock().unwrap() - before_bytes) as f64;
        let stock_before = *stock_counter.0.lock().unwrap();
        stock.draw(|f| jkda::ui::draw(f, app, &view)).unwrap();
        let sb = (*stock_counter.0.lock().unwrap() - stock_before) as f64;
        stock_bytes.push(sb);
        cpu.push(ms);
        bytes.push(b);
        let e = by_kind.entry(kind).or_default();
        e.0.push((c1 - c0).as_secs_f64() * 1000.0);
        e.1.push((c2 - c1).as_secs_f64() * 1000.0);
        e.2.push(b);
        e.3.push(sb);
    };
    // Walk every input of the exam, typing a plausible value into each.
    for _ in 0..400 {
        let Screen::Form(f) = &app.screen else { break };
        let Some(slot) = f.slot().cloned() else { break };
        if f.cursor + 1 >= f.slots.len() {
            break;
        }
        let is_multi = matches!(slot.kind(&f.def), FieldKind::Multi { .. });
        let decimal = matches!(slot.kind(&f.def), FieldKind::Decimal(_));
        let typed: String = match slot.kind(&f.def) {
            // One row of each repeating table is enough; the blank row ends it.
            _ if slot.cell.is_some_and(|(row, _)| row > 0) => String::new(),
            FieldKind::Integer(_) => "72".into(),
            FieldKind::Decimal(_) => "36.5".into(),
            FieldKind::Date { .. } => "20261129".into(),
            FieldKind::Choice { options } | FieldKind::Multi { options, .. } => options[0].code.clone(),
            FieldKind::Text { .. } => "无".into(),
            _ => String::new(),
        };
        for ch in typed.chars() {
            let k = key(KeyCode::Char(ch));
            press(&mut app, &mut shell, &mut terminal, &mut stock, k, decimal);
        }
        if is_multi {
            press(
                &mut app,
                &mut shell,
                &mut terminal,
                &mut stock,
                key(KeyCode::Char(' ')),
                false,
            );
        }
        press(
            &mut app,
            &mut shell,
            &mut terminal,
            &mut stock,
            key(KeyCode::Tab),
            false,
        );
    }
    let load_after = loadavg();
    if let Screen::Form(f) = &app.screen {
        println!(
            "the exam's answers at the end: {} items, {} bytes of JSON",
            f.answers.len(),
            serde_json::to_string(&f.answers).map(|j| j.len()).unwrap_or(0)
        );
    }
    println!("load average (1 min) before the keystrokes {load_before}, after {load_after}");
    cpu.sort_by(|a, b| a.partial_cmp(b).unwrap());
    bytes.sort_by(|a, b| a.partial_cmp(b).unwrap());
    stock_bytes.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "health exam, {} keystrokes: CPU per keystroke median {:.3} ms, p99 {:.3} ms (target p99 <= 1 ms)",
        cpu.len(),
        pct(&cpu, 0.5),
        pct(&cpu, 0.99)
    );
    println!(
        "bytes to the terminal per keystroke: median {:.0}, p99 {:.0} (target median <= 100); \
         ratatui's crossterm backend for the same frames: median {:.0}, p99 {:.0}",
        pct(&bytes, 0.5),
        pct(&bytes, 0.99),
        pct(&stock_bytes, 0.5),
        pct(&stock_bytes, 0.99)
    );
    for (kind, (mut update, mut draw, mut b, mut sb)) in by_kind {
        for v in [&mut update, &mut draw, &mut b, &mut sb] {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        }
        println!(
            "  {kind}: {} keys; update + effects median {:.3} ms, p99 {:.3} ms; draw median {:.3} ms, p99 {:.3} ms; \
             bytes median {:.0}, p95 {:.0}, p99 {:.0}, max {:.0} (crossterm backend: median {:.0}, p95 {:.0})",
            b.len(),
            pct(&update, 0.5),
            pct(&update, 0.99),
            pct(&draw, 0.5),
            pct(&draw, 0.99),
            pct(&b, 0.5),
            pct(&b, 0.95),
            pct(&b, 0.99),
            pct(&b, 1.0),
            pct(&sb, 0.5),
            pct(&sb, 0.95)
        );
    }

    // 4. Peak RSS of the real binary after searching and opening the exam.
    let mut tui = common::Tui::start(dir.path(), &[], 80, 24);
    common::login(&mut tui, "li", common::DOCTOR_PW);
    // The exam typed above is still an open draft, so jkda reopens it first.
    tui.wait_for("健康体检表");
    tui.send(common::ESC);
    tui.wait_for("档案编号");
    tui.send(common::ESC);
    tui.wait_for("查找");
    for q in ["wang", "张", "1234", "li"] {
        tui.send(q);
        std::thread::sleep(Duration::from_millis(100));
        tui.send(common::ESC);
    }
    tui.send(common::ENTER);
    tui.wait_for("档案编号");
    tui.send("n");
    tui.send(&exam_index.to_string());
    tui.wait_for("健康体检表");
    let status = std::fs::read_to_string(format!("/proc/{}/status", tui.pid())).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    println!(
        "peak RSS of jkda (10 000 residents, searched, health exam open): {} (target <= 20 MB)",
        hwm.trim_start_matches("VmHWM:").trim()
    );
    tui.send(common::CTRL_Q);
    tui.wait_exit();
    let size = std::fs::metadata(dir.path().join("jkda.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("database size: {:.1} MB", size as f64 / 1e6);
}
