//! Phone numbers for residents and their contacts.
//!
//! Accepted: an 11-digit mobile number `1[3-9]xxxxxxxxx` (an optional `+86`,
//! `0086` or `86` prefix is dropped), or a landline written with its area code
//! (`0` + 2- or 3-digit area code + 7- or 8-digit number, e.g. 0431-12345678).
//! A landline without its area code is refused: records are shared with the
//! township and county, and a follow-up call must work from anywhere.
//! Spaces, hyphens and brackets are separators and are removed; the stored
//! form is digits only.

use super::to_halfwidth;
use crate::i18n::Msg;

/// Why typed text is not a usable phone number. Texts carry no digits of the
/// number so they are safe in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number has an invalid character at position {position}")]
    BadCharacter { position: usize },
    #[error("mobile number has {len} digits; expected 11")]
    MobileLength { len: usize },
    #[error("mobile number must start with 13-19")]
    MobilePrefix,
    #[error("landline number needs an area code")]
    MissingAreaCode,
    #[error("landline number does not have the form 0 + area code + 7-8 digits")]
    BadLandline,
    #[error("not a mobile or landline number")]
    Unrecognized,
}

impl PhoneError {
    /// The text shown to the clinic worker.
    pub fn message(&self) -> Msg {
        match self {
            PhoneError::Empty => Msg::new("identity.phone.empty"),
            PhoneError::BadCharacter { position } => Msg::new("identity.phone.bad_character").arg("position", position),
            PhoneError::MobileLength { len } => Msg::new("identity.phone.mobile_length").arg("len", len),
            PhoneError::MobilePrefix => Msg::new("identity.phone.mobile_prefix"),
            PhoneError::MissingAreaCode => Msg::new("identity.phone.missing_area_code"),
            PhoneError::BadLandline => Msg::new("identity.phone.bad_landline"),
            PhoneError::Unrecognized => Msg::new("identity.phone.unrecognized"),
        }
    }
}

/// Parses a phone number into digits only (`13812345678`, `043112345678`).
pub fn parse_phone(input: &str) -> Result<String, PhoneError> {
    let mut digits = String::new();
    let mut plus = false;
    for (i, c) in input.trim().chars().map(to_halfwidth).enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '\t' | '-' | '\u{2013}' | '\u{2014}' | '(' | ')' => {}
            // "+" only as the very first thing typed, for "+86".
            '+' if i == 0 => plus = true,
            _ => return Err(PhoneError::BadCharacter { position: i + 1 }),
        }
    }
    if digits.is_empty() {
        return Err(if plus {
            PhoneError::Unrecognized
        } else {
            PhoneError::Empty
        });
    }

    // Country code: "+86…" / "0086…" always; bare "86…" only when what
    // follows is a full mobile number, since landlines here begin with 0.
    let national = if let Some(rest) = digits.strip_prefix("0086") {
        rest
    } else if plus {
        digits.strip_prefix("86").ok_or(PhoneError::Unrecognized)?
    } else if digits.len() == 13 && digits.starts_with("861") {
        &digits[2..]
    } else {
        &digits
    };

    // Nothing left after the country code ("+86" alone).
    let Some(&first) = national.as_bytes().first() else {
        return Err(PhoneError::Unrecognized);
    };
    match first {
        b'1' => check_mobile(national),
        b'0' if national.len() != digits.len() => Err(PhoneError::Unrecognized),
        b'0' => check_landline(national),
        _ if (7..=8).contains(&national.len()) => Err(PhoneError::MissingAreaCode),
        _ => Err(PhoneError::Unrecognized),
    }
}

fn check_mobile(n: &str) -> Result<String, PhoneError> {
    if n.len() != 11 {
        return Err(PhoneError::MobileLength { len: n.len() });
    }
    if !matches!(n.as_bytes()[1], b'3'..=b'9') {
        return Err(PhoneError::MobilePrefix);
    }
    Ok(n.to_string())
}

/// `n` starts with "0". Area codes 10 and 20–29 are two digits (Beijing,
/// Shanghai, Guangzhou, …); those starting 3–9 are three digits.
fn check_landline(n: &str) -> Result<String, PhoneError> {
    let area_len = match n.as_bytes().get(1) {
        Some(b'1') if n.as_bytes().get(2) == Some(&b'0') => 2,
        Some(b'2') => 2,
        Some(b'3'..=b'9') => 3,
        _ => return Err(PhoneError::BadLandline),
    };
    let local_len = n.len().saturating_sub(1 + area_len);
    if (7..=8).contains(&local_len) {
        Ok(n.to_string())
    } else {
        Err(PhoneError::BadLandline)
    }
}

/// `138****5678`: first 3 and last 4 kept, for lists and logs. Anything of 7
/// characters or fewer is fully starred, since keeping 3 + 4 would show it all.
pub fn mask_phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let n = chars.len();
    if n <= 7 {
        return "*".repeat(n);
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[n - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(n - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers() {
        assert_eq!(parse_phone("13812345678").unwrap(), "13812345678");
        assert_eq!(parse_phone(" 138 1234 5678 ").unwrap(), "13812345678");
        assert_eq!(parse_phone("138-1234-5678").unwrap(), "13812345678");
        assert_eq!(parse_phone("１３８１２３４５６７８").unwrap(), "13812345678");
        assert_eq!(parse_phone("19912345678").unwrap(), "19912345678");
    }

    #[test]
    fn country_code_is_dropped_for_mobiles() {
        assert_eq!(parse_phone("+86 138 1234 5678").unwrap(), "13812345678");
        assert_eq!(parse_phone("8613812345678").unwrap(), "13812345678");
        assert_eq!(parse_phone("0086-13812345678").unwrap(), "13812345678");
        assert_eq!(parse_phone("+1 2025550123"), Err(PhoneError::Unrecognized));
        for bare in ["+86", "0086", "+", "+86-0431-12345678"] {
            assert_eq!(parse_phone(bare), Err(PhoneError::Unrecognized), "{bare}");
        }
    }

    #[test]
    fn bad_mobiles() {
        assert_eq!(parse_phone("1381234567"), Err(PhoneError::MobileLength { len: 10 }));
        assert_eq!(parse_phone("138123456789"), Err(PhoneError::MobileLength { len: 12 }));
        assert_eq!(parse_phone("12812345678"), Err(PhoneError::MobilePrefix));
    }

    #[test]
    fn landlines_need_area_code() {
        assert_eq!(parse_phone("0431-12345678").unwrap(), "043112345678");
        assert_eq!(parse_phone("(0431) 8123456").unwrap(), "04318123456");
        assert_eq!(parse_phone("010-62345678").unwrap(), "01062345678");
        assert_eq!(parse_phone("021 6234567").unwrap(), "0216234567");
        assert_eq!(parse_phone("62345678"), Err(PhoneError::MissingAreaCode));
        assert_eq!(parse_phone("8123456"), Err(PhoneError::MissingAreaCode));
    }

    #[test]
    fn malformed_landlines() {
        assert_eq!(parse_phone("0431-123456"), Err(PhoneError::BadLandline));
        assert_eq!(parse_phone("0431-123456789"), Err(PhoneError::BadLandline));
        assert_eq!(parse_phone("011-62345678"), Err(PhoneError::BadLandline));
        assert_eq!(parse_phone("00431 1234567"), Err(PhoneError::BadLandline));
        assert_eq!(parse_phone("0"), Err(PhoneError::BadLandline));
    }

    #[test]
    fn characters_and_empty() {
        assert_eq!(parse_phone("  "), Err(PhoneError::Empty));
        assert_eq!(
            parse_phone("138a2345678"),
            Err(PhoneError::BadCharacter { position: 4 })
        );
        assert_eq!(
            parse_phone("0431-1234567转8"),
            Err(PhoneError::BadCharacter { position: 13 })
        );
        assert_eq!(
            parse_phone("138+12345678"),
            Err(PhoneError::BadCharacter { position: 4 })
        );
        assert_eq!(parse_phone("123"), Err(PhoneError::MobileLength { len: 3 }));
        assert_eq!(parse_phone("912345"), Err(PhoneError::Unrecognized));
    }

    #[test]
    fn every_error_has_a_message_key() {
        let e = PhoneError::MobileLength { len: 10 }.message();
        assert_eq!(e.key, "identity.phone.mobile_length");
        assert!(e.args.contains(&("len", "10".to_string())));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("043112345678"), "043*****5678");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_phone(""), "");
    }
}
