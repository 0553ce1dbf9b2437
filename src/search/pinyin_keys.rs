//! Pinyin search keys for residents' names, so staff can find 张三 by typing
//! `zs` or `zhangsan`.
//!
//! The `pinyin` crate reads each character alone with its most common
//! reading, which is wrong for many surnames (单 is shàn as a surname, not
//! dān; 曾 zēng, not céng) and for given names with several readings (乐 lè
//! or yuè). A worker who types any correct reading must find the person, so
//! every name gets a small list of spellings:
//!
//! * the surname as a surname: compound surnames (尉迟 yuchi) first, then the
//!   table of single surnames whose surname reading is not (only) the common
//!   one, else every reading of the first character;
//! * every reading of each given-name character, combined, capped at
//!   [`MAX_VARIANTS`] with the most common readings first, so a name of
//!   many-reading characters cannot blow up the index.
//!
//! Keys are lowercase ASCII without tones; ü is written `v` (吕 → lv), as on
//! a pinyin keyboard.

use std::fmt;

use pinyin::{Pinyin, ToPinyinMulti};

use crate::identity::to_halfwidth;

/// Upper bound on spellings per name (full and initials separately).
pub const MAX_VARIANTS: usize = 16;

/// Every spelling a name must be found by.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct NameKeys {
    /// First letters, e.g. `zs` for 张三.
    pub initials: Vec<String>,
    /// Full spellings, e.g. `zhangsan`.
    pub full: Vec<String>,
}

// Pinyin of a name identifies the person as well as the name does.
impl fmt::Debug for NameKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NameKeys {{ initials: {} keys, full: {} keys }}",
            self.initials.len(),
            self.full.len()
        )
    }
}

/// Compound surnames, recognised only when a given name follows (a two-char
/// name 单于 is far more likely 单 + 于 than the compound alone). Entries
/// whose reading equals the characters' common readings (欧阳, 司马…) are
/// listed anyway so their initials stay right if the crate's data changes.
const COMPOUND_SURNAMES: &[(&str, &[&str])] = &[
    ("尉迟", &["yu", "chi"]),
    ("万俟", &["mo", "qi"]),
    ("长孙", &["zhang", "sun"]),
    ("令狐", &["ling", "hu"]),
    ("欧阳", &["ou", "yang"]),
    ("司马", &["si", "ma"]),
    ("上官", &["shang", "guan"]),
    ("诸葛", &["zhu", "ge"]),
    ("东方", &["dong", "fang"]),
    ("皇甫", &["huang", "fu"]),
    ("澹台", &["tan", "tai"]),
    ("宇文", &["yu", "wen"]),
    ("慕容", &["mu", "rong"]),
    ("夏侯", &["xia", "hou"]),
    ("公孙", &["gong", "sun"]),
    ("轩辕", &["xuan", "yuan"]),
    ("司徒", &["si", "tu"]),
    ("司空", &["si", "kong"]),
    ("端木", &["duan", "mu"]),
    ("呼延", &["hu", "yan"]),
    ("独孤", &["du", "gu"]),
    ("赫连", &["he", "lian"]),
    ("拓跋", &["tuo", "ba"]),
    ("申屠", &["shen", "tu"]),
    ("淳于", &["chun", "yu"]),
    ("乐正", &["yue", "zheng"]),
    ("亓官", &["qi", "guan"]),
    ("公冶", &["gong", "ye"]),
    ("濮阳", &["pu", "yang"]),
    ("百里", &["bai", "li"]),
    ("南宫", &["nan", "gong"]),
    ("西门", &["xi", "men"]),
    ("第五", &["di", "wu"]),
];

/// Single surnames whose surname reading differs from the character's common
/// reading. Several readings are listed where the surname itself is read
/// more than one way; the first is the usual one.
const SURNAMES: &[(char, &[&str])] = &[
    ('单', &["shan"]),
    ('曾', &["zeng"]),
    ('解', &["xie"]),
    ('仇', &["qiu"]),
    ('朴', &["piao"]),
    ('区', &["ou"]),
    ('查', &["zha"]),
    ('盖', &["ge", "gai"]),
    ('乐', &["yue", "le"]),
    ('覃', &["qin"]),
    ('缪', &["miao"]),
    ('尉', &["yu", "wei"]),
    ('秘', &["bi"]),
    ('召', &["shao"]),
    ('繁', &["po"]),
    ('折', &["she"]),
    ('员', &["yun"]),
    ('隗', &["wei"]),
    ('黑', &["he", "hei"]),
    ('翟', &["zhai"]),
    ('沈', &["shen"]),
    ('柏', &["bai"]),
    ('薄', &["bo"]),
    ('任', &["ren"]),
    ('华', &["hua"]),
    ('纪', &["ji"]),
    ('种', &["chong"]),
    ('过', &["guo"]),
    ('冼', &["xian"]),
    ('长', &["chang"]),
    ('万', &["wan"]),
    ('重', &["chong"]),
    ('盛', &["sheng"]),
    ('车', &["che"]),
    ('石', &["shi"]),
    ('宿', &["su"]),
    ('能', &["nai"]),
    ('句', &["gou"]),
    ('谌', &["chen", "shen"]),
    ('莘', &["shen", "xin"]),
    ('牟', &["mou", "mu"]),
    ('宓', &["mi", "fu"]),
    ('祭', &["zhai"]),
    ('厍', &["she"]),
    ('都', &["du"]),
    ('那', &["na"]),
    ('曲', &["qu"]),
    ('叶', &["ye"]),
    ('贲', &["ben", "bi"]),
    ('尚', &["shang"]),
    ('相', &["xiang"]),
    ('朝', &["chao"]),
    ('占', &["zhan"]),
    ('粘', &["nian"]),
    ('陆', &["lu"]),
    ('贾', &["jia"]),
    ('褚', &["chu"]),
    ('藏', &["zang"]),
    ('郇', &["huan", "xun"]),
];

/// One position in the name with its candidate readings, most common first.
/// A reading is a list of syllables (two for a compound surname).
type Token = Vec<Vec<String>>;

/// All spellings by which `name` must be found.
pub fn name_keys(name: &str) -> NameKeys {
    let tokens = tokenize(name);
    let full_choices: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| dedup(t.iter().map(|syl| syl.concat()).collect()))
        .collect();
    let initial_choices: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| dedup(t.iter().map(|syl| initials_of(syl)).collect()))
        .collect();
    NameKeys {
        initials: capped_product(&initial_choices),
        full: capped_product(&full_choices),
    }
}

/// What a worker typed, in the form the keys are stored in: lowercase,
/// half-width, without spaces, apostrophes (xi'an) or the name dot.
pub fn normalize_query(q: &str) -> String {
    q.chars()
        .map(to_halfwidth)
        .filter(|c| !c.is_whitespace() && !is_separator(*c) && *c != '\'' && *c != '’')
        .map(|c| if c == 'ü' || c == 'Ü' { 'v' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

fn tokenize(name: &str) -> Vec<Token> {
    let chars: Vec<char> = name
        .chars()
        .map(to_halfwidth)
        .filter(|c| !c.is_whitespace() && !is_separator(*c))
        .collect();
    let mut tokens = Vec::with_capacity(chars.len());
    let mut rest = &chars[..];

    if let Some((syllables, len)) = compound_surname(&chars) {
        tokens.push(vec![syllables.iter().map(|s| s.to_string()).collect()]);
        rest = &chars[len..];
    } else if let Some((&first, after)) = chars.split_first() {
        if let Some(readings) = surname_readings(first) {
            tokens.push(readings.iter().map(|r| vec![r.to_string()]).collect());
            rest = after;
        }
    }

    for &c in rest {
        if let Some(t) = char_token(c) {
            tokens.push(t);
        }
    }
    tokens
}

fn compound_surname(chars: &[char]) -> Option<(&'static [&'static str], usize)> {
    COMPOUND_SURNAMES.iter().find_map(|(surname, syllables)| {
        let n = surname.chars().count();
        let matches = chars.len() > n && surname.chars().eq(chars[..n].iter().copied());
        matches.then_some((*syllables, n))
    })
}

fn surname_readings(c: char) -> Option<&'static [&'static str]> {
    SURNAMES.iter().find(|(s, _)| *s == c).map(|(_, r)| *r)
}

/// Readings of one character: all heteronyms of a hanzi, ASCII letters and
/// digits as themselves, anything else (punctuation, unknown symbols) dropped.
fn char_token(c: char) -> Option<Token> {
    if c.is_ascii_alphanumeric() {
        return Some(vec![vec![c.to_ascii_lowercase().to_string()]]);
    }
    let multi = c.to_pinyin_multi()?;
    let readings: Token = multi
        .into_iter()
        .map(|p: Pinyin| vec![p.plain().replace('ü', "v")])
        .collect();
    (!readings.is_empty()).then_some(readings)
}

/// `·` in minority names (阿依古丽·买买提) and similar dots or dashes.
fn is_separator(c: char) -> bool {
    matches!(c, '·' | '•' | '・' | '‧' | '.' | '-' | '‐' | '－' | '—' | '_')
}

fn initials_of(syllables: &[String]) -> String {
    syllables.iter().filter_map(|s| s.chars().next()).collect()
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The cartesian product of the choices, keeping at most [`MAX_VARIANTS`].
/// Each choice's index is its rarity rank, and combinations are kept in
/// order of total rank, so the all-common-readings spelling is first and the
/// cap drops the least likely ones. Pruning after every position keeps the
/// work bounded; it cannot drop a combination that would rank in the final
/// top set, since extending a prefix with a rank-0 choice never lowers it.
fn capped_product(choices: &[Vec<String>]) -> Vec<String> {
    let mut acc: Vec<(usize, String)> = vec![(0, String::new())];
    for options in choices.iter().filter(|o| !o.is_empty()) {
        let mut next = Vec::with_capacity(acc.len() * options.len());
        for (rank, prefix) in &acc {
            for (i, option) in options.iter().enumerate() {
                next.push((rank + i, format!("{prefix}{option}")));
            }
        }
        next.sort_by_key(|(rank, _)| *rank); // stable: ties keep reading order
        next.truncate(MAX_VARIANTS);
        acc = next;
    }
    let spellings: Vec<String> = acc.into_iter().map(|(_, s)| s).collect();
    let spellings = dedup(spellings);
    if spellings.len() == 1 && spellings[0].is_empty() {
        Vec::new()
    } else {
        spellings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(keys: &NameKeys, initials: &str, full: &str) -> bool {
        keys.initials.iter().any(|k| k == initials) && keys.full.iter().any(|k| k == full)
    }

    #[test]
    fn plain_two_and_three_char_names() {
        let k = name_keys("张三");
        assert!(has(&k, "zs", "zhangsan"), "{:?} {:?}", k.initials, k.full);
        assert_eq!(k.full[0], "zhangsan");
        let k = name_keys("王秀英");
        assert!(has(&k, "wxy", "wangxiuying"));
    }

    #[test]
    fn single_char_name() {
        let k = name_keys("张");
        assert_eq!(k.full, vec!["zhang"]);
        assert_eq!(k.initials, vec!["z"]);
        assert_eq!(name_keys("单").full, vec!["shan"]);
    }

    #[test]
    fn polyphonic_surnames_use_the_surname_reading() {
        let k = name_keys("单田芳");
        assert!(has(&k, "stf", "shantianfang"));
        assert!(!k.full.iter().any(|f| f.starts_with("dan")));
        for (name, reading) in [
            ("曾", "zeng"),
            ("解", "xie"),
            ("仇", "qiu"),
            ("朴", "piao"),
            ("区", "ou"),
            ("查", "zha"),
            ("盖", "ge"),
            ("乐", "yue"),
            ("覃", "qin"),
            ("缪", "miao"),
            ("沈", "shen"),
            ("翟", "zhai"),
        ] {
            let full = format!("{reading}ming");
            let k = name_keys(&format!("{name}明"));
            assert_eq!(k.full[0], full, "{name}");
        }
        assert!(!name_keys("曾明").full.iter().any(|f| f.starts_with("ceng")));
    }

    #[test]
    fn compound_surnames() {
        let k = name_keys("尉迟恭");
        assert!(has(&k, "ycg", "yuchigong"));
        assert_eq!(k.full, vec!["yuchigong"]);
        let k = name_keys("欧阳修");
        assert!(has(&k, "oyx", "ouyangxiu"));
        assert_eq!(name_keys("万俟卨").full[0], "moqixie");
        assert!(has(&name_keys("长孙无忌"), "zswj", "zhangsunwuji"));
        // A two-char name is surname + given name, not a bare compound.
        assert!(name_keys("尉迟").full.contains(&"yuchi".to_string()));
        assert!(name_keys("单于").full.contains(&"shanyu".to_string()));
    }

    #[test]
    fn given_name_heteronyms_are_all_indexed() {
        let k = name_keys("张乐");
        assert!(has(&k, "zl", "zhangle"));
        assert!(has(&k, "zy", "zhangyue"));
    }

    #[test]
    fn u_umlaut_is_written_v() {
        let k = name_keys("吕");
        assert_eq!(k.full, vec!["lv"]);
        assert!(name_keys("吕女").full.contains(&"lvnv".to_string()));
    }

    #[test]
    fn minority_names_and_latin_letters() {
        let k = name_keys("阿依古丽·买买提");
        assert!(k.full.contains(&"ayigulimaimaiti".to_string()), "{:?}", k.full);
        assert!(k.initials.contains(&"ayglmmt".to_string()));
        let k = name_keys("李A");
        assert!(has(&k, "la", "lia"));
        assert!(name_keys("Ｌｉ").full.contains(&"li".to_string()));
    }

    #[test]
    fn variants_are_capped_and_common_first() {
        // 朝 着 行 长 重 all have two or more readings: 2^5+ combinations.
        let k = name_keys("刘朝着行长重");
        assert_eq!(k.full.len(), MAX_VARIANTS);
        assert!(k.initials.len() <= MAX_VARIANTS);
        let common: String = "刘朝着行长重"
            .chars()
            .map(|c| c.to_pinyin_multi().unwrap().get(0).plain())
            .collect();
        assert_eq!(k.full[0], common);
    }

    #[test]
    fn empty_and_unreadable_names() {
        assert_eq!(name_keys(""), NameKeys::default());
        assert_eq!(name_keys(" · "), NameKeys::default());
    }

    #[test]
    fn debug_hides_the_keys() {
        assert!(!format!("{:?}", name_keys("张三")).contains("zhang"));
    }

    #[test]
    fn query_normalisation() {
        assert_eq!(normalize_query(" Zhang San "), "zhangsan");
        assert_eq!(normalize_query("xi'an"), "xian");
        assert_eq!(normalize_query("ＺＳ"), "zs");
        assert_eq!(normalize_query("lü"), "lv");
    }
}
