//! Conditions that go round in a circle (issue 13, item 9). A field whose
//! `visible_if` depends on its own answer can never be shown to be
//! answered; two fields shown only when the other is answered never appear;
//! a section shown only when one of its own fields is answered stays shut.
//! `required_if` is held to the same rule: whether a field is asked for may
//! not hang on its own answer either. The loader refuses such a form and
//! names the fields, in file order, around the circle.
//!
//! "Depends on" here: a field on every answer its `visible_if` and
//! `required_if` read, and on its section's `visible_if`; a section on the
//! answers its `visible_if` reads; a calculated field on its inputs; a
//! condition on the resident's sex or age on the field a registration form
//! binds them to.

use super::def::{Cond, ContextVar, FieldKind, Formula, ResidentBinding, Section, Subject};
use std::collections::{BTreeSet, HashMap};

/// One circle: where the loader reports it, and `a → b → a`.
pub struct Cycle {
    pub at: String,
    pub chain: String,
}

/// A field or a section, with where it is and what it is called.
struct Node {
    at: String,
    name: String,
    deps: Vec<usize>,
}

/// Every circle in the conditions of `sections`, each once.
pub fn find(sections: &[Section], resident: &ResidentBinding) -> Vec<Cycle> {
    // Nodes in file order: a section, then its fields.
    let mut nodes: Vec<Node> = Vec::new();
    let mut field_node: HashMap<&str, usize> = HashMap::new();
    let mut section_node: Vec<Option<usize>> = Vec::new();
    for (si, s) in sections.iter().enumerate() {
        section_node.push(s.visible_if.as_ref().map(|_| {
            nodes.push(Node {
                at: format!("section[{si}] ({}).visible_if", s.id),
                name: format!("section {}", s.id),
                deps: Vec::new(),
            });
            nodes.len() - 1
        }));
        for (fi, f) in s.fields.iter().enumerate() {
            field_node.insert(&f.id, nodes.len());
            nodes.push(Node {
                at: format!("section[{si}].field[{fi}] ({})", f.id),
                name: f.id.clone(),
                deps: Vec::new(),
            });
        }
    }
    let of_path = |path: &str| field_node.get(path.split('.').next().unwrap_or(path)).copied();
    let of_cond = |c: &Cond| {
        let mut out = Vec::new();
        subjects(c, resident, &mut |p| out.extend(of_path(p)));
        out
    };
    for (si, s) in sections.iter().enumerate() {
        if let (Some(n), Some(c)) = (section_node[si], &s.visible_if) {
            nodes[n].deps = of_cond(c);
        }
        for f in &s.fields {
            let n = field_node[f.id.as_str()];
            let mut deps: Vec<usize> = section_node[si].into_iter().collect();
            for c in [&f.visible_if, &f.required_if].into_iter().flatten() {
                deps.extend(of_cond(c));
            }
            if let FieldKind::Calculated {
                formula: Formula::Bmi { weight, height },
                ..
            } = &f.kind
            {
                deps.extend([weight, height].into_iter().filter_map(|p| of_path(p)));
            }
            deps.sort_unstable();
            deps.dedup();
            nodes[n].deps = deps;
        }
    }
    circles(&nodes)
}

/// Calls `each` with every answer path `c` reads (the resident's sex and
/// age as the fields a registration form binds them to).
fn subjects(c: &Cond, resident: &ResidentBinding, each: &mut impl FnMut(&str)) {
    match c {
        Cond::Is { subject, .. } => match subject {
            Subject::Field(p) => each(p),
            Subject::Context(ContextVar::Sex) => resident.sex.iter().for_each(|p| each(p)),
            Subject::Context(ContextVar::Age) => resident.birth_date.iter().for_each(|p| each(p)),
        },
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| subjects(c, resident, each)),
        Cond::Not(c) => subjects(c, resident, each),
    }
}

/// The circles a depth-first walk finds (one per edge back into the path
/// walked), each once, starting at its first node in file order. Without
/// recursion: a made-up form may chain thousands of fields.
fn circles(nodes: &[Node]) -> Vec<Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    let mut out = Vec::new();
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        mark[start] = Mark::OnPath;
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some((v, next)) = path.last_mut() {
            let v = *v;
            let Some(&w) = nodes[v].deps.get(*next) else {
                mark[v] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match mark[w] {
                Mark::New => {
                    mark[w] = Mark::OnPath;
                    path.push((w, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|(n, _)| *n == w).unwrap_or(0);
                    let mut circle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                    let first = (0..circle.len()).min_by_key(|&i| circle[i]).unwrap_or(0);
                    circle.rotate_left(first);
                    let mut key = circle.clone();
                    key.sort_unstable();
                    if seen.insert(key) {
                        let names: Vec<&str> = circle.iter().map(|&n| nodes[n].name.as_str()).collect();
                        out.push(Cycle {
                            at: nodes[circle[0]].at.clone(),
                            chain: format!("{} → {}", names.join(" → "), names[0]),
                        });
                    }
                }
                Mark::Done => {}
            }
        }
    }
    out
}
