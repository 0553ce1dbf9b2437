//! Issue 12, keys as data, through the real binary in a pseudo-terminal at
//! 80×24 in both languages: a site's `keymap.toml` in the data directory
//! changes what a key does and what the screen says about it (hint line,
//! help, instructions), a clash in it is reported with its line, and the
//! help scrolls so that no key is cut.

mod common;

use common::*;

const PAGE_DOWN: &str = "\x1b[6~";
const F1: &str = "\x1bOP";
const F2: &str = "\x1bOQ";
const CTRL_B: &str = "\x02";

/// Line 5 gives Ctrl-N a second action in [form]: reported, and kept as
/// "next section".
const SITE_KEYS: &str =
    "# our own keys\n[list]\nnew_resident = [\"ctrl-b\", \"f7\"]\n[form]\nfinalize = [\"ctrl-n\"]\n";

fn log_in(tui: &mut Tui, english: bool) {
    if !english {
        login(tui, "li", DOCTOR_PW);
        return;
    }
    tui.wait_for("Login");
    tui.send("li");
    tui.send(TAB);
    tui.send(DOCTOR_PW);
    tui.send(ENTER);
    tui.wait_for("Find:");
}

#[test]
fn a_site_keymap_is_what_the_program_does_and_says_at_80x24() {
    for english in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        install(dir.path(), 0);
        std::fs::write(dir.path().join("keymap.toml"), SITE_KEYS).unwrap();
        let args: &[&str] = if english { &["--lang", "en"] } else { &[] };
        let mut tui = Tui::start(dir.path(), args, 80, 24);
        log_in(&mut tui, english);
        let (line, register, empty) = if english {
            ("line 5", "Ctrl-B Register", "Press Ctrl-B / F7 to register")
        } else {
            ("第 5 行", "Ctrl-B 新建档案", "按 Ctrl-B / F7 为第一位居民建档")
        };
        let screen = tui.wait_for(line);
        assert!(screen.contains("Ctrl-N"), "the clash is named:\n{screen}");
        assert!(screen.contains(register), "the hint line:\n{screen}");
        assert!(screen.contains(empty), "the instruction:\n{screen}");

        // The help, a page at a time: every line whole, the site's keys in it.
        tui.send(F1);
        let first = tui.wait_for(if english { "Anywhere" } else { "任何时候" });
        let mut pages = first.clone();
        for _ in 0..4 {
            tui.send(PAGE_DOWN);
            std::thread::sleep(std::time::Duration::from_millis(200));
            pages.push_str(&tui.screen());
        }
        assert!(!pages.contains('…'), "nothing is cut:\n{pages}");
        assert!(pages.contains("Ctrl-B / F7"), "{pages}");
        assert!(pages.contains("PgDn / Ctrl-N"), "Ctrl-N stays next section:\n{pages}");
        assert!(pages.contains("Shift-Tab / ↑"), "{pages}");
        tui.send(ESC);
        tui.wait_for(empty);

        // F2 no longer registers; Ctrl-B does.
        tui.send(F2);
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(tui.screen().contains(empty), "F2 did something:\n{}", tui.screen());
        tui.send(CTRL_B);
        tui.wait_for(if english {
            "Health record cover page"
        } else {
            "居民健康档案封面"
        });
        // Finalize kept its built-in keys (the clashing line was ignored).
        tui.wait_for(if english { "F10 Finalize" } else { "F10 完成" });
        tui.send(ESC);
        tui.wait_for(if english { "Record no." } else { "档案编号" });
        tui.send(CTRL_Q);
        assert!(tui.wait_exit(), "jkda quit cleanly");
    }
}
