//! FHIR R4 primitive types, checked as the specification defines them
//! (<http://hl7.org/fhir/R4/datatypes.html>). Each check is written by hand
//! from the type's regular expression, quoted above it, so the hub needs no
//! regex engine; the tests hold the hand-written checks to those expressions.
//! Where the specification asks more than its expression (a date must exist
//! in the calendar), the check asks it too.

/// `date`: `([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?`
/// — YYYY, YYYY-MM or YYYY-MM-DD, and a day that exists in that month.
pub fn date(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        4 => year(b).is_some(),
        7 => year(b).is_some() && b[4] == b'-' && month(&b[5..7]).is_some(),
        10 => full_date(b),
        _ => false,
    }
}

/// `dateTime`: a `date`, or a full date followed by
/// `T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))`
/// — a time needs seconds and a time zone.
pub fn date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() <= 10 {
        return date(s);
    }
    full_date(&b[..10]) && b[10] == b'T' && time_and_zone(&b[11..])
}

/// `instant`: a full date, a time and a zone, all required (`dateTime`'s
/// expression without the optional parts).
pub fn instant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 10 && date_time(s)
}

/// `decimal`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the text of
/// a JSON number.
pub fn decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += 1 + digits(&b[i + 1..]),
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(&b[i + 1..]);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(&b[i..]);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == b.len()
}

/// `code`: `[^\s]+(\s[^\s]+)*` — words separated by single white-space
/// characters, none leading or trailing.
pub fn code(s: &str) -> bool {
    !s.is_empty() && s.split(char::is_whitespace).all(|word| !word.is_empty())
}

/// `id`: `[A-Za-z0-9\-\.]{1,64}`. Refused besides: `.` and `..`, which a
/// URL cannot carry as a path segment (every client resolves them away),
/// so a resource stored under them could never be read back.
pub fn id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && s != "."
        && s != ".."
}

/// `uri` (and `canonical`): `\S*` — no white space.
pub fn uri(s: &str) -> bool {
    !s.chars().any(char::is_whitespace)
}

/// `string`: `[ \r\n\t\S]+` — not empty, and no white space other than
/// space, CR, LF and tab.
pub fn string(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_whitespace() || matches!(c, ' ' | '\r' | '\n' | '\t'))
}

/// `integer`: `-?([0]|([1-9][0-9]*))`, within 32 bits.
pub fn integer(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let canonical =
        body == "0" || (body.starts_with(|c: char| matches!(c, '1'..='9')) && digits(body.as_bytes()) == body.len());
    canonical && s.parse::<i32>().is_ok()
}

fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

fn two(b: &[u8]) -> Option<u32> {
    (b.len() == 2 && digits(b) == 2).then(|| u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
}

/// Four digits, not `0000`.
fn year(b: &[u8]) -> Option<i32> {
    let y = b.get(..4).filter(|y| digits(y) == 4)?;
    let n = y.iter().fold(0i32, |n, d| n * 10 + i32::from(d - b'0'));
    (n > 0).then_some(n)
}

fn month(b: &[u8]) -> Option<u32> {
    two(b).filter(|m| (1..=12).contains(m))
}

/// `YYYY-MM-DD`, a day that exists.
fn full_date(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    match (year(b), month(&b[5..7]), two(&b[8..10])) {
        (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y, m, d).is_some(),
        _ => false,
    }
}

/// `hh:mm:ss(.f+)?` then `Z` or `±hh:mm` up to ±14:00.
fn time_and_zone(b: &[u8]) -> bool {
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let ok_time = two(&b[0..2]).is_some_and(|h| h <= 23)
        && two(&b[3..5]).is_some_and(|m| m <= 59)
        && two(&b[6..8]).is_some_and(|s| s <= 60);
    if !ok_time {
        return false;
    }
    let mut rest = &b[8..];
    if rest.first() == Some(&b'.') {
        let n = digits(&rest[1..]);
        if n == 0 {
            return false;
        }
        rest = &rest[1 + n..];
    }
    match rest {
        b"Z" => true,
        [b'+' | b'-', zone @ ..] if zone.len() == 5 && zone[2] == b':' => match (two(&zone[0..2]), two(&zone[3..5])) {
            (Some(14), Some(0)) => true,
            (Some(h), Some(m)) => h <= 13 && m <= 59,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_the_specification_writes_them() {
        for ok in ["2026", "2026-02", "2026-02-28", "2024-02-29", "0001", "1905-08-23"] {
            assert!(date(ok), "{ok}");
        }
        for bad in [
            "abcd",
            "0000",
            "2026-13",
            "2026-00",
            "2026-02-29",
            "2026-04-31",
            "2026-1",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T10:00:00Z",
            "",
            "12345",
            "2026-1-01",
            "２０２６",
        ] {
            assert!(!date(bad), "{bad}");
        }
    }

    #[test]
    fn date_times_need_seconds_and_a_zone_with_a_time() {
        for ok in [
            "2026",
            "2026-11",
            "2026-11-29",
            "2026-11-29T10:42:07Z",
            "2026-11-29T10:42:07.123+08:00",
            "2026-11-29T23:59:60-14:00",
            "2026-11-29T00:00:00+14:00",
        ] {
            assert!(date_time(ok), "{ok}");
        }
        for bad in [
            "2026-11-29T10:42Z",
            "2026-11-29T10:42:07",
            "2026-11-29T24:00:00Z",
            "2026-11-29T10:42:07.Z",
            "2026-11-29T10:42:07+14:30",
            "2026-11-29T10:42:07+8:00",
            "2026-11T10:42:07Z",
            "2026-11-29 10:42:07Z",
            "2026-11-29T10:42:07z",
            "yesterday",
        ] {
            assert!(!date_time(bad), "{bad}");
        }
        assert!(instant("2026-11-29T10:42:07.5Z"));
        assert!(!instant("2026-11-29"));
    }

    #[test]
    fn decimals_codes_ids_uris_strings_integers() {
        for ok in ["0", "-0", "70.5", "1e10", "1.5E-3", "120", "-3.25"] {
            assert!(decimal(ok), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "+1", "1e", "NaN", "1,5", "7O"] {
            assert!(!decimal(bad), "{bad}");
        }
        assert!(code("male") && code("in-progress") && code("a b"));
        assert!(!code("") && !code(" male") && !code("male ") && !code("a  b"));
        assert!(id("0f8c1e6a-1b2c-4d5e-8f90-123456789abc") && id("a.b-1") && id("..."));
        assert!(!id(".") && !id("..") && !id("a_b") && !id("a/b") && !id(&"x".repeat(65)) && !id(""));
        assert!(uri("http://loinc.org") && uri("") && !uri("http://x y"));
        assert!(string("张三 李") && !string("") && !string("a\u{3000}b"));
        assert!(integer("0") && integer("-12") && integer("2147483647"));
        assert!(!integer("01") && !integer("2147483648") && !integer("1.0") && !integer("-"));
    }

    type Check = fn(&str) -> bool;

    /// The expressions as the specification prints them.
    const SPEC: [(&str, Check, &str); 7] = [
        (
            "date",
            date,
            r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?",
        ),
        (
            "dateTime",
            date_time,
            r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?",
        ),
        (
            "instant",
            instant,
            r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))",
        ),
        ("decimal", decimal, r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"),
        ("code", code, r"[^\s]+(\s[^\s]+)*"),
        ("id", id, r"[A-Za-z0-9\-\.]{1,64}"),
        ("integer", integer, r"-?([0]|([1-9][0-9]*))"),
    ];

    /// Random mutations of typical values, judged by the hand-written check
    /// and by the specification's expression: they agree, but for what the
    /// specification asks beyond its expression (a day that exists, `.` and
    /// `..` as ids, 32 bits for an integer).
    #[test]
    fn hand_written_checks_agree_with_the_specification() {
        use rand::{Rng, SeedableRng};
        let seeds = [
            "2026-11-29T10:42:07.123+08:00",
            "2024-02-29T23:59:60Z",
            "0001-01-01T00:00:00-14:00",
            "2026-11",
            "-12.5e+3",
            "in progress",
            "0f8c1e6a-1b2c.4d5e",
            "2147483647",
        ];
        let alphabet: Vec<char> = "0123456789-:T.+Z eEa\t".chars().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        for (name, hand, expr) in SPEC {
            let re = regex::Regex::new(&format!("^(?:{expr})$")).unwrap();
            for _ in 0..20_000 {
                let mut s: Vec<char> = seeds[rng.random_range(0..seeds.len())].chars().collect();
                for _ in 0..rng.random_range(0..4) {
                    let at = rng.random_range(0..=s.len());
                    match rng.random_range(0..3) {
                        0 if at < s.len() => s[at] = alphabet[rng.random_range(0..alphabet.len())],
                        1 => s.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
                        _ => s.truncate(at),
                    }
                }
                let s: String = s.into_iter().collect();
                let beyond = match name {
                    "date" | "dateTime" | "instant" => {
                        s.len() >= 10 && chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_err()
                    }
                    "id" => s == "." || s == "..",
                    "integer" => s.parse::<i32>().is_err(),
                    _ => false,
                };
                let spec = re.is_match(&s) && !beyond;
                assert_eq!(hand(&s), spec, "{name} {s:?}");
            }
        }
    }
}
