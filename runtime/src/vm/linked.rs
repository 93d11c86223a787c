//! Parts of the runtime that a `kiln build` executable links only when its module needs
//! them, as it links only the WASI functions the module imports (`wasi::IMPORTS_SYMBOL`).
//!
//! A part is a function that the runtime of executables (feature `exe-main`) exports under
//! a symbol of its own and that nothing else in that runtime calls. The runtime reaches it
//! through a pointer symbol, defined weakly as null in the runtime itself, and strongly,
//! pointing at the part, by the object `kiln build` links beside the module
//! (`cli/src/grants.rs`) when the module needs the part. With the pointer left null the
//! linker's `--gc-sections` drops the part and everything only it uses.
//!
//! ```text
//!   runtime (weak):   kiln_linked_timer: .quad 0
//!   kiln build's object (strong, when a time limit is baked in):
//!                     kiln_linked_timer: .quad kiln_timer_start  ──► the timer thread
//! ```

/// A part of the runtime an executable links on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkedPart {
    /// The pointer symbol the runtime reads (null: the part is not linked). Written by
    /// `kiln build`'s object, read by the runtime of executables.
    pub pointer: &'static str,
    /// The symbol under which the runtime of executables exports the part.
    pub definition: &'static str,
}

/// The time limit's timer thread (`vm/interrupt.rs`), with `pthread_create` and the
/// rest of the C library's thread support: linked when a time limit is baked in.
pub const TIMER: LinkedPart = LinkedPart {
    pointer: "kiln_linked_timer",
    definition: "kiln_timer_start",
};

/// The sightglass `bench.start`/`bench.end` imports (`bench.rs`): linked when the module
/// imports them.
pub const BENCH: LinkedPart = LinkedPart {
    pointer: "kiln_linked_bench",
    definition: "kiln_bench_add_to_linker",
};

/// Asking the CPU for features (`vm/cpu.rs`, with the standard library's feature
/// detection): linked when the code needs a feature past its architecture's baseline (see
/// [`needs_cpu_check`]).
pub const CPU_CHECK: LinkedPart = LinkedPart {
    pointer: "kiln_linked_cpu_check",
    definition: "kiln_cpu_has_feature",
};

/// Whether code for `architecture` (`x86_64`, `aarch64`) that needs the CPU `features`
/// (Cranelift's names, as `ModuleMetadata::cpu_features`) needs [`CPU_CHECK`]: whether one
/// of them is past the baseline that the runtime assumes without asking.
pub fn needs_cpu_check(architecture: &str, features: &[&str]) -> bool {
    let baseline: &[&str] = match architecture {
        "x86_64" => &kiln_abi::X86_64_BASELINE_FEATURES,
        _ => &[],
    };
    features.iter().any(|feature| !baseline.contains(feature))
}

/// Opening the host directories of `--dir` grants (`wasi/mod.rs`, with `cap-std` and
/// std's `File::open`): linked when a directory is granted.
pub const PREOPEN: LinkedPart = LinkedPart {
    pointer: "kiln_linked_preopen",
    definition: "kiln_open_preopen",
};

/// Reading the process's environment (`wasi/mod.rs`, with std's `env::vars_os`): linked
/// when the executable inherits it (`--inherit-env`).
pub const INHERITED_ENV: LinkedPart = LinkedPart {
    pointer: "kiln_linked_env",
    definition: "kiln_inherited_env",
};

/// Writing the profile at exit (`profile.rs`): linked when the code counts function
/// entries (`--profile-generate`).
pub const PROFILE: LinkedPart = LinkedPart {
    pointer: "kiln_linked_profile",
    definition: "kiln_profile_write",
};

/// Unpacking compressed active data segments into linear memory (`vm/unpack.rs`, with
/// `lz4_flex`'s block decoder): linked when the module stores one compressed
/// (`kiln_abi::packed`), which a module with little data does not.
pub const UNPACK_DATA: LinkedPart = LinkedPart {
    pointer: "kiln_linked_unpack_data",
    definition: "kiln_unpack_data",
};

/// Unpacking compressed code tables when the module is registered (`vm/unpack.rs`, with
/// the LZ4 decoder): linked when the module stores them compressed, which a small module
/// does not.
pub const UNPACK_CODE_TABLES: LinkedPart = LinkedPart {
    pointer: "kiln_linked_unpack_code_tables",
    definition: "kiln_unpack_code_tables",
};

/// Unpacking compressed function names the first time a backtrace or perf map names a
/// function (`vm/unpack.rs`, with the LZ4 decoder): linked when the module stores its
/// names compressed.
pub const UNPACK_NAMES: LinkedPart = LinkedPart {
    pointer: "kiln_linked_unpack_names",
    definition: "kiln_unpack_names",
};

/// Mapping (or copying) the module's memory image into its first memory at instantiation
/// (`vm/instantiate.rs`, `vm/memory_image.rs`, with the C library's `dl_iterate_phdr`):
/// linked when the module has an image, which only one with 64 KiB of data or more does.
pub const MEMORY_IMAGE: LinkedPart = LinkedPart {
    pointer: "kiln_linked_memory_image",
    definition: "kiln_apply_memory_image",
};

/// Instantiation's creation of the tables a module defines (`vm/instantiate.rs`, with the
/// tables' storage): linked when the module defines a table.
pub const TABLES: LinkedPart = LinkedPart {
    pointer: "kiln_linked_tables",
    definition: "kiln_instantiate_tables",
};

/// Instantiation's evaluation of element segments and copying of the active ones into
/// their tables (`vm/instantiate.rs`): linked when the module has an element segment.
pub const ELEMENTS: LinkedPart = LinkedPart {
    pointer: "kiln_linked_elements",
    definition: "kiln_instantiate_elements",
};

/// Instantiation's creation of the tags a module defines (`vm/instantiate.rs`): linked
/// when the module defines a tag.
pub const TAGS: LinkedPart = LinkedPart {
    pointer: "kiln_linked_tags",
    definition: "kiln_instantiate_tags",
};

/// Instantiation's check of imported tables, memories, globals and tags against their
/// import types, with the messages that describe them (`vm/instantiate.rs`): linked when
/// the module imports one.
pub const ENTITY_IMPORTS: LinkedPart = LinkedPart {
    pointer: "kiln_linked_entity_imports",
    definition: "kiln_check_entity_import",
};

/// The parts of instantiation that a module with `counts` needs: [`TABLES`] when it
/// defines a table, [`ELEMENTS`] when it has an element segment, [`TAGS`] when it defines
/// a tag, [`ENTITY_IMPORTS`] when it imports anything but functions.
pub fn instantiation_parts(counts: InstantiationCounts) -> Vec<LinkedPart> {
    let mut parts = Vec::new();
    if counts.tables > counts.imported_tables {
        parts.push(TABLES);
    }
    if counts.elements > 0 {
        parts.push(ELEMENTS);
    }
    if counts.tags > counts.imported_tags {
        parts.push(TAGS);
    }
    if counts.entity_imports > 0 {
        parts.push(ENTITY_IMPORTS);
    }
    parts
}

/// What [`instantiation_parts`] asks of a module: counts from its metadata.
#[derive(Clone, Copy, Debug, Default)]
pub struct InstantiationCounts {
    /// Tables, imported and defined.
    pub tables: usize,
    /// Imported tables.
    pub imported_tables: usize,
    /// Tags, imported and defined.
    pub tags: usize,
    /// Imported tags.
    pub imported_tags: usize,
    /// Element segments of any mode.
    pub elements: usize,
    /// Imports of tables, memories, globals and tags.
    pub entity_imports: usize,
}

/// Every part of instantiation, for executables whose modules are not known one by one
/// (components, which instantiate several modules that import from one another).
pub const ALL_INSTANTIATION_PARTS: [LinkedPart; 4] = [TABLES, ELEMENTS, TAGS, ENTITY_IMPORTS];

/// The pointer to an executable's table of builtins (`kiln_abi::builtins::VMBuiltins`),
/// which `kiln build`'s object defines: in the slot of each builtin the module's code
/// calls (`kiln_compiler::CompileOptions::builtins_used`), that builtin
/// ([`builtin_symbol`]); in the others [`BUILTIN_MISSING`]. So an executable links only
/// the builtins its code calls: `table.grow`, the bulk operations and the exception
/// builtins stay out of a hello. Without it (an executable not linked by `kiln build`)
/// nothing instantiates.
pub const BUILTINS_POINTER: &str = "kiln_linked_builtins";

/// The function in the slots of builtins the code does not call: it reports and aborts.
pub const BUILTIN_MISSING: &str = "kiln_builtin_missing";

/// The symbol under which the runtime of executables exports `builtin`.
pub fn builtin_symbol(builtin: kiln_abi::builtins::Builtin) -> String {
    format!("kiln_builtin_{}", builtin.name())
}

/// Defines the weak null pointer symbol `$pointer` (see the module documentation) and
/// `fn $accessor() -> Option<$ty>`, the part it points to; `$ty` is a function pointer
/// type, whose null value is `None`.
#[cfg(feature = "exe-main")]
macro_rules! linked_part {
    ($pointer:ident, fn $accessor:ident() -> Option<$ty:ty>) => {
        std::arch::global_asm!(
            concat!(".pushsection .rodata.", stringify!($pointer), ",\"a\""),
            concat!(".weak ", stringify!($pointer)),
            ".p2align 3",
            concat!(stringify!($pointer), ":"),
            ".quad 0",
            ".popsection",
        );

        /// The part that `kiln build`'s object links in, if it does (see `vm/linked.rs`).
        fn $accessor() -> Option<$ty> {
            // Only Rust reads the word, as the Rust type the part was exported with.
            #[allow(improper_ctypes)]
            extern "C" {
                static $pointer: Option<$ty>;
            }
            // SAFETY: the symbol is an aligned pointer-sized word in a read-only section:
            // null (the weak definition above), or the address of the runtime's function
            // of type `$ty` exported under the part's `definition`, relocated by the linker.
            unsafe { $pointer }
        }
    };
}
#[cfg(feature = "exe-main")]
pub(crate) use linked_part;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_have_distinct_symbols() {
        let symbols = [
            TIMER.pointer,
            TIMER.definition,
            BENCH.pointer,
            BENCH.definition,
            CPU_CHECK.pointer,
            CPU_CHECK.definition,
            PREOPEN.pointer,
            PREOPEN.definition,
            INHERITED_ENV.pointer,
            INHERITED_ENV.definition,
            PROFILE.pointer,
            PROFILE.definition,
            TABLES.pointer,
            TABLES.definition,
            ELEMENTS.pointer,
            ELEMENTS.definition,
            TAGS.pointer,
            TAGS.definition,
            ENTITY_IMPORTS.pointer,
            ENTITY_IMPORTS.definition,
            MEMORY_IMAGE.pointer,
            MEMORY_IMAGE.definition,
            UNPACK_DATA.pointer,
            UNPACK_DATA.definition,
            UNPACK_NAMES.pointer,
            UNPACK_NAMES.definition,
            UNPACK_CODE_TABLES.pointer,
            UNPACK_CODE_TABLES.definition,
            BUILTINS_POINTER,
            BUILTIN_MISSING,
        ];
        for (index, symbol) in symbols.iter().enumerate() {
            assert!(symbol.starts_with("kiln_"), "{symbol}");
            assert!(!symbols[..index].contains(symbol), "{symbol} twice");
        }
    }

    #[test]
    fn builtins_are_exported_under_their_field_names() {
        use kiln_abi::builtins::Builtin;
        assert_eq!(
            builtin_symbol(Builtin::MemoryGrow),
            "kiln_builtin_memory_grow"
        );
        assert_eq!(builtin_symbol(Builtin::ThrowRef), "kiln_builtin_throw_ref");
    }

    #[test]
    fn instantiation_parts_follow_what_the_module_has() {
        let none = InstantiationCounts::default();
        assert_eq!(instantiation_parts(none), []);
        let imported_only = InstantiationCounts {
            tables: 1,
            imported_tables: 1,
            tags: 2,
            imported_tags: 2,
            entity_imports: 3,
            ..none
        };
        assert_eq!(instantiation_parts(imported_only), [ENTITY_IMPORTS]);
        let defined = InstantiationCounts {
            tables: 2,
            imported_tables: 1,
            tags: 1,
            elements: 1,
            ..none
        };
        assert_eq!(instantiation_parts(defined), [TABLES, ELEMENTS, TAGS]);
    }

    #[test]
    fn only_features_past_the_baseline_need_the_cpu_check() {
        assert!(!needs_cpu_check("x86_64", &[]));
        assert!(!needs_cpu_check(
            "x86_64",
            &kiln_abi::X86_64_BASELINE_FEATURES
        ));
        assert!(needs_cpu_check("x86_64", &["sse41", "avx2"]));
        assert!(!needs_cpu_check("aarch64", &[]));
        assert!(needs_cpu_check("aarch64", &["lse"]));
    }
}
