//! Reading the small text files a person edits by hand (`config.toml`,
//! `keymap.toml`). Windows Notepad saves them as GBK on a Chinese system
//! (UTF-8 with a BOM, or UTF-16, when asked): all are read, so a Chinese
//! comment no longer makes the whole file look absent (issue 13, item 4).
//! A file that exists but cannot be read, or is none of these, is an error
//! that names the line; only a missing file is "not there".

use std::path::Path;

/// The text of a file, and how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    /// `UTF-8`, `GBK`, `UTF-16LE` or `UTF-16BE`.
    pub encoding: &'static str,
}

#[derive(Debug)]
pub enum EditedError {
    /// It exists but could not be read (permissions, a directory, I/O).
    Unreadable(std::io::Error),
    /// Neither UTF-8 nor GBK; `line` is the first line that is neither.
    NotText { line: usize },
    /// Larger than any such file (`bounded_read::SETTINGS_FILE`): not read.
    TooLarge { limit: u64 },
}

/// Reads `path`: `Ok(None)` only when there is no such file.
pub fn read(path: &Path) -> Result<Option<Edited>, EditedError> {
    match crate::bounded_read::read(path, crate::bounded_read::SETTINGS_FILE) {
        Ok(bytes) => decode(&bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => match crate::bounded_read::exceeded(&e) {
            Some(limit) => Err(EditedError::TooLarge { limit }),
            None => Err(EditedError::Unreadable(e)),
        },
    }
}

/// A byte-order mark decides; without one, UTF-8 if it is valid, else GBK.
pub fn decode(bytes: &[u8]) -> Result<Edited, EditedError> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .map(|text| Edited {
                text: text.into_owned(),
                encoding: encoding.name(),
            })
            .ok_or(EditedError::NotText { line: 1 });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Edited {
            text: text.to_string(),
            encoding: "UTF-8",
        });
    }
    match gbk(bytes) {
        Some(text) => Ok(Edited {
            text: text.into_owned(),
            encoding: "GBK",
        }),
        // A newline is never part of a UTF-8 or GBK character, so lines can
        // be judged one by one: the first that is neither is the culprit.
        None => Err(EditedError::NotText {
            line: bytes
                .split(|b| *b == b'\n')
                .position(|l| std::str::from_utf8(l).is_err() && gbk(l).is_none())
                .map_or(1, |i| i + 1),
        }),
    }
}

fn gbk(bytes: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_bom_gbk_and_utf16_are_read() {
        let text = "# 城市平台\nserver_url = \"https://x\"\n";
        assert_eq!(decode(text.as_bytes()).unwrap().text, text);
        let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        assert_eq!(decode(&bom).unwrap().text, text);
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let read = decode(&gbk).unwrap();
        assert_eq!((read.text.as_str(), read.encoding), (text, "GBK"));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16).unwrap().text, text);
    }

    #[test]
    fn bytes_that_are_no_text_name_their_line() {
        // 0xFF is neither UTF-8 nor GBK (GBK's lead bytes end at 0xFE).
        let bytes = b"lang = \"en\"\n\n# \xff\n";
        assert!(matches!(decode(bytes), Err(EditedError::NotText { line: 3 })));
    }

    #[test]
    fn a_missing_file_is_none_and_a_directory_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("absent.toml")).unwrap().is_none());
        assert!(matches!(read(dir.path()), Err(EditedError::Unreadable(_))));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_too_large() {
        assert!(matches!(
            read(Path::new("/dev/zero")),
            Err(EditedError::TooLarge {
                limit: crate::bounded_read::SETTINGS_FILE
            })
        ));
    }
}
