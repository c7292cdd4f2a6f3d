//! No import cycle between files under `src/`: every `crate::…`, `super::…` and `self::…` path
//! in a file's code, and every path through a child module it declares (`mod tap;` then
//! `tap::Tap`), is resolved to the file that defines that module (its tests, after the first
//! `#[cfg(test)]`, and comments aside). The graph of files must have no cycle, except that a
//! file may use what its own parent modules define. A cycle means files that cannot be read,
//! changed or tested one without the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every `.rs` file under `src/`, by module path (`proxy::context`; `""` is the crate root).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                // A source file's tests moved beside it (`#[path = "x_tests.rs"] mod tests;`).
                && !path.to_string_lossy().ends_with("_tests.rs")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(SRC), &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let rel = file.strip_prefix(SRC).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            match parts.last().map(String::as_str) {
                Some("lib") if parts.len() == 1 => parts.clear(),
                Some("main") if parts.len() == 1 => return None,
                Some("mod") => {
                    parts.pop();
                }
                _ => {}
            }
            Some((parts.join("::"), file))
        })
        .collect()
}

/// The code of a file without comments and without its tests.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The module paths a file's code names, absolute (`proxy::metering::MeterFeed`, …), one per mention;
/// a `use` tree's braces give one per item (`crate::meter::{Usage, wire::X}`).
fn mentions(module: &str, code: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_string).collect()
    };
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let at_word_start = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        let start = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|s| rest.starts_with(*s))
            .filter(|_| at_word_start);
        if start.is_none() {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let tree = use_tree(rest);
        i += tree.len();
        for path in expand(&tree) {
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut base = here.clone();
            match segments.first() {
                Some(&"crate") => {
                    base.clear();
                    segments.remove(0);
                }
                Some(&"self") => {
                    segments.remove(0);
                }
                _ => {
                    while segments.first() == Some(&"super") {
                        base.pop();
                        segments.remove(0);
                    }
                }
            }
            base.extend(segments.iter().map(|s| s.to_string()));
            found.push(base);
        }
    }
    found
}

/// The use trees and paths in `code` that start with the child module `name` (`name::…`).
fn relative_trees(code: &str, name: &str) -> Vec<String> {
    let needle = format!("{name}::");
    let bytes = code.as_bytes();
    code.match_indices(&needle)
        .filter(|(i, _)| {
            *i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b':')
        })
        .map(|(i, _)| use_tree(&code[i..]))
        .collect()
}

/// The path starting `text`, with its brace group if it has one: `crate::a::{b, c::{d}}`.
fn use_tree(text: &str) -> String {
    let mut depth = 0;
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => break,
            _ => {}
        }
        out.push(c);
        if depth == 0 && c == '}' {
            break;
        }
    }
    out
}

/// The paths of a use tree: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.trim().trim_end_matches("::").to_string()];
    };
    let prefix = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[from..]);
    items
        .into_iter()
        .map(|item| item.split(" as ").next().unwrap_or_default().trim())
        .filter(|item| !item.is_empty())
        .flat_map(|item| {
            if item == "self" {
                vec![prefix.to_string()]
            } else {
                expand(item)
                    .into_iter()
                    .map(|rest| format!("{prefix}::{rest}"))
                    .collect()
            }
        })
        .collect()
}

/// For `super::` seen from a file that is not a directory's `mod.rs`, the parent module is one
/// level up from the file's own module: `mentions` resolves from the module itself, which is
/// right for `mod.rs` and `lib.rs`; for `a/b.rs`, `super` is `a`, also right.
fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let edges = graph.entry(module.clone()).or_default();
        let code = code(file);
        let child = |name: &str| {
            if module.is_empty() {
                name.to_string()
            } else {
                format!("{module}::{name}")
            }
        };
        // Paths through a child module the file declares (`mod tap; use tap::Tap;`).
        let children: Vec<String> = code
            .lines()
            .filter_map(|l| {
                let l = l
                    .trim()
                    .trim_start_matches("pub ")
                    .trim_start_matches("pub(crate) ");
                l.strip_prefix("mod ")?
                    .strip_suffix(';')
                    .map(|n| n.trim().to_string())
            })
            .filter(|name| modules.contains_key(&child(name)))
            .collect();
        let mut paths = mentions(module, &code);
        for name in &children {
            for tree in relative_trees(&code, name) {
                for path in expand(&tree) {
                    let mut full: Vec<String> = if module.is_empty() {
                        Vec::new()
                    } else {
                        module.split("::").map(str::to_string).collect()
                    };
                    full.extend(
                        path.split("::")
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    );
                    paths.push(full);
                }
            }
        }
        for path in paths {
            // The longest prefix that is a file of its own.
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| modules.contains_key(m));
            if let Some(target) = target {
                // A file may use what its own parent modules define (`super::Profile` in
                // `agents/claude.rs`, from `agents/mod.rs`, which declares and re-exports it):
                // that is the module's structure, not a tangle. Every other edge counts,
                // including a parent's to its children.
                let ancestor = target.is_empty() || module.starts_with(&format!("{target}::"));
                if target != *module && !ancestor {
                    edges.insert(target);
                }
            }
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap();
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// Groups of files that import each other, directly or around a loop (Tarjan's strongly
/// connected components of more than one file), each with the edges inside it.
fn tangles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<(String, String)>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        groups: Vec<Vec<&'g str>>,
    }
    fn connect<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                connect(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w);
                if w == v {
                    break;
                }
            }
            s.groups.push(group);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            connect(&mut s, v);
        }
    }
    s.groups
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|group| {
            let inside: BTreeSet<&str> = group.iter().copied().collect();
            let mut edges: Vec<(String, String)> = group
                .iter()
                .flat_map(|v| {
                    graph[*v]
                        .iter()
                        .filter(|w| inside.contains(w.as_str()))
                        .map(|w| (v.to_string(), w.clone()))
                })
                .collect();
            edges.sort();
            edges
        })
        .collect()
}

fn name(module: &str) -> &str {
    if module.is_empty() {
        "lib"
    } else {
        module
    }
}

#[test]
fn no_file_under_src_imports_one_that_imports_it_back() {
    let graph = file_graph();
    assert!(graph.len() > 50, "found the source files: {}", graph.len());
    let tangles = tangles(&graph);
    let report: Vec<String> = tangles
        .iter()
        .map(|edges| {
            edges
                .iter()
                .map(|(a, b)| format!("{} -> {}", name(a), name(b)))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    assert!(
        tangles.is_empty(),
        "import cycles between files under src/ (module paths); each group's edges:\n{}",
        report.join("\n")
    );
    assert!(find_cycle(&graph).is_none());
}

#[test]
fn the_check_sees_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(
        find_cycle(&graph).unwrap(),
        ["a", "b", "c", "a"].map(String::from)
    );
    let paths = |v: &[&[&str]]| -> Vec<Vec<String>> {
        v.iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect()
    };
    assert_eq!(
        mentions(
            "proxy::context",
            "use super::tap::Tap;\nuse crate::meter::{Usage, wire::{A, B as C}, self};\nlet x = self::y::z();"
        ),
        paths(&[
            &["proxy", "tap", "Tap"],
            &["meter", "Usage"],
            &["meter", "wire", "A"],
            &["meter", "wire", "B"],
            &["meter"],
            &["proxy", "context", "y", "z"],
        ])
    );
}
