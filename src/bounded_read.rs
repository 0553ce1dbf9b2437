//! Reading a whole file with a ceiling (issue 13, item 9). Every file jkda
//! and jkda-hub take in whole — form files, `config.toml`, `keymap.toml`,
//! key files and the keyring, a response to check, certificates, site
//! lists — goes through here, so a wrong path (`/dev/zero`, a disk image, a
//! log that grew for years) is refused at its ceiling with a clear message
//! instead of eating the machine's memory. The file is read through
//! `take(limit + 1)`, so a device or a pipe without an end stops there too.
//! (Imports are streamed with limits of their own: `import::parse`.)

use std::io::{self, Read};
use std::path::Path;

/// A form definition: the largest shipped one is about 60 KB.
pub const FORM_FILE: u64 = 2 << 20;
/// `config.toml`, `keymap.toml`, the supervision settings: a few KB.
pub const SETTINGS_FILE: u64 = 1 << 20;
/// A key file: one line of hex and some comments.
pub const KEY_FILE: u64 = 64 << 10;
/// `keyring.json`: well under 1 KB per account.
pub const KEYRING_FILE: u64 = 4 << 20;
/// A PEM certificate bundle or private key (a system CA bundle is ~200 KB).
pub const PEM_FILE: u64 = 4 << 20;
/// A QuestionnaireResponse to check, a hub's site or population list.
pub const DATA_FILE: u64 = 16 << 20;

/// The error a file over its ceiling gives (inside an `io::Error` of kind
/// `FileTooLarge`); `exceeded` finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "larger than {}: not read (is it the right file?)",
            size_text(self.limit)
        )
    }
}

impl std::error::Error for TooLarge {}

/// The bytes of `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    // A regular file says its size: refused without reading it.
    let known = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    if known.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    read_capped(file, limit, known.unwrap_or(0))
}

/// `read`, as UTF-8 text (`std::fs::read_to_string`'s error when it is not).
pub fn read_to_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

/// All of `r` up to `limit` bytes, else the `TooLarge` error.
pub fn read_capped(r: impl Read, limit: u64, size_hint: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(size_hint.min(limit) as usize + 1);
    r.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(buf)
}

/// The error for something over `limit` bytes.
pub fn too_large(limit: u64) -> io::Error {
    io::Error::new(io::ErrorKind::FileTooLarge, TooLarge { limit })
}

/// The ceiling a read went over, when that is what `e` says.
pub fn exceeded(e: &io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLarge>())
        .map(|t| t.limit)
}

/// `2 MB`, `64 KB`: a ceiling as a person reads it.
pub fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MB", bytes >> 20)
    } else if bytes >= 1 << 10 {
        format!("{} KB", bytes.div_ceil(1 << 10))
    } else {
        format!("{bytes} B")
    }
}

/// The message for a file jkda could not read: over its ceiling, or the
/// system's reason.
pub fn message(path: &Path, e: &io::Error) -> crate::i18n::Msg {
    let path = path.display().to_string();
    match exceeded(e) {
        Some(limit) => crate::i18n::Msg::new("cli.file_too_large")
            .arg("path", path)
            .arg("max", size_text(limit)),
        None => crate::i18n::Msg::new("cli.io_error").arg("path", path).arg("detail", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_its_ceiling_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'a'; 100]).unwrap();
        assert_eq!(read(&p, 100).unwrap().len(), 100);
        let e = read(&p, 99).unwrap_err();
        assert_eq!(exceeded(&e), Some(99));
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(exceeded(&io::Error::other("x")), None);
        assert_eq!(read_to_string(&p, 100).unwrap(), "a".repeat(100));
    }

    #[test]
    fn an_endless_stream_stops_at_the_ceiling() {
        let e = read_capped(io::repeat(0), 1 << 20, 0).unwrap_err();
        assert_eq!(exceeded(&e), Some(1 << 20));
        #[cfg(unix)]
        assert_eq!(exceeded(&read(Path::new("/dev/zero"), 4096).unwrap_err()), Some(4096));
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(FORM_FILE), "2 MB");
        assert_eq!(size_text(KEY_FILE), "64 KB");
        assert_eq!(size_text(1500), "2 KB");
        assert_eq!(size_text(10), "10 B");
    }
}
