//! Completions, the manual page and quiet progress (issue 10, part 8):
//! generated from the command definitions, and a long command writes no
//! progress bar into a pipe.

mod common;

use std::process::Command;

fn jkda(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jkda")).args(args).output().unwrap()
}

#[test]
fn completions_and_the_manual_cover_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = jkda(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for command in ["worklist", "sync", "backup", "doctor", "audit"] {
            assert!(text.contains(command), "{shell} completes {command}");
        }
    }
    let out = jkda(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with(".ie") || page.contains(".TH jkda 1"), "{page}");
    assert!(
        page.contains("completions") && page.contains("support\\-bundle"),
        "{page}"
    );
    assert_eq!(
        jkda(&["completions", "tcsh"]).status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_demo_writes_no_progress_bar_into_a_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    // A data directory jkda makes itself (private), so no warning either.
    let dir = tmp.path().join("data");
    let out = common::run_jkda_input(&dir, &["init", "--no-encrypt"], &format!("{}\n", common::ADMIN_PW));
    assert!(out.status.success());
    let out = common::run_jkda(&dir, &["--lang", "en", "demo", "--residents", "20"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "stderr: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("20"));
}
