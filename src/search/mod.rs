//! Finding residents by name.

pub mod index;
pub mod pinyin_keys;

pub use pinyin_keys::{name_keys, normalize_query, NameKeys};
