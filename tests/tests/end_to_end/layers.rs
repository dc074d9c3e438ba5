//! The crates' modules depend on each other one way: no import cycle between the top-level
//! modules of `emulator/src/` or `sdk/src/` (see ARCHITECTURE.md). Read from the source text: every `crate::name`
//! path outside comments, and every name in a `use crate::{…}` group, is an edge from the
//! file's top-level module to `name`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` (a file or a folder), and the modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the crate roots).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The top-level names a `use crate::{…}` group starting at `text` imports.
fn group_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut at_name) = (0, true);
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                at_name = depth == 1;
            }
            '}' if depth == 1 => break,
            '}' => depth -= 1,
            ',' if depth == 1 => at_name = true,
            c if depth == 1 && at_name && (c.is_alphanumeric() || c == '_') => current.push(c),
            _ if !current.is_empty() => {
                names.push(std::mem::take(&mut current));
                at_name = false;
            }
            _ => {}
        }
    }
    names.extend((!current.is_empty()).then_some(current));
    names
}

/// The top-level modules `source` names through `crate::`, outside comments (a doc link is
/// no dependency).
fn imports(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| [line, "\n"])
        .collect();
    let source = code.as_str();
    let mut found = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if rest.starts_with('{') {
            found.extend(group_names(rest));
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).expect("readable source");
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(imports(&source).into_iter().filter(|name| *name != module));
    }
    // Names that are not modules (re-exports such as `crate::Error`) are no edges.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for edges in graph.values_mut() {
        edges.retain(|name| modules.contains(name));
    }
    graph
}

/// A cycle through `graph`, as the list of modules along it, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

fn assert_no_cycle(krate: &str, modules_at_least: usize) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src");
    let graph = graph(&src);
    assert!(graph.len() >= modules_at_least, "modules found: {graph:?}");
    if let Some(cycle) = cycle(&graph) {
        panic!("import cycle in {krate}/src: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_emulators_modules_have_no_import_cycle() {
    assert_no_cycle("emulator", 15);
}

#[test]
fn the_sdks_modules_have_no_import_cycle() {
    assert_no_cycle("sdk", 5);
}

#[test]
fn the_workflow_interpreters_modules_have_no_import_cycle() {
    assert_no_cycle("workflow", 8);
}

#[test]
fn the_reader_sees_grouped_and_plain_imports() {
    let source = "use crate::{front::{a, b}, pool::Pool, sync};\n\
                  /// [`local`](crate::local)\n\
                  let x = crate::apigw::Route::new();";
    let expected: BTreeSet<String> = ["front", "pool", "sync", "apigw"].map(str::to_owned).into();
    assert_eq!(imports(source), expected);
    let mut looped = Graph::new();
    looped.insert("a".into(), ["b".to_owned()].into());
    looped.insert("b".into(), ["a".to_owned()].into());
    assert_eq!(cycle(&looped).unwrap(), ["a", "b", "a"]);
    looped.get_mut("b").unwrap().clear();
    assert_eq!(cycle(&looped), None);
}
