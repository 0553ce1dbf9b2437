//! Reading a keymap file: every entry is taken with its place in the file
//! (`toml::Spanned`), so each problem names its exact line — an unknown
//! context, action or key, a value that is not a list of keys, and one key
//! given two actions in the same context. The entries that are fine apply.

use super::{Action, Context, Key, Keymap};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub detail: String,
}

/// A context's table as written, each action name and value with its span;
/// anything else where a table should be is `NotTable`.
enum Body {
    Table(Vec<(Spanned<String>, Spanned<toml::Value>)>),
    NotTable,
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Body, D::Error> {
        struct BodyVisitor;
        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = Body;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of actions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Body, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = m.next_entry::<Spanned<String>, Spanned<toml::Value>>()? {
                    out.push(entry);
                }
                Ok(Body::Table(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Body, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Body::NotTable)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
                Ok(Body::NotTable)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
                Ok(Body::NotTable)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
                Ok(Body::NotTable)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
                Ok(Body::NotTable)
            }
            fn visit_str<E>(self, _: &str) -> Result<Body, E> {
                Ok(Body::NotTable)
            }
        }
        d.deserialize_any(BodyVisitor)
    }
}

impl Keymap {
    /// Parses a keymap file over `base` (or empty). Every problem is
    /// returned, sorted by line; the entries that are fine still apply.
    pub fn parse(file: &str, src: &str, base: Option<&Keymap>) -> (Keymap, Vec<KeymapError>) {
        let mut map = base.cloned().unwrap_or(Keymap {
            bindings: BTreeMap::new(),
        });
        let mut errors = Vec::new();
        let line = |span: std::ops::Range<usize>| crate::config::line_of(src, span.start);
        let mut error = |line: usize, detail: String| {
            errors.push(KeymapError {
                file: file.into(),
                line,
                detail,
            })
        };
        let table: BTreeMap<Spanned<String>, Body> = match toml::from_str(src) {
            Ok(t) => t,
            Err(e) => {
                error(e.span().map(line).unwrap_or(0), e.message().to_string());
                return (map, errors);
            }
        };
        // Where this file set each binding, to name the line of a clash.
        let mut set_at: HashMap<(Context, Action), usize> = HashMap::new();
        for (ctx_name, body) in table {
            let ctx_line = line(ctx_name.span());
            let Some(ctx) = Context::from_name(ctx_name.get_ref()) else {
                error(ctx_line, format!("unknown context [{}]", ctx_name.get_ref()));
                continue;
            };
            let Body::Table(actions) = body else {
                error(ctx_line, format!("[{}] must be a table", ctx.name()));
                continue;
            };
            for (name, keys) in actions {
                let at = line(name.span());
                let Some(action) = Action::from_name(name.get_ref()) else {
                    error(at, format!("unknown action \"{}\" in [{}]", name.get_ref(), ctx.name()));
                    continue;
                };
                let Some(list) = keys.get_ref().as_array() else {
                    error(
                        at,
                        format!("\"{}\" must be a list of keys, like [\"ctrl-q\"]", action.name()),
                    );
                    continue;
                };
                let mut parsed = Vec::new();
                for k in list {
                    match k.as_str().and_then(Key::parse) {
                        Some(key) if !parsed.contains(&key) => parsed.push(key),
                        Some(_) => {}
                        None => error(at, format!("unknown key {k} for \"{}\"", action.name())),
                    }
                }
                let entries = map.bindings.entry(ctx).or_default();
                entries.retain(|(a, _)| *a != action);
                entries.push((action, parsed));
                set_at.insert((ctx, action), at);
            }
        }
        for (ctx, entries) in map.bindings.iter_mut() {
            for clash in clashes(entries) {
                // The binding this file set gives way (the later one when it
                // set both) and keeps its built-in keys, as a bad entry does;
                // without any, it only loses the clashing key.
                let line_of = |a: Action| set_at.get(&(*ctx, a)).copied();
                let (keep, drop) = match (line_of(clash.first), line_of(clash.second)) {
                    (Some(a), Some(b)) if a > b => (clash.second, clash.first),
                    (Some(_), None) => (clash.second, clash.first),
                    _ => (clash.first, clash.second),
                };
                let built_in: Vec<Key> = base
                    .map(|b| b.keys(*ctx, drop).to_vec())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|k| !entries.iter().any(|(a, keys)| *a != drop && keys.contains(k)))
                    .collect();
                let outcome = if built_in.is_empty() {
                    format!("\"{}\" goes without it", drop.name())
                } else {
                    format!("\"{}\" keeps its built-in keys", drop.name())
                };
                error(
                    line_of(drop).unwrap_or(0),
                    format!(
                        "{} is bound to both \"{}\" and \"{}\" in [{}]; {outcome}",
                        clash.key.label(),
                        keep.name(),
                        drop.name(),
                        ctx.name(),
                    ),
                );
                if let Some((_, keys)) = entries.iter_mut().find(|(a, _)| *a == drop) {
                    if built_in.is_empty() {
                        keys.retain(|k| *k != clash.key);
                    } else {
                        *keys = built_in;
                    }
                }
            }
            // Help lists actions in their natural order, not the file's.
            entries.sort_by_key(|(a, _)| *a);
        }
        errors.sort_by_key(|e| e.line);
        (map, errors)
    }
}

struct Clash {
    key: Key,
    first: Action,
    second: Action,
}

/// Keys bound to more than one action in one context.
fn clashes(entries: &[(Action, Vec<Key>)]) -> Vec<Clash> {
    let mut seen: Vec<(Key, Action)> = Vec::new();
    let mut out = Vec::new();
    for (action, keys) in entries {
        for key in keys {
            match seen.iter().find(|(k, _)| k == key) {
                Some((_, first)) => out.push(Clash {
                    key: *key,
                    first: *first,
                    second: *action,
                }),
                None => seen.push((*key, *action)),
            }
        }
    }
    out
}
