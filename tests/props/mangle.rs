//! Mangling a file: edits on its text (lines and characters, so it stays a
//! `str`) and on its TOML tree (so it is still TOML and reaches what
//! checks the values).

use crate::typed;
use proptest::prelude::*;
use proptest::sample::Index;

/// One change to a file's text, at places chosen by index.
#[derive(Debug, Clone)]
pub enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// The value of one `key = value` line put on another.
    MoveValue(Index, Index),
    Insert(Index, String),
    ReplaceChar(Index, char),
    Truncate(Index),
}

pub fn toml_snippet() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "[[section]]",
        "[[section.field]]",
        "id = \"x\"",
        "id = \"\"",
        "kind = \"rows\"",
        "kind = \"choice\"",
        "kind = \"calculated\"",
        "required = true",
        "visible_if = \"sex = 1\"",
        "visible_if = \"(\"",
        "check = \"x > \"",
        "range = [1, 0]",
        "range = [\"a\"]",
        "options = []",
        "columns = []",
        "max_len = -1",
        "max_len = 18446744073709551615",
        "precision = 99",
        "[",
        "\"",
        "=",
        "\u{feff}",
        "张 = \"伟\"",
    ]);
    prop_oneof![piece.prop_map(str::to_string), typed(20), any::<String>()]
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::MoveValue(a, b)),
        2 => (any::<Index>(), toml_snippet()).prop_map(|(a, s)| Edit::Insert(a, s)),
        1 => (any::<Index>(), any::<char>()).prop_map(|(a, c)| Edit::ReplaceChar(a, c)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// The text with the edits applied (on lines and characters, so it stays a `str`).
pub fn mangle(src: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match e {
            Edit::DeleteLine(i) => {
                lines.remove(i.index(n));
            }
            Edit::DuplicateLine(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
            Edit::MoveValue(a, b) => {
                let value = lines[b.index(n)].split_once('=').map(|(_, v)| v.to_string());
                let line = &mut lines[a.index(n)];
                if let (Some(v), Some((key, _))) = (value, line.clone().split_once('=')) {
                    *line = format!("{key}={v}");
                }
            }
            Edit::Insert(i, s) => lines.insert(i.index(n + 1), s.clone()),
            Edit::ReplaceChar(i, c) => {
                let line = &mut lines[i.index(n)];
                let chars: Vec<char> = line.chars().collect();
                if !chars.is_empty() {
                    let at = i.index(chars.len());
                    *line = chars[..at].iter().chain([c]).chain(&chars[at + 1..]).collect();
                }
            }
            Edit::Truncate(i) => lines.truncate(i.index(n) + 1),
        }
    }
    lines.join("\n")
}

/// One change to a parsed file (a TOML tree), at nodes chosen by index:
/// the result is still TOML, so it reaches the form validator and rules.
#[derive(Debug, Clone)]
pub enum TreeEdit {
    Remove(Index),
    /// A node replaced by a copy of another node of the same file.
    CopyOver(Index, Index),
    Replace(Index, toml::Value),
    /// A value replaced by another of the same type (passes the file's
    /// types, so it reaches the validator's own checks).
    Retype(Index, Index),
    SwapInArray(Index, Index, Index),
}

/// Strings a form file holds: ids, kinds, conditions, codes, dates.
const FORM_WORDS: &[&str] = &[
    "",
    "x",
    "1",
    "0",
    "99",
    "01",
    "sex",
    "sex = 1",
    "sex = 9",
    "(",
    ")",
    "bp.systolic > 140",
    "age >= 65",
    "a and",
    "not",
    "bmi",
    "t",
    "2026-11-29",
    "2099-01-01",
    "choice",
    "rows",
    "multi",
    "text",
    "integer",
    "decimal",
    "date",
    "pair",
    "blood_pressure",
    "calculated",
    "registration",
    "followup",
    "exam",
    "hypertension",
    "diabetes",
    "name",
    "id_number",
    "visit_date",
    "birth_date",
    "张三",
    "😀",
    "kg",
    "cm",
    "mmHg",
    "error",
    "warning",
];

fn toml_scalar() -> impl Strategy<Value = toml::Value> {
    use toml::Value as V;
    prop_oneof![
        prop::sample::select(vec![
            "",
            "x",
            "1",
            "0",
            "99",
            "sex = 1",
            "(",
            "bp.systolic > 140",
            "age >= 65",
            "bmi",
            "t",
            "2026-11-29",
            "choice",
            "rows",
            "multi",
            "text",
            "integer",
            "decimal",
            "date",
            "pair",
            "blood_pressure",
            "calculated",
            "registration",
            "followup",
            "exam",
            "hypertension",
            "张三",
            "😀",
        ])
        .prop_map(|s| V::String(s.to_string())),
        any::<i64>().prop_map(V::Integer),
        prop::sample::select(vec![-1i64, 0, 1, 2, 17, 18, 500]).prop_map(V::Integer),
        prop::sample::select(vec![0.0f64, -1.5, 1e300, f64::NAN, f64::INFINITY]).prop_map(V::Float),
        any::<bool>().prop_map(V::Boolean),
        Just(V::Array(Vec::new())),
        Just(V::Table(toml::Table::new())),
        typed(10).prop_map(V::String),
    ]
}

pub fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    prop_oneof![
        3 => any::<Index>().prop_map(TreeEdit::Remove),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TreeEdit::CopyOver(a, b)),
        2 => (any::<Index>(), toml_scalar()).prop_map(|(a, v)| TreeEdit::Replace(a, v)),
        6 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TreeEdit::Retype(a, b)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(a, b, c)| TreeEdit::SwapInArray(a, b, c)),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// Every node's path, parents before children.
fn node_paths(v: &toml::Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    let children: Vec<(Step, &toml::Value)> = match v {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        toml::Value::Array(a) => a.iter().enumerate().map(|(i, v)| (Step::At(i), v)).collect(),
        _ => Vec::new(),
    };
    for (step, child) in children {
        here.push(step);
        node_paths(child, here, out);
        here.pop();
    }
}

fn node_mut<'a>(v: &'a mut toml::Value, path: &[Step]) -> Option<&'a mut toml::Value> {
    path.iter().try_fold(v, |v, step| match (v, step) {
        (toml::Value::Table(t), Step::Key(k)) => t.get_mut(k),
        (toml::Value::Array(a), Step::At(i)) => a.get_mut(*i),
        _ => None,
    })
}

/// The file with the tree edits applied, written out as TOML again.
pub fn mangle_tree(tree: &toml::Value, edits: &[TreeEdit]) -> Option<String> {
    let mut root = tree.clone();
    for e in edits {
        let mut paths = Vec::new();
        node_paths(&root, &mut Vec::new(), &mut paths);
        let pick = |i: &Index| paths[i.index(paths.len())].clone();
        match e {
            TreeEdit::Remove(i) => {
                let path = pick(i);
                let Some((last, parent)) = path.split_last() else {
                    continue;
                };
                match (node_mut(&mut root, parent), last) {
                    (Some(toml::Value::Table(t)), Step::Key(k)) => {
                        t.remove(k);
                    }
                    (Some(toml::Value::Array(a)), Step::At(i)) => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
            TreeEdit::CopyOver(to, from) => {
                let (to, from) = (pick(to), pick(from));
                let Some(value) = node_mut(&mut root, &from).map(|v| v.clone()) else {
                    continue;
                };
                if let Some(slot) = node_mut(&mut root, &to).filter(|_| !to.is_empty()) {
                    *slot = value;
                }
            }
            TreeEdit::Replace(at, value) => {
                let at = pick(at);
                if let Some(slot) = node_mut(&mut root, &at).filter(|_| !at.is_empty()) {
                    *slot = value.clone();
                }
            }
            TreeEdit::Retype(at, seed) => {
                use toml::Value as V;
                let Some(slot) = node_mut(&mut root, &pick(at)) else {
                    continue;
                };
                *slot = match &*slot {
                    V::String(_) => V::String(FORM_WORDS[seed.index(FORM_WORDS.len())].to_string()),
                    V::Integer(_) => V::Integer([-1, 0, 1, 2, 17, 18, 500, i64::MAX][seed.index(8)]),
                    V::Float(_) => V::Float([0.0, -1.5, 0.05, 1e300][seed.index(4)]),
                    V::Boolean(b) => V::Boolean(!b),
                    V::Array(a) if !a.is_empty() => V::Array(a[..seed.index(a.len())].to_vec()),
                    other => other.clone(),
                };
            }
            TreeEdit::SwapInArray(at, a, b) => {
                if let Some(toml::Value::Array(arr)) = node_mut(&mut root, &pick(at)) {
                    if !arr.is_empty() {
                        let n = arr.len();
                        arr.swap(a.index(n), b.index(n));
                    }
                }
            }
        }
    }
    toml::to_string(&root).ok()
}
