//! `config.toml` and `keymap.toml` as people really save them (issue 13,
//! item 4): Windows Notepad writes GBK on a Chinese system, and one Chinese
//! comment used to make the whole file look absent ("upload is not set
//! up"). Such files are read; a file that exists but is unreadable, or is
//! no text, is reported with its path and line, never taken for absent.

// Test plumbing only (libc calls the standard library does not offer).
#![allow(unsafe_code)]

mod common;

use common::{run_jkda, run_jkda_input, ADMIN_PW};
use jkda::i18n::{I18n, Lang};
use jkda::keymap::{Action, Context, Key};
use std::path::Path;

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// A plaintext installation: commands run without credentials.
fn installed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = run_jkda_input(dir.path(), &["init", "--no-encrypt"], &format!("{ADMIN_PW}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

const CONFIG: &str = "# 城市平台的地址和本机构的令牌（用记事本保存）\n\
                      server_url = \"http://127.0.0.1:9\"\n\
                      site_token = \"token-from-the-platform\"\n";

#[test]
fn a_gbk_config_saved_by_notepad_is_read() {
    let dir = installed();
    std::fs::write(dir.path().join("config.toml"), gbk(CONFIG)).unwrap();
    let (config, error) = jkda::config::Config::load(dir.path());
    assert_eq!(error, None);
    assert_eq!(config.server_url.as_deref(), Some("http://127.0.0.1:9"));
    // Upload is set up: `sync --status` does not exit 2 ("not set up").
    let out = run_jkda(dir.path(), &["sync", "--status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("配置文件"), "{stderr}");
}

#[test]
fn utf8_with_a_bom_is_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = [&[0xEF, 0xBB, 0xBF][..], CONFIG.as_bytes()].concat();
    std::fs::write(dir.path().join("config.toml"), bytes).unwrap();
    let (config, error) = jkda::config::Config::load(dir.path());
    assert_eq!(error, None);
    assert!(config.site_token.is_some());
}

#[test]
fn a_config_that_is_no_text_is_reported_with_its_line() {
    let dir = installed();
    let mut bytes = gbk(CONFIG);
    bytes.extend_from_slice(b"# \xff\xff\n");
    std::fs::write(dir.path().join("config.toml"), &bytes).unwrap();
    let out = run_jkda(dir.path(), &["paths"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml 第 4 行不是可识别的文字"), "{stderr}");
    let out = run_jkda(dir.path(), &["--lang", "en", "paths"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml line 4 is not readable text"), "{stderr}");
}

#[test]
fn a_config_that_cannot_be_read_is_reported_not_ignored() {
    let dir = installed();
    let file = dir.path().join("config.toml");
    // A directory in its place reads as an error for any user, root too.
    std::fs::create_dir(&file).unwrap();
    let out = run_jkda(dir.path(), &["paths"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml 存在但无法读取"), "{stderr}");
    std::fs::remove_dir(&file).unwrap();
    // Permissions, where the test is not run by root (root reads anything).
    #[cfg(unix)]
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&file, CONFIG).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
        let out = run_jkda(dir.path(), &["paths"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("config.toml 存在但无法读取"), "{stderr}");
    }
}

fn keymap(dir: &Path, bytes: &[u8]) -> (jkda::keymap::Keymap, Vec<String>) {
    let file = dir.join("keymap.toml");
    let _ = std::fs::remove_dir(&file);
    std::fs::write(&file, bytes).unwrap();
    jkda::keymap::site_file::load(dir, &I18n::new(Lang::Zh))
}

#[test]
fn a_gbk_keymap_is_read_and_an_unreadable_one_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (map, problems) = keymap(
        dir.path(),
        &gbk("# 退出改成 Ctrl-X（记事本保存）\n[global]\nquit = [\"ctrl-x\"]\n"),
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(map.keys(Context::Global, Action::Quit), [Key::parse("ctrl-x").unwrap()]);

    let (_, problems) = keymap(dir.path(), b"[global]\n# \xff\nquit = [\"ctrl-x\"]\n");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("keymap.toml 第 2 行不是可识别的文字"),
        "{problems:?}"
    );

    std::fs::remove_file(dir.path().join("keymap.toml")).unwrap();
    std::fs::create_dir(dir.path().join("keymap.toml")).unwrap();
    let (_, problems) = jkda::keymap::site_file::load(dir.path(), &I18n::new(Lang::En));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("keymap.toml exist but cannot be read"),
        "{problems:?}"
    );
}
