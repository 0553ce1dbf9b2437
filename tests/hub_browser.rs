//! The supervision pages in a real browser: the hub on loopback with three
//! months of uploads, headless Chromium loading the ranked table and site
//! pages with the bureau account in the URL (`http://user:pass@host/…`:
//! Chromium answers the hub's Basic challenge with them), the DOM checked
//! for the sites and their figures, and screenshots saved under
//! `target/browser-screenshots/` (desktop 1280×900 and phone 390×844) for a
//! person to look at.
//!
//! Without Chromium the tests print a SKIPPED line and pass, unless
//! `JKDA_REQUIRE_BROWSER=1` (CI sets it; `.ci/run` installs Chromium).

mod fhir_fixtures;
mod hub_web_support;

use hub_web_support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    if Path::new("/usr/bin/chromium").exists() {
        return Some("/usr/bin/chromium".into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| candidates.iter().map(move |c| dir.join(c)))
        .find(|p| p.is_file())
}

/// Chromium, or None after saying why the test is skipped (a failure
/// instead when the browser is required).
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        if std::env::var("JKDA_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!(
                "JKDA_REQUIRE_BROWSER=1 but no Chromium found (looked for /usr/bin/chromium and chromium, \
                 chromium-browser, google-chrome on PATH): install it, e.g. `apt-get install -y chromium`"
            );
        }
        eprintln!(
            "\n*** SKIPPED {test}: no Chromium found (apt-get install -y chromium); \
             set JKDA_REQUIRE_BROWSER=1 to make this a failure ***\n"
        );
    }
    found
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium with a fresh profile on `url` plus `args`;
/// returns its standard output. Fails after a minute.
fn run_chromium(browser: &Path, url: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--lang=zh-CN",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    // Read the output on threads so a full pipe cannot stall the browser.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish within a minute on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "Chromium failed ({status}) on {url}:\n{err}");
    out
}

/// `http://user:pass@127.0.0.1:port/path`.
fn with_credentials(p: &Platform, path: &str) -> String {
    let host = p.url().trim_start_matches("http://").to_string();
    format!("http://{}:{}@{host}{path}", form_encode(USER), form_encode(PASSWORD))
}

fn dump_dom(browser: &Path, url: &str) -> String {
    run_chromium(browser, url, &["--dump-dom".to_string()])
}

fn screenshot(browser: &Path, url: &str, name: &str, (w, h): (u32, u32)) -> PathBuf {
    let file = screenshot_dir().join(name);
    let _ = std::fs::remove_file(&file);
    run_chromium(
        browser,
        url,
        &[
            format!("--screenshot={}", file.display()),
            format!("--window-size={w},{h}"),
        ],
    );
    let png = std::fs::read(&file).unwrap_or_else(|e| panic!("no screenshot {}: {e}", file.display()));
    assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", file.display());
    assert!(
        png.len() > 20_000,
        "{} looks empty ({} bytes)",
        file.display(),
        png.len()
    );
    file
}

#[test]
fn the_ranked_table_and_a_site_page_in_headless_chromium() {
    let Some(browser) = browser_or_skip("the_ranked_table_and_a_site_page_in_headless_chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::filled(dir.path());
    let report = p.report();

    // Without credentials the hub answers 401 (headless Chromium, which
    // cannot show the login dialog, then shows nothing).
    let host = p.url();
    let denied = dump_dom(&browser, &format!("{host}/supervision?period={PERIOD}"));
    assert!(!denied.contains("东山村卫生室"), "{denied}");
    assert!(p.log_text().contains("GET /supervision?period= 401"));

    let ranked_url = with_credentials(&p, &format!("/supervision?period={PERIOD}"));
    let dom = dump_dom(&browser, &ranked_url);
    assert!(dom.contains("2026年3月 各机构督导排名"), "{dom}");
    for s in &report.sites {
        let shown = s.name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(dom.contains(&shown), "{} in the DOM", s.code);
        assert!(
            dom.contains(&format!("<strong>{:.1}</strong>", s.score)),
            "score of {}",
            s.code
        );
    }
    assert!(
        !dom.contains("<script>alert"),
        "the hostile name stays text, never an element"
    );
    assert_eq!(dom.matches(r#"<tr class="flagged">"#).count(), 3);
    assert!(dom.contains(&format!(
        r#"<div class="v">{}</div><div class="k">记录数</div>"#,
        report.city.records
    )));

    let worst = report.sites.last().unwrap();
    let site_url = with_credentials(&p, &format!("/supervision/site/{}?period={PERIOD}", worst.code));
    let dom = dump_dom(&browser, &site_url);
    assert!(dom.contains(&worst.name) && dom.contains("本机构在后三名"), "{dom}");
    assert_eq!(dom.matches("<svg").count(), 4, "four charts");
    assert!(dom.contains(&format!(
        "{} / {:.1}%",
        worst.timeliness.timely,
        worst.timeliness.timely_share.unwrap() * 100.0
    )));
    assert!(
        dom.contains(r#"<form class="spot" method="post""#),
        "spot-check forms for the bureau"
    );

    // Screenshots for a person to look at.
    let flagged_d = report.sites.iter().find(|s| s.code == D).unwrap();
    let shots = [
        (ranked_url.clone(), "ranked-1280.png", (1280, 900)),
        (ranked_url.clone(), "ranked-1280-full.png", (1280, 2200)),
        (ranked_url, "ranked-phone.png", (390, 844)),
        (site_url.clone(), "site-1280.png", (1280, 900)),
        (site_url.clone(), "site-1280-full.png", (1280, 3200)),
        (site_url, "site-phone.png", (390, 2400)),
        (
            with_credentials(
                &p,
                &format!("/supervision/site/{}?period={PERIOD}&lang=en", flagged_d.code),
            ),
            "site-en-1280-full.png",
            (1280, 3600),
        ),
    ];
    for (url, name, size) in shots {
        let file = screenshot(&browser, &url, name, size);
        eprintln!("screenshot: {}", file.display());
    }
}
