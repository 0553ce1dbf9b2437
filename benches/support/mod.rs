//! What the benchmarks share: the real `jkda` in an 80×24 pseudo-terminal,
//! logged in, and a process's memory read from /proc.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A figure from /proc/PID/status, in kB (`VmHWM:`, `VmRSS:`).
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The real program in a pty, its screen parsed by vt100.
pub struct Tui {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    pub pid: String,
}

impl Tui {
    /// Starts `jkda --data-dir DIR` and logs in as `admin`.
    pub fn login(dir: &Path, password: &str) -> Result<Tui, String> {
        use portable_pty::{native_pty_system, CommandBuilder, PtySize};
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| e.to_string())?;
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_jkda"));
        cmd.arg("--data-dir");
        cmd.arg(dir);
        cmd.env("NO_COLOR", "1");
        cmd.env("TERM", "xterm-256color");
        let child = pair.slave.spawn_command(cmd).map_err(|e| e.to_string())?;
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
        let mut reader = pair.master.try_clone_reader().map_err(|e| e.to_string())?;
        let p = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().map_err(|e| e.to_string())?;
        let pid = child.process_id().map(|p| p.to_string()).ok_or("no pid")?;
        let mut tui = Tui {
            child,
            master: Some(pair.master),
            writer,
            parser,
            pid,
        };
        tui.wait("登录名")?;
        tui.send("admin\t");
        tui.send(password);
        tui.send("\r");
        tui.wait("查找")?;
        Ok(tui)
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits (up to a minute) for `what` on the screen.
    pub fn wait(&self, what: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.screen().contains(what) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("waited for {what}:\n{}", self.screen()))
    }

    pub fn send(&mut self, keys: &str) {
        let _ = self.writer.write_all(keys.as_bytes());
        let _ = self.writer.flush();
        std::thread::sleep(Duration::from_millis(40));
    }

    /// Peak and current RSS in kB.
    pub fn memory(&self) -> Result<(u64, u64), String> {
        let hwm = status_kb(&self.pid, "VmHWM:").ok_or("no /proc status")?;
        let rss = status_kb(&self.pid, "VmRSS:").ok_or("no /proc status")?;
        Ok((hwm, rss))
    }
}

impl Drop for Tui {
    /// Ctrl-Q, then kill if it does not go.
    fn drop(&mut self) {
        self.send("\x11");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        // Closing the master can block on some systems; the process ends anyway.
        std::mem::forget(self.master.take());
    }
}
