//! User-facing text. Every string a user reads lives in `assets/i18n/*.toml`;
//! code refers to it by dotted key. Both catalogues are compiled in so the
//! binary works from any directory, and a test keeps their key sets equal.

use std::collections::HashMap;

const ZH_CN: &str = include_str!("../assets/i18n/zh-CN.toml");
const EN: &str = include_str!("../assets/i18n/en.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN", alias = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Accepts the spellings a sysadmin is likely to type.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh_cn" | "cn" | "chinese" => Some(Lang::Zh),
            "en" | "en-us" | "en_us" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// A message that is rendered later in whichever language the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Msg {
    pub fn new(key: &'static str) -> Self {
        Msg { key, args: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

#[derive(Debug, Clone)]
pub struct I18n {
    lang: Lang,
    table: HashMap<String, String>,
}

impl I18n {
    pub fn new(lang: Lang) -> Self {
        let src = match lang {
            Lang::Zh => ZH_CN,
            Lang::En => EN,
        };
        let table = flatten_catalogue(src).expect("embedded catalogue is valid TOML (tested)");
        I18n { lang, table }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text for `key`; a missing key shows itself rather than panicking,
    /// so a gap is visible but never fatal.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.table.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The text for `key`, if the catalogue has one.
    pub fn lookup(&self, key: &str) -> Option<&str> {
        self.table.get(key).map(String::as_str)
    }

    /// A unit as the reader's language writes it: the forms give units as
    /// the standard prints them (`次/分钟`); `[unit]` in the catalogue says
    /// them in English. Symbols (`mmHg`, `kg`) have no entry and stay.
    pub fn unit(&self, unit: &str) -> String {
        self.lookup(&format!("unit.{unit}")).unwrap_or(unit).to_string()
    }

    /// `t` with `{name}` placeholders filled in.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.t(key).to_string();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    pub fn msg(&self, m: &Msg) -> String {
        let args: Vec<(&str, &str)> = m.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.tf(m.key, &args)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.table.keys()
    }
}

/// Turns nested TOML tables into `a.b.c = "text"` pairs.
pub fn flatten_catalogue(src: &str) -> Result<HashMap<String, String>, toml::de::Error> {
    let value: toml::Table = toml::from_str(src)?;
    let mut out = HashMap::new();
    flatten_into("", &value, &mut out);
    Ok(out)
}

fn flatten_into(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten_into(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let zh = flatten_catalogue(ZH_CN).unwrap();
        let en = flatten_catalogue(EN).unwrap();
        let mut only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        only_zh.sort();
        only_en.sort();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "only in zh-CN: {only_zh:?}; only in en: {only_en:?}"
        );
        assert!(zh.len() > 20, "catalogue unexpectedly small: {}", zh.len());
    }

    #[test]
    fn placeholders_are_filled() {
        let i = I18n::new(Lang::En);
        let key = i.keys().find(|k| i.t(k).contains('{')).cloned();
        if let Some(key) = key {
            let text = i.t(&key).to_string();
            let start = text.find('{').unwrap();
            let end = text[start..].find('}').unwrap() + start;
            let name = &text[start + 1..end];
            let filled = i.tf(&key, &[(name, "VALUE")]);
            assert!(filled.contains("VALUE"));
        }
        assert_eq!(i.t("no.such.key"), "no.such.key");
    }

    #[test]
    fn lang_parse_accepts_common_spellings() {
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
    }
}
