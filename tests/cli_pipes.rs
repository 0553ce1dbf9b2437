//! Commands whose output goes into a pipe that closes early (issue 13,
//! item 10): `jkda residents search … | head -1` panicked with "failed
//! printing to stdout: Broken pipe". Each case runs the real binary with
//! stdout on a pipe, reads one line, closes the pipe while the program is
//! still writing, and expects what `head` users expect of any Unix tool:
//! the program ends at once (killed by SIGPIPE, status 141 in a shell, or
//! 0) and says nothing on stderr.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` with stdout on a pipe of one page (Linux; elsewhere the
/// system's size), reads its first line, closes the pipe and waits (60 s
/// at most). Returns the line, the exit status and stderr.
#[allow(unsafe_code)]
fn first_line_then_close(mut cmd: Command) -> (String, ExitStatus, String) {
    let mut fds = [0; 2];
    // Close-on-exec: no program started meanwhile (this one, or another
    // test's) may hold the read end open.
    // SAFETY: pipe2 writes two descriptors into the array we own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned here only.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(target_os = "linux")]
    // SAFETY: fcntl on a descriptor we own. A small pipe makes sure the
    // program is still writing when the pipe closes, however fast it is.
    unsafe {
        libc::fcntl(fds[0], libc::F_SETPIPE_SZ, 4096);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    // Drop our copy of the write end (the child holds its own).
    drop(cmd);
    let mut reader = BufReader::new(std::fs::File::from(read));
    let mut line = String::new();
    reader.read_line(&mut line).expect("a first line");
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running a minute after its output was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (line, status, stderr)
}

fn assert_quiet_end(what: &str, status: ExitStatus, stderr: &str) {
    assert!(
        status.code() == Some(0) || status.signal() == Some(libc::SIGPIPE),
        "{what}: {status:?}, stderr: {stderr}"
    );
    assert_eq!(stderr, "", "{what}: nothing on stderr");
}

fn jkda(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jkda"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("JKDA_FORMS_DIR")
        .env_remove("JKDA_DATA_DIR")
        .env_remove("JKDA_KEY_FILE");
    cmd
}

/// A plaintext installation in a private directory (no permission warning
/// on stderr) with `residents` demo residents.
fn installed(residents: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut init = jkda(
        dir.path(),
        &[
            "init",
            "--no-encrypt",
            "--site-name",
            "测试村卫生室",
            "--division",
            "220602",
            "--township",
            "101",
            "--village",
            "101",
        ],
    );
    let mut child = init.stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), "管理员密码2026\n".as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let out = jkda(dir.path(), &["demo", "--residents", &residents.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[test]
fn residents_search_into_a_closed_pipe_ends_quietly() {
    let data = installed(1000);
    // Every resident with a z in the initials of their name: hundreds of rows.
    let (line, status, stderr) = first_line_then_close(jkda(
        data.path(),
        &["--lang", "en", "residents", "search", "z", "--limit", "5000"],
    ));
    assert!(!line.trim().is_empty());
    assert_quiet_end("residents search", status, &stderr);
    // And as JSON.
    let (line, status, stderr) = first_line_then_close(jkda(
        data.path(),
        &["residents", "search", "z", "--limit", "5000", "--json"],
    ));
    assert_eq!(line.trim(), "[");
    assert_quiet_end("residents search --json", status, &stderr);
}

#[test]
fn a_form_exported_into_a_closed_pipe_ends_quietly() {
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(data.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // The health examination's Questionnaire is over 100 KB of JSON.
    let (line, status, stderr) = first_line_then_close(jkda(
        data.path(),
        &["forms", "export", "health-exam", "--format", "fhir"],
    ));
    assert_eq!(line.trim(), "{");
    assert_quiet_end("forms export", status, &stderr);
}

#[test]
fn a_hub_report_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let conn = jkda::hub::storage::open(&db).unwrap();
    for i in 0..40 {
        jkda::hub::storage::add_site(&conn, &format!("site{i}"), &format!("卫生室{i}")).unwrap();
    }
    drop(conn);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jkda-hub"));
    // Forty sites as JSON: about 200 KB.
    cmd.arg("--db")
        .arg(&db)
        .args(["report", "--period", "2026-11", "--json"]);
    let (line, status, stderr) = first_line_then_close(cmd);
    assert!(!line.trim().is_empty());
    assert_quiet_end("jkda-hub report", status, &stderr);
}
