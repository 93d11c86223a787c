//! The runtime's layering, checked on its sources: the VM layer (`src/vm/`) uses nothing
//! above it (the API, components, WASI, the command runner, the C interface), the
//! component layer (`src/component/`) nothing above the API, and the files of the crate
//! import each other without a cycle.
//!
//! A file's imports are the `crate::…`, `super::…` and `self::…` paths it names outside its
//! test module, resolved to the file that defines the named module or item (through the
//! `pub use` re-exports of `lib.rs` and of a folder's `mod.rs`). Two folders count as one
//! unit each, because their types refer to each other by nature: `api/` (a `Val` may hold
//! a `Func`, whose `call` takes `Val`s) and `wasi/` (every WASI function takes the shared
//! `WasiState`, which holds each family's state). Every other file, each of the VM layer's
//! among them, is a unit of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file: its module path (`["vm", "traps", "signals"]`), the modules it declares
/// (with `#[path]`: name → file), its re-exports (name → path) and its text without tests.
struct Source {
    module: Vec<String>,
    children: BTreeSet<String>,
    path_modules: BTreeMap<String, PathBuf>,
    reexports: BTreeMap<String, Vec<String>>,
    text: String,
}

fn sources(root: &Path) -> BTreeMap<PathBuf, Source> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|name| name != "tests.rs")
            {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                let text = std::fs::read_to_string(&path).unwrap();
                files.insert(relative.clone(), parse(&relative, &text));
            }
        }
    }
    files
}

fn parse(relative: &Path, text: &str) -> Source {
    let mut module: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
        module.pop();
    }
    // Test code may import anything.
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(start) => &text[..start],
        None => text,
    };
    let text: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut path_modules = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let Some(file) = line.trim().strip_prefix("#[path = \"") else {
            continue;
        };
        let file = file.trim_end_matches("\"]");
        let host_arch = std::env::consts::ARCH;
        let for_host = index == 0
            || !lines[index - 1].contains("target_arch")
            || lines[index - 1].contains(&format!("\"{host_arch}\""));
        let declaration = lines.get(index + 1).map_or("", |next| next.trim());
        if let (true, Some(name)) = (for_host, declaration.strip_prefix("mod ")) {
            let dir = relative.parent().unwrap_or(Path::new(""));
            path_modules.insert(name.trim_end_matches(';').to_string(), dir.join(file));
        }
    }
    let children = lines
        .iter()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
            let line = line.strip_prefix("pub ").unwrap_or(line);
            Some(line.strip_prefix("mod ")?.strip_suffix(';')?.to_string())
        })
        .collect();
    let mut reexports = BTreeMap::new();
    for statement in text.split(';') {
        let statement = statement.trim();
        let Some(used) = statement
            .strip_prefix("pub use ")
            .or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        for path in expand(used) {
            if let Some(name) = path.last() {
                reexports.insert(name.clone(), path.clone());
            }
        }
    }
    Source {
        module,
        children,
        path_modules,
        reexports,
        text,
    }
}

/// The paths of a `use` tree such as `a::b::{c, d::e}` (one level of braces).
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let split = |path: &str| -> Vec<String> {
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(|s| s.split(" as ").next().unwrap().to_string())
            .collect()
    };
    match tree.find('{') {
        Some(open) => {
            let prefix = split(&tree[..open]);
            let inner = tree[open + 1..].trim_end_matches('}');
            inner
                .split(',')
                .filter(|item| !item.is_empty())
                .map(|item| prefix.iter().cloned().chain(split(item)).collect())
                .collect()
        }
        None => vec![split(&tree)],
    }
}

/// Every `crate::`, `super::`, `self::` and `<child module>::` path in `text`, as
/// absolute module paths.
fn references(source: &Source) -> Vec<Vec<String>> {
    let text = &source.text;
    let mut found = Vec::new();
    let anchors = ["crate", "super", "self"]
        .into_iter()
        .map(str::to_string)
        .chain(source.children.iter().cloned());
    for anchor in anchors.map(|name| format!("{name}::")) {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(anchor.as_str()) {
            let preceded_by_ident = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || "_$:".contains(c));
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || "_:{}, \n".contains(c)))
                .unwrap_or(tail.len());
            rest = &rest[at + anchor.len()..];
            if preceded_by_ident {
                continue;
            }
            let tree = &tail[..end];
            // A brace group ends the tree; stop at the first unmatched closing brace.
            let tree = match (tree.find('{'), tree.find('}')) {
                (Some(open), Some(close)) if open < close => &tree[..=close],
                (_, Some(close)) => &tree[..close],
                _ => tree.split([',', ' ', '\n']).next().unwrap_or(""),
            };
            for path in expand(tree) {
                let mut absolute = match path.first().map(String::as_str) {
                    Some("crate") => Vec::new(),
                    Some("self") => source.module.clone(),
                    Some("super") => {
                        let mut base = source.module.clone();
                        base.pop();
                        base
                    }
                    Some(child) if source.children.contains(child) => source.module.clone(),
                    _ => continue,
                };
                let mut rest = &path[usize::from(!source.children.contains(&path[0]))..];
                // `super::super::…` climbs once more per `super`.
                while rest.first().is_some_and(|segment| segment == "super") {
                    absolute.pop();
                    rest = &rest[1..];
                }
                absolute.extend(rest.iter().cloned());
                found.push(absolute);
            }
        }
    }
    found
}

/// The file defining the module or item at `path`.
fn resolve(files: &BTreeMap<PathBuf, Source>, path: &[String], depth: usize) -> Option<PathBuf> {
    let by_module: BTreeMap<&[String], &PathBuf> = files
        .iter()
        .map(|(file, source)| (source.module.as_slice(), file))
        .collect();
    for length in (0..=path.len()).rev() {
        let Some(&file) = by_module.get(&path[..length]) else {
            continue;
        };
        let source = &files[file];
        if let Some(next) = path.get(length) {
            if let Some(target) = source.path_modules.get(next) {
                return Some(target.clone());
            }
            if let Some(target) = source.reexports.get(next) {
                if depth < 8 {
                    let mut absolute = source.module.clone();
                    let target = match target.first().map(String::as_str) {
                        Some("crate") => {
                            absolute.clear();
                            &target[1..]
                        }
                        _ => &target[..],
                    };
                    absolute.extend(target.iter().cloned());
                    if let Some(resolved) = resolve(files, &absolute, depth + 1) {
                        return Some(resolved);
                    }
                }
            }
        }
        return Some(file.clone());
    }
    None
}

/// The unit a file belongs to: the file itself, or its folder for `api/` and `wasi/`.
fn unit(file: &Path) -> String {
    match file.iter().next().and_then(|first| first.to_str()) {
        Some(folder @ ("api" | "wasi")) if file.iter().count() > 1 => folder.to_string(),
        _ => file.display().to_string(),
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources(&root);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, source) in &files {
        let from = unit(file);
        let targets = edges.entry(from.clone()).or_default();
        for reference in references(source) {
            let Some(target) = resolve(&files, &reference, 0) else {
                continue;
            };
            let to = unit(&target);
            if to != from {
                targets.insert(to);
            }
        }
    }
    edges
}

#[test]
fn the_vm_layer_uses_nothing_above_it() {
    let edges = graph();
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        if !from.starts_with("vm/") {
            continue;
        }
        for to in targets {
            if !(to.starts_with("vm/") || to == "error.rs") {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "vm imports from above it: {wrong:#?}");
    assert!(
        edges.keys().filter(|file| file.starts_with("vm/")).count() > 10,
        "the VM layer's files were found"
    );
}

#[test]
fn the_component_layer_sits_on_the_api_and_below_wasi() {
    // `component/` (the canonical ABI, resource tables) is built on the API and VM layers;
    // WASI, the command runner and the executables' entry come above it, never below.
    let edges = graph();
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        if !from.starts_with("component/") {
            continue;
        }
        for to in targets {
            let below = to.starts_with("component/")
                || to.starts_with("vm/")
                || to == "api"
                || to == "error.rs";
            if !below {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "component imports from above it: {wrong:#?}"
    );
    assert!(
        edges["component/abi.rs"].contains("component/trap.rs"),
        "the component layer's files were found: {edges:#?}"
    );
}

#[test]
fn no_file_imports_itself_through_others() {
    let edges = graph();
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            let cycle = visit(node, &edges, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "import cycle: {}",
                cycle.unwrap().join(" -> ")
            );
        }
    }
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    // The checker itself: references resolve to the files that define them.
    let edges = graph();
    let api = &edges["api"];
    assert!(api.contains("vm/host.rs"), "{api:?}");
    assert!(api.contains("vm/instantiate.rs"), "{api:?}");
    assert!(api.contains("error.rs"), "{api:?}");
    assert!(!api.contains("api"));
    let command = &edges["command.rs"];
    assert!(
        command.contains("api"),
        "through the crate's re-exports: {command:?}"
    );
    assert!(command.contains("wasi"), "{command:?}");
    let traps = &edges["vm/traps/mod.rs"];
    assert!(
        traps.contains("vm/traps/state.rs"),
        "a child module: {traps:?}"
    );
    let signals = &edges["vm/traps/signals.rs"];
    assert!(signals.contains("vm/code.rs"), "{signals:?}");
    assert!(signals.contains("vm/traps/state.rs"), "{signals:?}");
    let wasi = &edges["wasi"];
    assert!(wasi.contains("api"), "{wasi:?}");
    assert!(!wasi.contains("wasi"));

    // Paths resolve relative to the file, `super::super` climbing twice.
    let source = parse(
        Path::new("vm/traps/stack.rs"),
        "use super::super::mmap::page_size;\nuse super::{state::STATE, x};\nfn f() { crate::Val }",
    );
    let found = references(&source);
    for expected in [
        &["vm", "mmap", "page_size"][..],
        &["vm", "traps", "state", "STATE"],
        &["vm", "traps", "x"],
        &["Val"],
    ] {
        assert!(
            found.iter().any(|path| path == expected),
            "{expected:?} in {found:?}"
        );
    }
}
