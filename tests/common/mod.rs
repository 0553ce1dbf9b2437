//! Runs the real `jkda` binary in a pseudo-terminal and reads its screen
//! through a terminal-emulator parser, as a person at the keyboard would.

#![allow(dead_code)]

pub mod form_app;

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Tui {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    bytes: Arc<Mutex<usize>>,
    /// Kept for resizing; it must outlive the child.
    master: Box<dyn portable_pty::MasterPty + Send>,
}

pub const CTRL_E: &str = "\x05";
pub const CTRL_F: &str = "\x06";
pub const CTRL_Q: &str = "\x11";
pub const CTRL_R: &str = "\x12";
pub const TAB: &str = "\t";
pub const ENTER: &str = "\r";
pub const ESC: &str = "\x1b";

impl Tui {
    pub fn start(data_dir: &Path, args: &[&str], cols: u16, rows: u16) -> Tui {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_jkda"));
        cmd.arg("--data-dir");
        cmd.arg(data_dir);
        for a in args {
            cmd.arg(a);
        }
        cmd.env("NO_COLOR", "1");
        cmd.env("TERM", "xterm-256color");
        cmd.env("USER", "e2e-doctor");
        let child = pair.slave.spawn_command(cmd).expect("spawn jkda");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let bytes = Arc::new(Mutex::new(0usize));
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let (p, b) = (parser.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                *b.lock().unwrap() += n;
            }
        });
        let writer = pair.master.take_writer().expect("writer");
        Tui {
            parser,
            writer,
            child,
            bytes,
            master: pair.master,
        }
    }

    /// Resizes the terminal, as a user dragging the window or an SSH client would.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.lock().unwrap().screen_mut().set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize pty");
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The text drawn in the focus style (underlined), one entry per screen
    /// row that has any, as (row, column of the first such cell, text).
    pub fn focused(&self) -> Vec<(u16, u16, String)> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let mut out = Vec::new();
        for r in 0..rows {
            let mut text = String::new();
            let mut first = None;
            for c in 0..cols {
                if let Some(cell) = screen.cell(r, c) {
                    if cell.underline() {
                        first.get_or_insert(c);
                        text.push_str(cell.contents());
                    }
                }
            }
            if let Some(c) = first {
                out.push((r, c, text));
            }
        }
        out
    }

    pub fn bytes_read(&self) -> usize {
        *self.bytes.lock().unwrap()
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("write to pty");
        self.writer.flush().unwrap();
        // Separate keystrokes so that Esc is not read as the start of a sequence.
        std::thread::sleep(Duration::from_millis(60));
    }

    /// Waits until the screen shows `text`; panics with the screen if not.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    /// SIGKILL: no chance to save anything on the way out.
    pub fn kill9(mut self) {
        let pid = self.pid();
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let _ = self.child.wait();
    }

    pub fn wait_exit(mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        false
    }
}

pub fn run_jkda(data_dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jkda"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("USER", "e2e-doctor")
        .output()
        .expect("run jkda")
}

/// Runs jkda with `stdin` piped in (passwords, one per line).
pub fn run_jkda_input(data_dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jkda"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("USER", "e2e-os-user")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jkda");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("jkda output")
}

pub const ADMIN_PW: &str = "管理员密码2026";
pub const DOCTOR_PW: &str = "doctor-pass-1";
/// The password the administrator gave the doctor's new account.
pub const DOCTOR_FIRST_PW: &str = "doctor-first-1";

/// An encrypted installation with a site, an administrator, a doctor (who
/// has already set their own password) and `residents` demo residents.
pub fn install(dir: &Path, residents: u32) {
    let ok = |o: std::process::Output| {
        assert!(
            o.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ok(run_jkda_input(
        dir,
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
        &format!("{ADMIN_PW}\n"),
    ));
    ok(run_jkda_input(
        dir,
        &["--user", "admin", "demo", "--residents", &residents.to_string()],
        &format!("{ADMIN_PW}\n"),
    ));
    ok(run_jkda_input(
        dir,
        &[
            "--user",
            "admin",
            "user",
            "add",
            "li",
            "--role",
            "doctor",
            "--name",
            "李医生",
        ],
        &format!("{ADMIN_PW}\n{DOCTOR_FIRST_PW}\n"),
    ));
    // The doctor replaces the administrator's password with their own, as
    // the first login forces them to.
    let mut s = jkda::session::login(dir, "li", &DOCTOR_FIRST_PW.into()).unwrap_or_else(|m| panic!("login: {m:?}"));
    jkda::session::change_password(&mut s, &DOCTOR_FIRST_PW.into(), &DOCTOR_PW.into())
        .unwrap_or_else(|m| panic!("password change: {m:?}"));
}

/// Logs in on the gate with an account that needs no password change.
pub fn login(tui: &mut Tui, login: &str, password: &str) {
    tui.wait_for("登录名");
    tui.send(login);
    tui.send(TAB);
    tui.send(password);
    tui.send(ENTER);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let s = tui.screen();
        if s.contains("新密码") || !s.contains("登录名") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = tui.screen();
    assert!(
        !s.contains("新密码"),
        "{login} must change the password first (the same one is refused):\n{s}"
    );
}

/// From the resident list: find the resident, open their page, start a
/// hypertension follow-up from the form picker (by its digit).
pub fn start_hypertension_followup(tui: &mut Tui, name: &str) {
    tui.wait_for("查找");
    tui.send(name);
    tui.wait_for(&format!("{name} "));
    tui.send(ENTER);
    tui.wait_for("档案编号");
    tui.send("n");
    let screen = tui.wait_for("高血压患者随访");
    let digit = screen
        .lines()
        .find(|l| l.contains("高血压患者随访"))
        .and_then(|l| l.trim_start_matches(['│', ' ']).chars().next())
        .expect("picker line");
    tui.send(&digit.to_string());
    tui.wait_for("随访日期");
}
