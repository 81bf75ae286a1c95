//! The document's shape and its graph: start, targets, reachability, bounded cycles.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;

use crate::flow::Flow;

/// Flow language version this checker knows.
pub(crate) const VERSION: &str = "2019-10-30";
/// Characters an `Identifier` may not contain (Flow language: 1 to 50 characters without these).
const IDENTIFIER_FORBIDDEN: &str = "%:(\\/)=$,;[]{}";

/// (action, problem) pairs; `None` when the problem is the document's.
pub(crate) type Problems = Vec<(Option<String>, String)>;

pub(crate) fn shape(f: &Flow) -> Problems {
    let d = &f.doc;
    let mut p: Problems = Vec::new();
    let Some(obj) = d.as_object() else {
        return vec![(None, "the flow is not a JSON object".to_owned())];
    };
    if obj.get("Version").and_then(Value::as_str) != Some(VERSION) {
        p.push((None, format!("Version is {}, expected {VERSION:?}", short(obj.get("Version")))));
    }
    if !obj.get("StartAction").is_some_and(Value::is_string) {
        p.push((None, "StartAction is missing or not a string".to_owned()));
    }
    let Some(actions) = obj.get("Actions").and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        p.push((None, "Actions is missing or empty".to_owned()));
        return p;
    };
    if obj.get("Metadata").is_some_and(|m| !m.is_object()) {
        p.push((None, "Metadata is not an object".to_owned()));
    }
    let mut seen = HashSet::new();
    for (i, a) in actions.iter().enumerate() {
        let Some(a) = a.as_object() else {
            p.push((None, format!("Actions[{i}] is not an object")));
            continue;
        };
        let ident = a.get("Identifier").and_then(Value::as_str);
        let at = ident.map(str::to_owned);
        let where_ = ident.map_or_else(|| format!("Actions[{i}]"), |id| format!("Actions[{i}] ({id})"));
        for (field, ok, kind) in [
            ("Identifier", a.get("Identifier").is_some_and(Value::is_string), "string"),
            ("Type", a.get("Type").is_some_and(Value::is_string), "string"),
            ("Parameters", a.get("Parameters").is_some_and(Value::is_object), "object"),
            ("Transitions", a.get("Transitions").is_some_and(Value::is_object), "object"),
        ] {
            if !ok {
                p.push((at.clone(), format!("{where_}: {field} missing or not a {kind}")));
            }
        }
        if let Some(id) = ident {
            if !seen.insert(id) {
                p.push((at.clone(), format!("{where_}: duplicate Identifier")));
            }
            let len = id.chars().count();
            if !(1..=50).contains(&len) || id.chars().any(|c| IDENTIFIER_FORBIDDEN.contains(c)) {
                p.push((at, format!("{where_}: Identifier must be 1-50 characters without {IDENTIFIER_FORBIDDEN}")));
            }
        }
    }
    p
}

/// A JSON value for a message, cut short (never a long value in a report).
pub(crate) fn short(v: Option<&Value>) -> String {
    let s = v.map_or_else(|| "missing".to_owned(), Value::to_string);
    if s.chars().count() > 40 { format!("{}...", s.chars().take(40).collect::<String>()) } else { s }
}

pub(crate) fn start(f: &Flow) -> Problems {
    if f.start_index().is_some() {
        Vec::new()
    } else {
        vec![(None, format!("StartAction {} names no action", short(f.doc.get("StartAction"))))]
    }
}

pub(crate) fn targets(f: &Flow) -> Problems {
    let mut p = Vec::new();
    let raw = f.doc.get("Actions").and_then(Value::as_array).cloned().unwrap_or_default();
    for a in &raw {
        let id = a.get("Identifier").and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some(t) = a.get("Transitions") else { continue };
        if t.get("NextAction").is_some_and(|n| !n.is_string()) {
            p.push((Some(id.clone()), format!("{id}: NextAction is not a string")));
        }
        for key in ["Conditions", "Errors"] {
            if t.get(key).is_some_and(|v| !v.is_array()) {
                p.push((Some(id.clone()), format!("{id}: Transitions.{key} is not a list")));
            }
        }
    }
    for a in &f.actions {
        for target in a.successors() {
            if f.action(target).is_none() {
                p.push((Some(a.id.clone()), format!("{} -> {target:?}: no such action", a.id)));
            }
        }
    }
    p
}

/// Indices reachable from the start action.
pub(crate) fn reachable(f: &Flow) -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut todo: VecDeque<usize> = f.start_index().into_iter().collect();
    while let Some(n) = todo.pop_front() {
        if seen.insert(n) {
            todo.extend(f.next(n).into_iter().map(|(i, _)| i));
        }
    }
    seen
}

pub(crate) fn orphans(f: &Flow) -> Problems {
    let reach = reachable(f);
    let mut orphans: Vec<&str> =
        f.by_id.iter().filter(|(_, i)| !reach.contains(i)).map(|(id, _)| id.as_str()).collect();
    orphans.sort_unstable();
    if orphans.is_empty() {
        Vec::new()
    } else {
        vec![(None, format!("unreachable from StartAction: {}", orphans.join(", ")))]
    }
}

/// Every cycle passes through a `Loop` block, so retries are bounded. Depth-first without
/// recursion (a flow may have thousands of actions).
pub(crate) fn bounded_loops(f: &Flow) -> Problems {
    let is_loop = |i: usize| f.actions.get(i).is_some_and(|a| a.kind == "Loop");
    let n = f.actions.len();
    let succ: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            if is_loop(i) {
                Vec::new()
            } else {
                f.next(i).into_iter().map(|(j, _)| j).filter(|j| !is_loop(*j)).collect()
            }
        })
        .collect();
    // 0: unvisited, 1: on the stack, 2: done.
    let mut state = vec![0u8; n];
    let mut p = Vec::new();
    for root in 0..n {
        if is_loop(root) || state.get(root) != Some(&0) || f.by_id.get(f.id(root)) != Some(&root) {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        if let Some(s) = state.get_mut(root) {
            *s = 1;
        }
        while let Some(&mut (node, ref mut child)) = stack.last_mut() {
            let next = succ.get(node).and_then(|s| s.get(*child)).copied();
            *child += 1;
            match next {
                None => {
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    stack.pop();
                }
                Some(s) if state.get(s) == Some(&1) => {
                    let from = stack.iter().position(|(x, _)| *x == s).unwrap_or(0);
                    let mut path: Vec<&str> =
                        stack.get(from..).unwrap_or_default().iter().map(|(x, _)| f.id(*x)).collect();
                    path.push(f.id(s));
                    p.push((Some(f.id(s).to_owned()), format!("cycle without a Loop block: {}", path.join(" -> "))));
                }
                Some(s) if state.get(s) == Some(&0) => {
                    if let Some(st) = state.get_mut(s) {
                        *st = 1;
                    }
                    stack.push((s, 0));
                }
                Some(_) => {}
            }
        }
    }
    p
}
