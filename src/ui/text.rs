//! Display-width helpers: Chinese characters take two columns, so padding
//! and truncation must count columns, never bytes or characters.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub fn width(s: &str) -> usize {
    s.width()
}

/// Cuts `s` to at most `cols` columns, ending with `…` when cut.
pub fn fit(s: &str, cols: usize) -> String {
    if s.width() <= cols {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > cols {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `fit` then pad with spaces to exactly `cols` columns.
/// A stored time (RFC 3339, any offset) in this PC's time zone, with the
/// offset, so a reader never wonders which zone it is:
/// `2026-12-04 10:42 +08:00` (with `seconds`, `2026-12-04 10:42:07 +08:00`).
/// Text that is not such a time is returned as it is.
pub fn local_stamp(ts: &str, seconds: bool) -> String {
    let format = if seconds {
        "%Y-%m-%d %H:%M:%S %:z"
    } else {
        "%Y-%m-%d %H:%M %:z"
    };
    chrono::DateTime::parse_from_rfc3339(ts.trim())
        .map(|t| t.with_timezone(&chrono::Local).format(format).to_string())
        .unwrap_or_else(|_| ts.to_string())
}

/// `s` broken into lines of at most `cols` display columns (at spaces when
/// there are any, else anywhere: Chinese has no spaces).
pub fn wrap(s: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(4);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split_inclusive(' ') {
        if width(&line) + width(word.trim_end()) > cols && !line.is_empty() {
            out.push(line.trim_end().to_string());
            line.clear();
        }
        for c in word.chars() {
            if width(&line) + width(&c.to_string()) > cols {
                out.push(line.trim_end().to_string());
                line.clear();
            }
            line.push(c);
        }
    }
    if !line.trim().is_empty() {
        out.push(line.trim_end().to_string());
    }
    out
}

pub fn pad(s: &str, cols: usize) -> String {
    let f = fit(s, cols);
    let w = f.width();
    format!("{f}{}", " ".repeat(cols.saturating_sub(w)))
}

/// A column of a table or a label before a value: `s` cut to leave at
/// least one blank column, then padded to exactly `cols`, so what follows
/// never runs into it (`female 65`, not `female65`).
pub fn cell(s: &str, cols: usize) -> String {
    pad(&fit(s, cols.saturating_sub(1)), cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_counts_columns() {
        assert_eq!(pad("张三", 6), "张三  ");
        assert_eq!(width(&pad("高血压患者随访", 6)), 6);
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abcd", 3), "ab…");
        assert_eq!(cell("female", 6), "fema… ");
        assert_eq!(cell("male", 6), "male  ");
        assert_eq!(cell("高血压患者", 6), "高血… ");
    }

    #[test]
    fn wrap_keeps_every_character_within_the_width() {
        let s = "尚未设置上传：请在 config.toml 中填写 server_url 和 site_token";
        let lines = wrap(s, 20);
        assert!(lines.iter().all(|l| width(l) <= 20), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), s.replace(' ', ""));
        assert_eq!(local_stamp("not a time", true), "not a time");
    }
}
