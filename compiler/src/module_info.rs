//! The module pass: walks wasmparser's payloads once and gathers a plain description of
//! the module ([`ModuleInfo`]): the metadata the runtime needs, plus the function bodies
//! the translator compiles. No code is generated here.

use crate::error::{unsupported, Result};
use kiln_abi::metadata::{
    ConstExpr, ConstOp, DataMode, DataSegment, ElementItems, ElementMode, ElementSegment, Export,
    ExternKind, FuncType, Global, GlobalType, HeapType, Import, ImportType, MemorySettings,
    MemoryType, ModuleMetadata, RefType, Subtyping, TableType, ValType,
};
use std::collections::HashMap;
use wasmparser::{FunctionBody, KnownCustom, Name, Parser, Payload, TypeRef};

/// A section's name and size, for `kiln inspect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionSize {
    /// Section name (custom sections by their own name).
    pub name: String,
    /// Size of the section's contents in bytes.
    pub size: usize,
}

/// Everything the module pass learns about a module.
pub struct ModuleInfo<'a> {
    /// What the runtime will need (but the function names, which `function_names` holds
    /// until the pipeline encodes them into it).
    pub metadata: ModuleMetadata<'a>,
    /// Name of every function from the name section, raw (not demangled), empty where it
    /// gives none.
    pub function_names: Vec<&'a str>,
    /// Bodies of the defined functions, in index order.
    pub bodies: Vec<FunctionBody<'a>>,
    /// Every section with its size.
    pub sections: Vec<SectionSize>,
    /// The `metadata.code.branch_hint` section: by function index, the hinted `if` and
    /// `br_if` instructions (their offsets from the start of the function's body) and
    /// whether each is likely taken.
    pub branch_hints: HashMap<u32, HashMap<u32, bool>>,
}

impl<'a> ModuleInfo<'a> {
    /// Number of imported functions.
    pub fn n_imported_funcs(&self) -> u32 {
        self.metadata.imported_count(ExternKind::Func)
    }

    /// The type of function `func_index` (imports included).
    pub fn func_type(&self, func_index: u32) -> &FuncType {
        &self.metadata.types[self.metadata.functions[func_index as usize] as usize]
    }

    /// Whether type `type_index` is final: then only functions of exactly that type match
    /// it, and `call_indirect` compares type ids alone.
    pub fn type_is_final(&self, type_index: u32) -> bool {
        self.metadata
            .subtyping
            .get(type_index as usize)
            .is_none_or(|subtyping| subtyping.is_final)
    }

    /// Display name of function `func_index`: its name-section name or empty.
    pub fn func_name(&self, func_index: u32) -> &'a str {
        self.function_names[func_index as usize]
    }
}

/// Runs the module pass over bytes that were already validated.
pub fn parse(wasm: &[u8], memory_settings: MemorySettings) -> Result<ModuleInfo<'_>> {
    let mut function_names = Vec::new();
    let mut metadata = ModuleMetadata {
        memory_settings,
        ..ModuleMetadata::EMPTY
    };
    let mut bodies = Vec::new();
    let mut sections = Vec::new();
    let mut branch_hints = HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if let Some((id, range)) = payload.as_section() {
            let name = match &payload {
                Payload::CustomSection(reader) => reader.name().to_string(),
                _ => section_name(id).to_string(),
            };
            sections.push(SectionSize {
                name,
                size: (range.end - range.start) as usize,
            });
        }
        match payload {
            Payload::TypeSection(reader) => {
                for rec_group in reader.into_iter_with_offsets() {
                    let (offset, rec_group) = rec_group?;
                    let (ty, subtyping) = func_type(rec_group, offset)?;
                    metadata.types.push(ty);
                    metadata.subtyping.push(subtyping);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    let (offset, import) = import?;
                    let ty = match import.ty {
                        TypeRef::Func(index) => {
                            metadata.functions.push(index);
                            ImportType::Func(index)
                        }
                        TypeRef::Table(table) => {
                            let table = table_type(table, offset)?;
                            metadata.tables.push(table);
                            ImportType::Table(table)
                        }
                        TypeRef::Memory(memory) => {
                            let memory = memory_type(memory, offset)?;
                            metadata.memories.push(memory);
                            ImportType::Memory(memory)
                        }
                        TypeRef::Global(global) => {
                            let global = global_type(global, offset)?;
                            metadata.global_types.push(global);
                            ImportType::Global(global)
                        }
                        TypeRef::Tag(tag) => {
                            metadata.tags.push(tag.func_type_idx);
                            ImportType::Tag(tag.func_type_idx)
                        }
                        TypeRef::FuncExact(_) => {
                            return Err(unsupported("exact-function imports", offset))
                        }
                    };
                    metadata.imports.push(Import {
                        module: import.module,
                        name: import.name,
                        ty,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    metadata.functions.push(type_index?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.into_iter_with_offsets() {
                    let (offset, table) = table?;
                    metadata.tables.push(table_type(table.ty, offset)?);
                    metadata.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(expr) => Some(const_expr(&expr)?),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter_with_offsets() {
                    let (offset, memory) = memory?;
                    metadata.memories.push(memory_type(memory, offset)?);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    metadata.tags.push(tag?.func_type_idx);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader.into_iter_with_offsets() {
                    let (offset, global) = global?;
                    let ty = global_type(global.ty, offset)?;
                    metadata.global_types.push(ty);
                    metadata.globals.push(Global {
                        ty,
                        init: const_expr(&global.init_expr)?,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = match export.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            ExternKind::Func
                        }
                        wasmparser::ExternalKind::Table => ExternKind::Table,
                        wasmparser::ExternalKind::Memory => ExternKind::Memory,
                        wasmparser::ExternalKind::Global => ExternKind::Global,
                        wasmparser::ExternalKind::Tag => ExternKind::Tag,
                    };
                    metadata.exports.push(Export {
                        name: export.name,
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => metadata.start = Some(func),
            Payload::ElementSection(reader) => {
                for element in reader.into_iter_with_offsets() {
                    let (offset, element) = element?;
                    metadata.elements.push(element_segment(element, offset)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    metadata.data.push(DataSegment {
                        mode,
                        bytes: kiln_abi::packed::Packed::plain(data.data),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            Payload::CustomSection(reader) => match reader.as_known() {
                KnownCustom::Name(names) => read_names(names, &mut metadata, &mut function_names),
                KnownCustom::BranchHints(hints) => branch_hints = read_branch_hints(hints),
                _ => {}
            },
            _ => {}
        }
    }
    function_names.resize(metadata.functions.len(), "");
    metadata.tag_names.resize(metadata.tags.len(), "");
    Ok(ModuleInfo {
        metadata,
        function_names,
        bodies,
        sections,
        branch_hints,
    })
}

/// Reads the branch hints; they only steer code placement, so a malformed section is
/// ignored as a whole, as the spec requires of custom sections.
fn read_branch_hints(
    reader: wasmparser::BranchHintSectionReader<'_>,
) -> HashMap<u32, HashMap<u32, bool>> {
    let read = || -> wasmparser::Result<HashMap<u32, HashMap<u32, bool>>> {
        let mut hints = HashMap::new();
        for function in reader {
            let function = function?;
            let mut by_offset = HashMap::new();
            for hint in function.hints {
                let hint = hint?;
                by_offset.insert(hint.func_offset, hint.taken);
            }
            hints.insert(function.func, by_offset);
        }
        Ok(hints)
    };
    read().unwrap_or_default()
}

/// Reads module and function names; a malformed name section is ignored, as the spec
/// requires of custom sections.
fn read_names<'a>(
    reader: wasmparser::NameSectionReader<'a>,
    metadata: &mut ModuleMetadata<'a>,
    function_names: &mut Vec<&'a str>,
) {
    for name in reader {
        match name {
            Ok(Name::Module { name, .. }) => metadata.name = Some(name),
            Ok(Name::Tag(map)) => {
                for naming in map {
                    let Ok(naming) = naming else { return };
                    let index = naming.index as usize;
                    if index > 1 << 24 {
                        continue;
                    }
                    if index >= metadata.tag_names.len() {
                        metadata.tag_names.resize(index + 1, "");
                    }
                    metadata.tag_names[index] = naming.name;
                }
            }
            Ok(Name::Function(map)) => {
                for naming in map {
                    let Ok(naming) = naming else { return };
                    let index = naming.index as usize;
                    if index >= function_names.len() {
                        if index > 1 << 24 {
                            continue;
                        }
                        function_names.resize(index + 1, "");
                    }
                    function_names[index] = naming.name;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

fn section_name(id: u8) -> &'static str {
    match id {
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "datacount",
        13 => "tag",
        _ => "unknown",
    }
}

/// The function type of a rec group of the type section at `offset`, and its place in
/// declared subtyping. Without GC's struct and array types, each group is one function
/// type (written with or without `rec`: a group of one is the same type either way),
/// possibly declared with `sub` and a supertype.
fn func_type(rec_group: wasmparser::RecGroup, offset: u64) -> Result<(FuncType, Subtyping)> {
    let mut types = rec_group.into_types();
    let (Some(sub_type), None) = (types.next(), types.next()) else {
        return Err(unsupported_gc("rec groups of several types", offset));
    };
    let supertype = match sub_type.supertype_idxs.as_slice() {
        [] => None,
        [index] => Some(
            index
                .as_module_index()
                .ok_or_else(|| unsupported_gc("rec-group type references", offset))?,
        ),
        _ => return Err(unsupported_gc("several supertypes", offset)),
    };
    let wasmparser::CompositeInnerType::Func(func) = &sub_type.composite_type.inner else {
        return Err(unsupported_gc("struct and array types", offset));
    };
    if sub_type.composite_type.shared || sub_type.composite_type.descriptor_idx.is_some() {
        return Err(unsupported("shared types and type descriptors", offset));
    }
    let types = |list: &[wasmparser::ValType]| -> Result<Vec<ValType>> {
        list.iter().map(|t| val_type(*t, offset)).collect()
    };
    let ty = FuncType {
        params: types(func.params())?,
        results: types(func.results())?,
    };
    let subtyping = Subtyping {
        is_final: sub_type.is_final,
        supertype,
    };
    Ok((ty, subtyping))
}

/// `unsupported: GC (what)` at `offset`.
pub fn unsupported_gc(what: &str, offset: u64) -> crate::CompileError {
    unsupported(format!("GC ({what})"), offset)
}

/// Converts a wasmparser value type met at `offset`.
pub fn val_type(ty: wasmparser::ValType, offset: u64) -> Result<ValType> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(ref_type) => ValType::Ref(ref_type_of(ref_type, offset)?),
    })
}

/// Converts a wasmparser reference type met at `offset`: the function, extern and
/// exception hierarchies; GC's heap types are refused.
pub fn ref_type_of(ref_type: wasmparser::RefType, offset: u64) -> Result<RefType> {
    use wasmparser::AbstractHeapType as A;
    let heap = match ref_type.heap_type() {
        wasmparser::HeapType::Abstract { shared: true, .. } => {
            return Err(unsupported("shared references", offset))
        }
        wasmparser::HeapType::Abstract { ty, .. } => match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            A::Cont | A::NoCont => return Err(unsupported("stack switching", offset)),
            other => {
                let name = format!("{other:?}").to_lowercase();
                return Err(unsupported_gc(&format!("{name} references"), offset));
            }
        },
        wasmparser::HeapType::Concrete(index) => match index.as_module_index() {
            Some(index) => HeapType::Concrete(index),
            None => return Err(unsupported_gc("rec-group type references", offset)),
        },
        wasmparser::HeapType::Exact(_) => return Err(unsupported("exact references", offset)),
    };
    Ok(RefType {
        nullable: ref_type.is_nullable(),
        heap,
    })
}

fn table_type(table: wasmparser::TableType, offset: u64) -> Result<TableType> {
    if table.shared {
        return Err(unsupported("shared tables", offset));
    }
    Ok(TableType {
        element: ValType::Ref(ref_type_of(table.element_type, offset)?),
        min: table.initial,
        max: table.maximum,
        table64: table.table64,
    })
}

/// A memory's type, 32- or 64-bit.
fn memory_type(memory: wasmparser::MemoryType, _offset: u64) -> Result<MemoryType> {
    Ok(MemoryType {
        min_pages: memory.initial,
        max_pages: memory.maximum,
        memory64: memory.memory64,
        shared: memory.shared,
    })
}

fn global_type(global: wasmparser::GlobalType, offset: u64) -> Result<GlobalType> {
    Ok(GlobalType {
        ty: val_type(global.content_type, offset)?,
        mutable: global.mutable,
    })
}

fn element_segment(element: wasmparser::Element<'_>, offset: u64) -> Result<ElementSegment> {
    let mode = match element.kind {
        wasmparser::ElementKind::Passive => ElementMode::Passive,
        wasmparser::ElementKind::Declared => ElementMode::Declared,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => ElementMode::Active {
            table: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (element, items) = match element.items {
        wasmparser::ElementItems::Functions(reader) => (
            ValType::FUNCREF,
            ElementItems::Functions(reader.into_iter().collect::<Result<_, _>>()?),
        ),
        wasmparser::ElementItems::Expressions(ref_type, reader) => {
            let mut exprs = Vec::new();
            for expr in reader {
                exprs.push(const_expr(&expr?)?);
            }
            (
                ValType::Ref(ref_type_of(ref_type, offset)?),
                ElementItems::Expressions(exprs),
            )
        }
    };
    Ok(ElementSegment {
        mode,
        element,
        items,
    })
}

/// Converts a constant expression into the runtime's operator list.
pub fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let offset = reader.original_position();
        use wasmparser::Operator as O;
        let op = match reader.read()? {
            O::I32Const { value } => ConstOp::I32Const(value),
            O::I64Const { value } => ConstOp::I64Const(value),
            O::F32Const { value } => ConstOp::F32Const(value.bits()),
            O::F64Const { value } => ConstOp::F64Const(value.bits()),
            O::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
            O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            O::RefNull { .. } => ConstOp::RefNull,
            O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::End => break,
            other => return Err(unsupported(format!("constant operator {other:?}"), offset)),
        };
        ops.push(op);
    }
    Ok(ops)
}
