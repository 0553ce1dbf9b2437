//! Files jkda reads whole are read up to a ceiling (issue 13, item 9):
//! `jkda forms check /dev/zero` once grew to 5.5 GB before it was killed.
//! Each case runs the real binary on something without an end — /dev/zero
//! itself, or a config file that is a link to it — and must stop at once
//! with a message naming the file and the ceiling. The child's address
//! space is limited to 1 GiB, so the unbounded behaviour fails the test
//! (an allocation failure) instead of taking the machine's memory.

// Test plumbing only: a memory limit for the child, a FIFO, a kill.
#![allow(unsafe_code)]
#![cfg(unix)]

use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs jkda (`--lang en`) with `stdin`, at most 1 GiB of address space
/// and 60 s; returns its output and how long it took.
fn jkda(data: &Path, args: &[&str], stdin: Stdio) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jkda"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["--lang", "en"])
        .args(args)
        .env_remove("JKDA_FORMS_DIR")
        .env_remove("JKDA_DATA_DIR")
        .env_remove("JKDA_KEY_FILE")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd.spawn().expect("jkda starts");
    let pid = child.id();
    // A watchdog: an unbounded read must not hang the test run.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            // SAFETY: kill takes plain integers; the pid is our own child's.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().expect("jkda ends");
    let _ = tx.send(());
    let _ = watchdog.join();
    (out, started.elapsed())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn forms_check_of_dev_zero_stops_at_the_ceiling_and_says_so() {
    let data = tempfile::tempdir().unwrap();
    let (out, took) = jkda(data.path(), &["forms", "check", "/dev/zero"], Stdio::null());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{:?}: {err}", out.status);
    assert!(err.contains("/dev/zero is larger than 2 MB and was not read"), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_config_file_without_an_end_is_reported_and_the_defaults_used() {
    let data = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", data.path().join("config.toml")).unwrap();
    let (out, _) = jkda(data.path(), &["paths"], Stdio::null());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{:?}: {err}", out.status);
    assert!(err.contains("config.toml is larger than 1 MB"), "{err}");
    assert!(text(&out.stdout).contains(&data.path().display().to_string()));
}

#[test]
fn a_key_file_without_an_end_is_refused() {
    let data = tempfile::tempdir().unwrap();
    // A pipe that gives zeros for as long as anyone reads, private to this
    // account and outside the data directory, as a key file must be.
    let keys = tempfile::tempdir().unwrap();
    let fifo = keys.path().join("db.key");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            // Opening waits for the reader; writing stops when it goes.
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                let zeros = vec![0u8; 1 << 16];
                while f.write_all(&zeros).is_ok() {}
            }
        })
    };
    let (out, _) = jkda(
        data.path(),
        &["--key-file", fifo.to_str().unwrap(), "residents", "search", "x"],
        Stdio::null(),
    );
    let err = text(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c != 0), "{:?}: {err}", out.status);
    assert!(err.contains("db.key is larger than 64 KB"), "{err}");
    // If jkda never opened the pipe, the writer still waits for a reader:
    // one that does not wait for a writer in turn lets it go.
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo);
    writer.join().unwrap();
}

#[test]
fn a_password_line_without_an_end_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let (out, _) = jkda(
        data.path(),
        &[
            "init",
            "--site-name",
            "测试村卫生室",
            "--division",
            "220602",
            "--township",
            "101",
            "--village",
            "101",
        ],
        Stdio::from(zero),
    );
    let err = text(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c != 0), "{:?}: {err}", out.status);
    assert!(err.contains("stdin is larger than 4 KB"), "{err}");
    assert!(!data.path().join("jkda.db").exists());
}
