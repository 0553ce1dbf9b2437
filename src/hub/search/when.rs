//! `_lastUpdated` values (FHIR R4 search.html, "date"): a prefix and a date,
//! dateTime or instant to any precision, which stands for the range that
//! precision implies (`2026-11` is all of November). The range becomes
//! bounds on the stored `last_updated` text, whose fixed format
//! (`2026-11-05T08:01:02.345Z`, UTC, milliseconds) sorts as time does.
//!
//! A value without a time zone is read in UTC, the hub's own zone: the
//! stored times are UTC, and the supervision report counts UTC months.

use super::super::HubError;
use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// Bounds on `last_updated`: at or after `from`, before `before`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounds {
    pub from: Option<String>,
    pub before: Option<String>,
}

/// One `_lastUpdated` value, as bounds.
pub fn bounds(value: &str) -> Result<Bounds, HubError> {
    let (prefix, date) = match value.get(..2) {
        Some(p) if p.bytes().all(|b| b.is_ascii_alphabetic()) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let (lo, hi) = range(date).map_err(|why| {
        // An offset's `+` sent unescaped arrives as a space.
        let hint = if value.contains(' ') {
            " (a + in a URL reads as a space: write it %2B)"
        } else {
            ""
        };
        HubError::Invalid(format!(
            "_lastUpdated {value:?}: {why}{hint}; write e.g. ge2026-11-01 or ge2026-11-01T08:00:00+08:00"
        ))
    })?;
    let (lo, hi) = (text(lo), text(hi));
    Ok(match prefix {
        "eq" => Bounds {
            from: Some(lo),
            before: Some(hi),
        },
        "ge" => Bounds {
            from: Some(lo),
            before: None,
        },
        // After the whole range: a time within it is not greater.
        "gt" => Bounds {
            from: Some(hi),
            before: None,
        },
        "le" => Bounds {
            from: None,
            before: Some(hi),
        },
        "lt" => Bounds {
            from: None,
            before: Some(lo),
        },
        p => {
            return Err(HubError::NotSupported(format!(
                "_lastUpdated prefix {p:?} is not supported here; use eq, ge, gt, le or lt"
            )))
        }
    })
}

/// The stored text of the first stored time (milliseconds) at or after `t`:
/// "at or after t" and "before t" mean the same on stored times then.
fn text(t: DateTime<Utc>) -> String {
    let extra = t.timestamp_subsec_nanos() % 1_000_000;
    let t = if extra == 0 {
        t
    } else {
        t + TimeDelta::nanoseconds(i64::from(1_000_000 - extra))
    };
    crate::store::utc_text(t)
}

/// The half-open range `[lo, hi)` a date, dateTime or instant stands for.
fn range(v: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let (date, time) = match v.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let number = |s: &str, len: usize| -> Result<u32, String> {
        if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| "not a date".to_string())
        } else {
            Err("not a date".into())
        }
    };
    let year = number(parts[0], 4)? as i32;
    // The range's end must still be a four-digit year.
    if !(1..=9998).contains(&year) {
        return Err("the year must be between 0001 and 9998".into());
    }
    let month = parts.get(1).map(|m| number(m, 2)).transpose()?;
    let day = parts.get(2).map(|d| number(d, 2)).transpose()?;
    if parts.len() > 3 {
        return Err("not a date".into());
    }
    let first = NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day.unwrap_or(1)).ok_or("no such date")?;
    let Some(time) = time else {
        let start = first.and_time(NaiveTime::MIN).and_utc();
        let end = match (month, day) {
            (None, _) => start.checked_add_months(Months::new(12)),
            (Some(_), None) => start.checked_add_months(Months::new(1)),
            (Some(_), Some(_)) => Some(start + TimeDelta::days(1)),
        };
        return Ok((start, end.ok_or("no such date")?));
    };
    if day.is_none() {
        return Err("a time needs a full date before it".into());
    }
    let (clock, offset) = split_zone(time)?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let fields: Vec<&str> = hms.split(':').collect();
    let hour = number(fields[0], 2).map_err(|_| "not a time")?;
    let minute = number(fields.get(1).ok_or("a time needs hours and minutes")?, 2).map_err(|_| "not a time")?;
    let second = fields
        .get(2)
        .map(|s| number(s, 2))
        .transpose()
        .map_err(|_| "not a time")?;
    if fields.len() > 3 || (fraction.is_some() && second.is_none()) {
        return Err("not a time".into());
    }
    let (nanos, width) = match (second, fraction) {
        (None, _) => (0, TimeDelta::minutes(1)),
        (Some(_), None) => (0, TimeDelta::seconds(1)),
        (Some(_), Some(f)) => {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err("not a time".into());
            }
            // Digits past nanoseconds change nothing a clock can hold.
            let digits = &f[..f.len().min(9)];
            let scale = 10u32.pow(9 - digits.len() as u32);
            let nanos = digits.parse::<u32>().map_err(|_| "not a time")? * scale;
            (nanos, TimeDelta::nanoseconds(i64::from(scale)))
        }
    };
    let clock = NaiveTime::from_hms_nano_opt(hour, minute, second.unwrap_or(0), nanos).ok_or("no such time")?;
    let local = NaiveDateTime::new(first, clock);
    let start = (local - offset).and_utc();
    Ok((start, start + width))
}

/// Splits `08:00:00+08:00` into the clock and the offset east of UTC;
/// `Z` and no zone at all are UTC.
fn split_zone(time: &str) -> Result<(&str, TimeDelta), String> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Ok((clock, TimeDelta::zero()));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Ok((time, TimeDelta::zero()));
    };
    let (clock, zone) = time.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone[1..].split_once(':').ok_or("a time zone is written +hh:mm")?;
    let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || !ok(m) {
        return Err("a time zone is written +hh:mm".into());
    }
    let minutes = h.parse::<i64>().unwrap_or(0) * 60 + m.parse::<i64>().unwrap_or(0);
    if minutes > 14 * 60 {
        return Err("a time zone is at most 14 hours from UTC".into());
    }
    Ok((clock, TimeDelta::minutes(sign * minutes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(from: Option<&str>, before: Option<&str>) -> Bounds {
        Bounds {
            from: from.map(str::to_string),
            before: before.map(str::to_string),
        }
    }

    #[test]
    fn each_precision_stands_for_its_range() {
        assert_eq!(
            bounds("2026").unwrap(),
            b(Some("2026-01-01T00:00:00.000Z"), Some("2027-01-01T00:00:00.000Z"))
        );
        assert_eq!(
            bounds("eq2026-12").unwrap(),
            b(Some("2026-12-01T00:00:00.000Z"), Some("2027-01-01T00:00:00.000Z"))
        );
        assert_eq!(
            bounds("2024-02-28").unwrap(),
            b(Some("2024-02-28T00:00:00.000Z"), Some("2024-02-29T00:00:00.000Z"))
        );
        assert_eq!(
            bounds("2026-11-05T08:01Z").unwrap(),
            b(Some("2026-11-05T08:01:00.000Z"), Some("2026-11-05T08:02:00.000Z"))
        );
        assert_eq!(
            bounds("2026-11-05T08:01:02Z").unwrap(),
            b(Some("2026-11-05T08:01:02.000Z"), Some("2026-11-05T08:01:03.000Z"))
        );
        // Exactly one stored time matches a millisecond value.
        assert_eq!(
            bounds("2026-11-05T08:01:02.345Z").unwrap(),
            b(Some("2026-11-05T08:01:02.345Z"), Some("2026-11-05T08:01:02.346Z"))
        );
        // Finer than milliseconds: the stored times inside the range.
        assert_eq!(
            bounds("ge2026-11-05T08:01:02.3451Z").unwrap(),
            b(Some("2026-11-05T08:01:02.346Z"), None)
        );
    }

    #[test]
    fn prefixes_and_time_zones() {
        assert_eq!(bounds("ge2026-11").unwrap(), b(Some("2026-11-01T00:00:00.000Z"), None));
        assert_eq!(bounds("gt2026-11").unwrap(), b(Some("2026-12-01T00:00:00.000Z"), None));
        assert_eq!(bounds("le2026-11").unwrap(), b(None, Some("2026-12-01T00:00:00.000Z")));
        assert_eq!(bounds("lt2026-11").unwrap(), b(None, Some("2026-11-01T00:00:00.000Z")));
        assert_eq!(
            bounds("ge2026-11-01T08:00:00+08:00").unwrap(),
            b(Some("2026-11-01T00:00:00.000Z"), None)
        );
        assert_eq!(
            bounds("ge2026-11-01T08:00:00-01:30").unwrap(),
            b(Some("2026-11-01T09:30:00.000Z"), None)
        );
        assert_eq!(
            bounds("ge2026-11-01T08:00:00").unwrap(),
            b(Some("2026-11-01T08:00:00.000Z"), None)
        );
    }

    #[test]
    fn bad_values_say_what_to_write() {
        for bad in [
            "",
            "ge",
            "26-11",
            "2026-13",
            "2026-02-30",
            "2026-11-01T",
            "2026-11-01T8:00Z",
            "2026-11T08:00Z",
            "2026-11-01T08:00:00+8",
            "2026-11-01T25:00Z",
            "9999",
            "ge2026-11-01T08:00:00.Z",
        ] {
            let err = bounds(bad).unwrap_err();
            assert!(matches!(err, HubError::Invalid(_)), "{bad}: {err}");
            assert!(err.to_string().contains("ge2026-11-01"), "{err}");
        }
        assert!(bounds("ge2026-11-01T08:00:00 08:00")
            .unwrap_err()
            .to_string()
            .contains("%2B"));
        assert!(matches!(bounds("sa2026").unwrap_err(), HubError::NotSupported(_)));
        assert!(matches!(bounds("ap2026").unwrap_err(), HubError::NotSupported(_)));
    }
}
