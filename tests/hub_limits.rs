//! The hub's request heads are bounded (issue 13, item 1): the real
//! `jkda-hub` binary is started on loopback and fed heads no client should
//! send, over raw TCP; its memory is read from /proc. The limits live in the
//! patched tiny_http (vendor/tiny_http/JKDA-PATCH.md).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct HubProcess {
    child: Child,
    addr: String,
    /// stderr, read all along: a full pipe would block the hub's log.
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl HubProcess {
    fn start(dir: &std::path::Path) -> HubProcess {
        let db = dir.join("hub.sqlite");
        let mut child = Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
            .args(["--db", db.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jkda-hub starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        let addr = url.trim_start_matches("http://").to_string();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        HubProcess {
            child,
            addr,
            stderr: Some(stderr),
        }
    }

    /// The most memory the process has held, in KiB (VmHWM).
    fn peak_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// Sends `bytes` and returns the status line of the answer ("" if none).
    fn exchange(&self, bytes: &[u8]) -> String {
        let mut s = self.connect();
        s.write_all(bytes).unwrap();
        status_line(&mut s)
    }

    /// Stops the hub and returns what it wrote on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_line(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    text.lines().next().unwrap_or("").to_string()
}

const METADATA: &[u8] = b"GET /metadata HTTP/1.1\r\nHost: hub\r\n\r\n";

#[test]
fn a_64_mb_header_is_refused_with_431_and_the_hub_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(dir.path());
    assert!(hub.exchange(METADATA).starts_with("HTTP/1.1 200"));
    let before = hub.peak_kib();

    // The header is streamed, as an attacker would, while the answer is read
    // on another thread: the hub should answer long before the end.
    let mut s = hub.connect();
    let mut reader = s.try_clone().unwrap();
    let answer = std::thread::spawn(move || status_line(&mut reader));
    let mut sent = 0usize;
    let chunk = vec![b'a'; 1 << 20];
    let mut write = || -> std::io::Result<()> {
        s.write_all(b"GET /metadata HTTP/1.1\r\nHost: hub\r\nX-Filler: ")?;
        for _ in 0..64 {
            s.write_all(&chunk)?;
            sent += chunk.len();
        }
        s.write_all(b"\r\n\r\n")
    };
    let _ = write(); // the hub may close while we are still sending
    let status = answer.join().unwrap();
    assert!(status.starts_with("HTTP/1.1 431"), "answer: {status:?}");
    assert!(sent < 64 << 20, "the hub read the whole 64 MB header");

    let after = hub.peak_kib();
    assert!(
        after < before + 8 * 1024,
        "peak memory went from {before} KiB to {after} KiB"
    );
    // Still answering.
    assert!(hub.exchange(METADATA).starts_with("HTTP/1.1 200"));
}

#[test]
fn too_many_headers_are_431_and_a_long_request_line_is_414() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(dir.path());
    let mut many = b"GET /metadata HTTP/1.1\r\n".to_vec();
    for i in 0..200 {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(hub.exchange(&many).starts_with("HTTP/1.1 431"));

    // Many short headers that add up to more than the head may hold.
    let mut long = b"GET /metadata HTTP/1.1\r\n".to_vec();
    for i in 0..50 {
        long.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(1000)).as_bytes());
    }
    long.extend_from_slice(b"\r\n");
    assert!(hub.exchange(&long).starts_with("HTTP/1.1 431"));

    let line = format!("GET /Patient?identifier={} HTTP/1.1\r\n\r\n", "1".repeat(20_000));
    assert!(hub.exchange(line.as_bytes()).starts_with("HTTP/1.1 414"));

    // Refused before authentication: without a token, the same request
    // with an ordinary head is a 401.
    assert!(hub
        .exchange(b"GET /Patient?identifier=1 HTTP/1.1\r\nHost: hub\r\n\r\n")
        .starts_with("HTTP/1.1 401"));
    // A head of an ordinary size with a long token header still gets through.
    let normal = format!(
        "GET /metadata HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {}\r\n\r\n",
        "f".repeat(4000)
    );
    assert!(hub.exchange(normal.as_bytes()).starts_with("HTTP/1.1 200"));
}

#[test]
fn non_ascii_in_the_request_line_is_answered_400() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(dir.path());
    let status = hub.exchange("GET /元数据 HTTP/1.1\r\nHost: hub\r\n\r\n".as_bytes());
    assert!(status.starts_with("HTTP/1.1 400"), "answer: {status:?}");
    let status = hub.exchange(b"GET /metadata HTTP/1.1\r\nX-Name: \xff\xfe\r\n\r\n");
    assert!(status.starts_with("HTTP/1.1 400"), "answer: {status:?}");
    assert!(hub.exchange(METADATA).starts_with("HTTP/1.1 200"));
}

#[test]
fn a_client_hanging_up_mid_answer_prints_nothing_but_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(dir.path());
    // Many answers queued, then the client is gone: the later writes meet a
    // closed socket (broken pipe, connection reset).
    for _ in 0..5 {
        let mut s = hub.connect();
        s.write_all(&METADATA.repeat(2000)).unwrap();
        drop(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let t = std::time::Instant::now();
    let status = hub.exchange(METADATA);
    assert!(
        status.starts_with("HTTP/1.1 200"),
        "answer: {status:?} after {:?}",
        t.elapsed()
    );
    let stderr = hub.stop();
    for line in stderr.lines() {
        assert!(
            line.contains(" GET /metadata ") && line.contains(" site="),
            "not an access-log line: {line:?}"
        );
    }
}
