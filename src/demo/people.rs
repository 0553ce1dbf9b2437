//! Who the synthetic residents are: surnames by their real frequency, given
//! names, villages and their record-number codes, addresses, ID numbers and
//! phones. Tables of made-up data; nothing here describes a real person.

use crate::identity::check_char;
use crate::store::SiteConfig;
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::Rng;

/// Surnames with their approximate share (per mille) among Chinese people.
pub(super) const SURNAMES: &[(&str, u32)] = &[
    ("王", 71),
    ("李", 70),
    ("张", 67),
    ("刘", 54),
    ("陈", 45),
    ("杨", 31),
    ("黄", 22),
    ("赵", 22),
    ("吴", 20),
    ("周", 19),
    ("徐", 15),
    ("孙", 15),
    ("马", 14),
    ("朱", 13),
    ("胡", 13),
    ("郭", 11),
    ("何", 11),
    ("高", 11),
    ("林", 10),
    ("罗", 9),
    ("郑", 9),
    ("梁", 8),
    ("谢", 8),
    ("宋", 7),
    ("唐", 7),
    ("许", 7),
    ("韩", 7),
    ("冯", 7),
    ("邓", 7),
    ("曹", 6),
    ("彭", 6),
    ("曾", 6),
    ("肖", 6),
    ("田", 6),
    ("董", 5),
    ("袁", 5),
    ("潘", 5),
    ("于", 5),
    ("蒋", 5),
    ("蔡", 5),
    ("余", 5),
    ("杜", 5),
    ("叶", 4),
    ("程", 4),
    ("苏", 4),
    ("魏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 4),
    ("沈", 4),
    ("姚", 4),
    ("卢", 4),
    ("姜", 4),
    ("崔", 4),
    ("钟", 4),
    ("谭", 3),
    ("陆", 3),
    ("汪", 3),
    ("范", 3),
    ("金", 3),
    ("石", 3),
    ("廖", 3),
    ("贾", 3),
    ("夏", 3),
    ("韦", 3),
    ("付", 3),
    ("方", 3),
    ("白", 3),
    ("单", 1),
    ("解", 1),
    ("仇", 1),
    ("朴", 1),
    ("区", 1),
    ("查", 1),
    ("盖", 1),
    ("乐", 1),
    ("覃", 1),
    ("缪", 1),
    ("尉迟", 1),
    ("欧阳", 1),
    ("上官", 1),
    ("司马", 1),
];

pub(super) const MALE_CHARS: &str =
    "伟强军勇杰磊涛明超刚平辉建国志华文斌波宇浩凯健俊峰鹏飞林德福贵荣海山成东春生永忠新利清金长庆宝兴江胜良";

pub(super) const FEMALE_CHARS: &str =
    "芳娜敏静丽艳娟霞秀英慧玲桂兰红梅燕琳雪萍婷颖洁琴云莲凤珍翠玉春花淑华荣芬丹晶秋月彩琼素爱惠佳欣乐";

pub(super) const VILLAGES: &[&str] = &[
    "东山村",
    "西河村",
    "南岭村",
    "北坡村",
    "前进村",
    "红旗村",
    "杨柳村",
    "石桥村",
    "新民村",
    "和平村",
];

pub(super) const STREETS: &[&str] = &["一组", "二组", "三组", "四组", "五组", "六组"];

pub(super) fn pick_surname(rng: &mut StdRng) -> &'static str {
    let total: u32 = SURNAMES.iter().map(|s| s.1).sum();
    let mut n = rng.random_range(0..total);
    for (s, w) in SURNAMES {
        if n < *w {
            return s;
        }
        n -= w;
    }
    "王"
}

/// A valid 18-digit ID number for the division, birth date and sex.
pub fn id_number(division: &str, birth: NaiveDate, male: bool, rng: &mut StdRng) -> String {
    let seq = rng.random_range(0..50u32) * 2 + rng.random_range(0..10u32) * 100 + u32::from(male);
    let first17 = format!("{division}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    format!("{first17}{}", check_char(&first17))
}

pub(super) fn phone(rng: &mut StdRng) -> String {
    let prefixes = ["138", "139", "150", "151", "186", "187", "135", "137", "158", "189"];
    format!(
        "{}{:08}",
        prefixes[rng.random_range(0..prefixes.len())],
        rng.random_range(0..100_000_000u32)
    )
}

/// Residents per village (a county's villages hold one to three thousand)
/// and villages per township: a big demo is a county, with record numbers
/// under each village's own codes, since one village's 5-digit serial stops
/// at 99 999.
pub(super) const VILLAGE_SIZE: u32 = 2000;

pub(super) const VILLAGES_PER_TOWNSHIP: u32 = 20;

pub(super) const VILLAGE_HEADS: [&str; 20] = [
    "东", "西", "南", "北", "前", "后", "上", "下", "大", "小", "新", "老", "红", "石", "柳", "杨", "马", "黄", "高",
    "白",
];

pub(super) const VILLAGE_TAILS: [&str; 10] = ["山", "河", "岭", "坡", "沟", "屯", "庄", "堡", "营", "湾"];

/// A village: its record-number codes (division, township, village), its
/// name, and how many residents the demo gives it.
pub(super) struct Village {
    pub(super) codes: SiteConfig,
    pub(super) name: String,
    pub(super) quota: u32,
}

/// At least the ten named villages; the site's own village first.
pub(super) fn villages(site: &SiteConfig, count: u32) -> Vec<Village> {
    let n = count.div_ceil(VILLAGE_SIZE).max(VILLAGES.len() as u32);
    let base_t: u32 = site.township.parse().unwrap_or(101);
    let base_v: u32 = site.village.parse().unwrap_or(101);
    (0..n)
        .map(|i| {
            let k = i % VILLAGES_PER_TOWNSHIP;
            // Village committees are numbered 101–199.
            let v = if (101..=199).contains(&base_v) {
                101 + (base_v - 101 + k) % 99
            } else if k == 0 {
                base_v
            } else {
                100 + k
            };
            let t = (base_t + i / VILLAGES_PER_TOWNSHIP).min(999);
            let name = match VILLAGES.get(i as usize) {
                Some(name) => name.to_string(),
                None => {
                    let j = i as usize;
                    let round = j / (VILLAGE_HEADS.len() * VILLAGE_TAILS.len());
                    let head = VILLAGE_HEADS[j % VILLAGE_HEADS.len()];
                    let tail = VILLAGE_TAILS[(j / VILLAGE_HEADS.len()) % VILLAGE_TAILS.len()];
                    if round == 0 {
                        format!("{head}{tail}村")
                    } else {
                        format!("{head}{tail}{}村", round + 1)
                    }
                }
            };
            let codes = SiteConfig {
                township: format!("{t:03}"),
                village: format!("{v:03}"),
                ..site.clone()
            };
            Village {
                codes,
                name,
                quota: count / n + u32::from(i < count % n),
            }
        })
        .collect()
}

pub(super) const DOCTORS: [&str; 3] = ["李医生", "王医生", "张医生"];
