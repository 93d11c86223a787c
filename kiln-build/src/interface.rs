//! A module's typed interface as the generated bindings see it: the host functions it
//! imports, whether it imports WASI, and its exported functions, memories and globals, each
//! with an identifier that is valid (and unique) in both Rust and C.

use kiln_abi::metadata::{ExternKind, FuncType, GlobalType, ImportType, ModuleMetadata};
use std::collections::HashSet;

/// The export a WASI reactor is initialised with, before any other export is called.
pub(crate) const REACTOR_INITIALIZE: &str = "_initialize";

/// A function the host provides.
pub(crate) struct HostImport {
    pub module: String,
    pub name: String,
    /// The method (Rust) or callback field (C) that implements it.
    pub ident: String,
    pub ty: FuncType,
}

/// An exported function.
pub(crate) struct ExportFunc {
    pub name: String,
    pub ident: String,
    pub ty: FuncType,
}

/// An exported memory, 32- or 64-bit alike: the accessors hand out its bytes as a slice
/// (Rust) or a pointer and a `size_t` length (C), which hold a memory past 4 GiB on every
/// target kiln compiles for (all 64-bit).
pub(crate) struct ExportMemory {
    pub name: String,
    pub ident: String,
    /// Of the mutable accessor (Rust).
    pub ident_mut: String,
}

/// An exported global.
pub(crate) struct ExportGlobal {
    pub name: String,
    pub ident: String,
    /// Of the setter (mutable globals).
    pub setter: String,
    pub ty: GlobalType,
}

/// What the bindings of one module are generated from.
pub(crate) struct Interface {
    /// The module's name in the host program (a Rust module, a C prefix).
    pub name: String,
    /// Whether the module imports WASI functions (then it is given a `WasiCtx`).
    pub wasi: bool,
    /// Whether the module is a WASI reactor (exports `_initialize`).
    pub reactor: bool,
    pub host_imports: Vec<HostImport>,
    pub funcs: Vec<ExportFunc>,
    pub memories: Vec<ExportMemory>,
    pub globals: Vec<ExportGlobal>,
    /// Names of exported tables, which the bindings do not cover (use
    /// `Instance::instance()` and the runtime's `Table`).
    pub skipped_tables: Vec<String>,
}

/// Names the generated Rust and C code uses itself, or that neither language allows.
const RESERVED: &[&str] = &[
    // Methods of the generated Rust `Instance` and functions of the C header.
    "new",
    "module",
    "store",
    "instance",
    "free",
    "trap",
    "imports",
    "wasi",
    // Rust keywords.
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "union",
    // C keywords not listed above.
    "auto",
    "case",
    "char",
    "default",
    "double",
    "float",
    "goto",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "short",
    "signed",
    "sizeof",
    "switch",
    "typedef",
    "unsigned",
    "void",
    "volatile",
    "bool",
    "alignas",
    "alignof",
    "nullptr",
    "static_assert",
    "thread_local",
];

/// `name` as an identifier: characters other than ASCII letters, digits and `_` become
/// `_`, a leading digit gets a `_` in front, and reserved words a `_` after.
pub(crate) fn identifier(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if RESERVED.contains(&ident.as_str()) || ident == "_" {
        ident.push('_');
    }
    ident
}

/// Hands out identifiers that are unique within one namespace.
#[derive(Default)]
struct Namespace(HashSet<String>);

impl Namespace {
    /// The first of `candidates` that is free, else the last with a number appended.
    fn claim(&mut self, candidates: &[String]) -> String {
        for candidate in candidates {
            if self.0.insert(candidate.clone()) {
                return candidate.clone();
            }
        }
        let last = candidates.last().expect("at least one candidate");
        (2..)
            .map(|n| format!("{last}_{n}"))
            .find(|candidate| self.0.insert(candidate.clone()))
            .expect("a free identifier")
    }
}

/// The interface of a module named `name` in the host program, or why the bindings cannot
/// cover it.
pub(crate) fn interface(metadata: &ModuleMetadata<'_>, name: &str) -> Result<Interface, String> {
    let mut wasi = false;
    let mut host_imports = Vec::new();
    let mut import_names = Namespace::default();
    for import in &metadata.imports {
        let ImportType::Func(type_index) = import.ty else {
            return Err(format!(
                "imports `{}::{}`, which is not a function: the generated bindings import \
                 only functions",
                import.module, import.name
            ));
        };
        if kiln_abi::WASI_MODULE_NAMES.contains(&import.module) {
            wasi = true;
            continue;
        }
        let ty = &metadata.types[type_index as usize];
        let concrete = ty.params.iter().chain(&ty.results).any(|t| {
            matches!(
                t.as_ref().map(|r| r.heap),
                Some(kiln_abi::metadata::HeapType::Concrete(_))
            )
        });
        if concrete {
            return Err(format!(
                "imports `{}::{}` of type {ty}, which takes or returns a reference to a \
                 function type of the module: the generated bindings cannot implement it",
                import.module, import.name
            ));
        }
        let ident = import_names.claim(&[
            identifier(import.name),
            identifier(&format!("{}_{}", import.module, import.name)),
        ]);
        host_imports.push(HostImport {
            module: import.module.to_owned(),
            name: import.name.to_owned(),
            ident,
            ty: metadata.types[type_index as usize].clone(),
        });
    }

    let mut methods = Namespace::default();
    let (mut funcs, mut memories, mut globals) = (Vec::new(), Vec::new(), Vec::new());
    let mut reactor = false;
    let mut skipped_tables = Vec::new();
    for export in &metadata.exports {
        let index = export.index as usize;
        match export.kind {
            ExternKind::Func if export.name == REACTOR_INITIALIZE => reactor = true,
            ExternKind::Func => funcs.push(ExportFunc {
                name: export.name.to_owned(),
                ident: methods.claim(&[identifier(export.name)]),
                ty: metadata.types[metadata.functions[index] as usize].clone(),
            }),
            ExternKind::Memory => {
                let ident = methods.claim(&[identifier(export.name)]);
                let ident_mut = methods.claim(&[format!("{ident}_mut")]);
                memories.push(ExportMemory {
                    name: export.name.to_owned(),
                    ident,
                    ident_mut,
                });
            }
            ExternKind::Global => {
                let ident = methods.claim(&[identifier(export.name)]);
                let setter = methods.claim(&[format!("set_{ident}")]);
                globals.push(ExportGlobal {
                    name: export.name.to_owned(),
                    ident,
                    setter,
                    ty: metadata.global_types[index],
                });
            }
            ExternKind::Table => skipped_tables.push(export.name.to_owned()),
            // A tag has no binding: the host sees one only as what an uncaught exception
            // names (`TrapCode::UncaughtException`).
            ExternKind::Tag => {}
        }
    }
    Ok(Interface {
        name: name.to_owned(),
        wasi,
        reactor,
        host_imports,
        funcs,
        memories,
        globals,
        skipped_tables,
    })
}

/// A function type the way kiln prints it: `(i32, i64) -> (f32)`.
pub(crate) fn describe(ty: &FuncType) -> String {
    let list = |types: &[kiln_abi::metadata::ValType]| {
        types
            .iter()
            .map(|ty| ty.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(&ty.params), list(&ty.results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: &str) {
        assert_eq!(identifier(name), expected, "identifier({name:?})");
    }

    #[test]
    fn identifiers() {
        check("add", "add");
        check("get-value", "get_value");
        check("9lives", "_9lives");
        check("", "__");
        check("type", "type_");
        check("new", "new_");
        check("int", "int_");
        check("_start", "_start");
        check("é", "__");
    }

    #[test]
    fn collisions_get_numbers() {
        let mut names = Namespace::default();
        assert_eq!(names.claim(&["a_b".into()]), "a_b");
        assert_eq!(names.claim(&["a_b".into()]), "a_b_2");
        assert_eq!(names.claim(&["x".into(), "m_x".into()]), "x");
        assert_eq!(names.claim(&["x".into(), "m_x".into()]), "m_x");
    }
}
