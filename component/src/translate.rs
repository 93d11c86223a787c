//! The one file that uses wasmtime-environ: its component translator flattens a
//! component's instance graph (nested components, core instances, aliases, `canon lift`,
//! `canon lower`, `canon resource.*`) into global initializers, and generates the fused
//! adapter modules (`fact`) that connect a lifted function to its lowering inside the
//! component. [`translate`] runs it and converts its output at once into kiln's own
//! [`ComponentPlan`], so nothing else in kiln sees wasmtime-environ's types (its API is not
//! stable across versions).
//!
//! The conversion refuses, with a message naming the function, what kiln does not
//! implement: string encodings other than UTF-8, the async ABI, core module imports,
//! and the component-model extensions beyond WASI 0.2 (streams, futures, threads, maps,
//! fixed-length lists, error contexts).

use crate::error::{unsupported, ComponentError, Result};
use kiln_abi::component::{
    CanonicalOptions, ComponentExport, ComponentPlan, CoreDef, CoreExport, CoreModule, DefinedType,
    FuncType, HostImport, ImportName, ModuleOrigin, Resource, ResourceTable, Step, StringEncoding,
    Trampoline, TrampolineKind, ValType,
};
use kiln_abi::metadata::{FuncType as CoreFuncType, ValType as CoreType};
use std::collections::HashMap;
use wasmtime_environ::component as env;
use wasmtime_environ::prelude::TryString;
use wasmtime_environ::{EntityIndex, ModuleInternedTypeIndex, PrimaryMap, WasmValType};

/// A translated component: the plan, and the bytes of each of its core modules (by
/// module index, as in [`ComponentPlan::modules`]).
#[derive(Debug)]
pub struct Translation {
    /// What to compile and how to instantiate it.
    pub plan: ComponentPlan,
    /// Each core module's bytes.
    pub modules: Vec<Vec<u8>>,
}

/// Validates `component` (wasmparser 0.263, errors with byte offsets), then flattens it
/// into a [`ComponentPlan`] with wasmtime-environ's translator.
pub fn translate(component: &[u8]) -> Result<Translation> {
    crate::validate(component)?;
    // The translator asserts its invariants; a component that breaks one is a bug there,
    // reported as an error rather than a crash of kiln.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| translate_valid(component)))
        .unwrap_or_else(|_| {
            Err(ComponentError::Translation(
                "internal error in the component translator".into(),
            ))
        })
}

fn translate_valid(component: &[u8]) -> Result<Translation> {
    use wasmtime_environ::wasmparser as environ_wasmparser;
    let mut tunables = wasmtime_environ::Tunables::default_host();
    // kiln implements the synchronous canonical ABI only: fused adapters then need no
    // task bookkeeping (`task-may-block`), only a call scope around calls that pass
    // resources (`enter-sync-call`, `exit-sync-call`).
    tunables.concurrency_support = false;
    let mut validator = environ_wasmparser::Validator::new_with_features(
        environ_wasmparser::WasmFeatures::default(),
    );
    let mut types = env::ComponentTypesBuilder::new(&validator);
    let scope = wasmtime_environ::ScopeVec::new();
    let (translation, static_modules) =
        env::Translator::new(&tunables, &mut validator, &mut types, &scope)
            .translate(component)
            .map_err(|error| ComponentError::Translation(format!("{error:#}")))?;
    let n_resource_tables = types.num_resource_tables();
    let (types, _) = types.finish(&translation.component);
    let mut converter = Converter {
        component,
        translation: &translation,
        types: &types,
        static_modules: &static_modules,
        plan: ComponentPlan::default(),
        func_types: HashMap::new(),
        defined_types: HashMap::new(),
        resource_tables: HashMap::new(),
        options: HashMap::new(),
        instance_modules: Vec::new(),
        lowered: vec![None; translation.component.num_lowerings as usize],
    };
    converter.convert(n_resource_tables)?;
    let modules = static_modules
        .values()
        .map(|module| module.wasm.to_vec())
        .collect();
    Ok(Translation {
        plan: converter.plan,
        modules,
    })
}

/// Builds the plan from the translator's output, interning types as they are met.
struct Converter<'a, 'data> {
    component: &'a [u8],
    translation: &'a env::ComponentTranslation,
    types: &'a env::ComponentTypes,
    static_modules:
        &'a PrimaryMap<env::StaticModuleIndex, wasmtime_environ::ModuleTranslation<'data>>,
    plan: ComponentPlan,
    func_types: HashMap<env::TypeFuncIndex, u32>,
    defined_types: HashMap<env::InterfaceType, u32>,
    resource_tables: HashMap<env::TypeResourceTableIndex, u32>,
    options: HashMap<env::OptionsIndex, u32>,
    /// The static module of each core instance created so far.
    instance_modules: Vec<env::StaticModuleIndex>,
    /// The host import each lowering lowers (by `LoweredIndex`).
    lowered: Vec<Option<env::RuntimeImportIndex>>,
}

impl Converter<'_, '_> {
    fn convert(&mut self, n_resource_tables: usize) -> Result<()> {
        let component = &self.translation.component;
        self.convert_modules();
        self.convert_resources();
        // Every table, in the translator's order, so that a table index a fused adapter
        // passes to `resource.transfer-*` means the same table in the plan.
        for index in 0..n_resource_tables {
            let index = env::TypeResourceTableIndex::from_u32(index as u32);
            match self.types[index] {
                env::TypeResourceTable::Concrete { .. } => {
                    self.resource_table(index)?;
                }
                // A table of an abstract type holds no handle at run time; its place is
                // kept by a table of no resource (every handle operation on it traps), and
                // a type that refers to it is still refused (`resource_table`).
                env::TypeResourceTable::Abstract(_) => {
                    self.plan.resource_tables.push(ResourceTable {
                        resource: u32::MAX,
                        component_instance: 0,
                    });
                }
            }
        }
        self.plan.adapter_traps = (0..=u8::MAX)
            .filter_map(|code| {
                let trap = wasmtime_environ::Trap::from_u8(code)?;
                let message = trap.to_string();
                let message = message.strip_prefix("wasm trap: ").unwrap_or(&message);
                Some((code, message.to_string()))
            })
            .collect();
        for initializer in &component.initializers {
            self.convert_initializer(initializer)?;
        }
        for (index, trampoline) in self.translation.trampolines.iter() {
            let signature = self.core_signature(component.trampolines[index])?;
            let kind = self.convert_trampoline(trampoline, &signature)?;
            self.plan.trampolines.push(Trampoline { kind, signature });
        }
        let mut exports = Vec::new();
        collect_exports(component, &component.exports, "", &mut exports);
        for (name, export) in exports {
            self.convert_export(&name, export)?;
        }
        self.plan.n_instances = self.instance_modules.len() as u32;
        self.plan.n_component_instances = component.num_runtime_component_instances;
        self.plan.n_memories = component.num_runtime_memories;
        self.plan.n_reallocs = component.num_runtime_reallocs;
        self.plan.n_post_returns = component.num_runtime_post_returns;
        Ok(())
    }

    fn convert_modules(&mut self) {
        let base = self.component.as_ptr() as usize;
        for (index, module) in self.static_modules.iter() {
            // A module of the component borrows its bytes from the component; an adapter
            // module's bytes were generated elsewhere.
            let start = module.wasm.as_ptr() as usize;
            let origin =
                if start >= base && start + module.wasm.len() <= base + self.component.len() {
                    ModuleOrigin::Component {
                        offset: (start - base) as u64,
                    }
                } else {
                    ModuleOrigin::Adapter
                };
            self.plan.modules.push(CoreModule {
                origin,
                symbol_prefix: format!("kiln_m{}_", index.as_u32()),
            });
        }
    }

    /// Imported resources first (named after their import), then the defined ones.
    fn convert_resources(&mut self) {
        let component = &self.translation.component;
        for runtime_import in component.imported_resources.values() {
            self.plan.resources.push(Resource {
                name: self.import_path(*runtime_import),
                imported: true,
                component_instance: None,
            });
        }
        for (defined, instance) in component.defined_resource_instances.iter() {
            let index = component.resource_index(defined);
            self.plan.resources.push(Resource {
                name: format!("resource{}", index.as_u32()),
                imported: false,
                component_instance: Some(instance.as_u32()),
            });
        }
    }

    /// `wasi:io/streams@0.2.3#output-stream` for an item of an imported instance.
    fn import_path(&self, import: env::RuntimeImportIndex) -> String {
        let component = &self.translation.component;
        let (import_index, path) = &component.imports[import];
        let mut name = component.import_types[*import_index].0.clone();
        for (i, part) in path.iter().enumerate() {
            name.push(if i == 0 { '#' } else { '/' });
            name.push_str(part);
        }
        name
    }

    fn import_name(&self, import: env::RuntimeImportIndex) -> ImportName {
        let component = &self.translation.component;
        let (import_index, path) = &component.imports[import];
        let instance = &component.import_types[*import_index].0;
        if path.is_empty() {
            ImportName {
                interface: String::new(),
                version: None,
                function: instance.clone(),
            }
        } else {
            ImportName::new(instance, &path.join("/"))
        }
    }

    fn convert_initializer(&mut self, initializer: &env::GlobalInitializer) -> Result<()> {
        use env::GlobalInitializer as G;
        let step = match initializer {
            G::InstantiateModule(env::InstantiateModule::Static(module, args), instance) => {
                let args = args
                    .iter()
                    .map(|def| self.core_def(def))
                    .collect::<Result<_>>()?;
                self.instance_modules.push(*module);
                Step::Instantiate {
                    module: module.as_u32(),
                    args,
                    component_instance: instance.map(|i| i.as_u32()),
                }
            }
            G::InstantiateModule(env::InstantiateModule::Import(..), _) => {
                return Err(unsupported("a component that imports a core module"))
            }
            G::LowerImport { index, import } => {
                self.lowered[index.as_u32() as usize] = Some(*import);
                return Ok(());
            }
            G::ExtractMemory(memory) => Step::ExtractMemory {
                index: memory.index.as_u32(),
                export: self.core_export(&memory.export.clone().map_index(EntityIndex::from))?,
            },
            G::ExtractRealloc(realloc) => Step::ExtractRealloc {
                index: realloc.index.as_u32(),
                def: self.core_def(&realloc.def)?,
            },
            G::ExtractPostReturn(post_return) => Step::ExtractPostReturn {
                index: post_return.index.as_u32(),
                def: self.core_def(&post_return.def)?,
            },
            G::Resource(resource) => {
                if resource.rep != WasmValType::I32 {
                    return Err(unsupported(format!(
                        "a resource represented as {}",
                        resource.rep
                    )));
                }
                let index = self.translation.component.resource_index(resource.index);
                Step::DefineResource {
                    resource: index.as_u32(),
                    destructor: resource
                        .dtor
                        .as_ref()
                        .map(|d| self.core_def(d))
                        .transpose()?,
                }
            }
            G::ExtractCallback(_) => return Err(unsupported("the async ABI (a callback)")),
            G::ExtractTable(_) => return Err(unsupported("the async ABI (an extracted table)")),
        };
        self.plan.steps.push(step);
        Ok(())
    }

    fn core_def(&self, def: &env::CoreDef) -> Result<CoreDef> {
        Ok(match def {
            env::CoreDef::Export(export) => CoreDef::Export(self.core_export(export)?),
            env::CoreDef::Trampoline(index) => CoreDef::Trampoline(index.as_u32()),
            env::CoreDef::InstanceFlags(instance) => CoreDef::InstanceFlags(instance.as_u32()),
            env::CoreDef::UnsafeIntrinsic(_) => {
                return Err(unsupported("wasmtime's unsafe intrinsics"))
            }
            env::CoreDef::TaskMayBlock => {
                return Err(unsupported("the async ABI (task-may-block)"))
            }
        })
    }

    /// An export of an earlier instance, by name.
    fn core_export(&self, export: &env::CoreExport<EntityIndex>) -> Result<CoreExport> {
        let instance = export.instance.as_u32();
        let name = match &export.item {
            env::ExportItem::Name(name) => name.clone(),
            env::ExportItem::Index(index) => {
                let module = self
                    .instance_modules
                    .get(instance as usize)
                    .map(|m| &self.static_modules[*m].module)
                    .ok_or_else(|| {
                        ComponentError::Translation(format!(
                            "core instance {instance} is used before it is created"
                        ))
                    })?;
                module
                    .exports
                    .iter()
                    .find(|(_, exported)| *exported == index)
                    .map(|(atom, _)| module.strings[atom].to_string())
                    .ok_or_else(|| {
                        ComponentError::Translation(format!(
                            "core instance {instance} does not export {index:?}"
                        ))
                    })?
            }
        };
        Ok(CoreExport { instance, name })
    }

    fn convert_trampoline(
        &mut self,
        trampoline: &env::Trampoline,
        signature: &CoreFuncType,
    ) -> Result<TrampolineKind> {
        use env::Trampoline as T;
        Ok(match trampoline {
            T::LowerImport {
                index,
                lower_ty,
                options,
            } => {
                let import = self.lowered[index.as_u32() as usize].ok_or_else(|| {
                    ComponentError::Translation(format!(
                        "lowering {} has no import",
                        index.as_u32()
                    ))
                })?;
                let name = self.import_name(import);
                let func_type = self.func_type(*lower_ty)?;
                let expected = self.plan.types.lowered_signature(func_type);
                if expected != *signature {
                    return Err(ComponentError::Translation(format!(
                        "{name}: kiln's flat signature {expected} differs from the translator's {signature}"
                    )));
                }
                let options = self.canonical_options(*options, &name.to_string())?;
                let import = self.plan.imports.len() as u32;
                self.plan.imports.push(HostImport { name, func_type });
                TrampolineKind::LowerImport { import, options }
            }
            T::ResourceNew { ty, .. } => TrampolineKind::ResourceNew {
                table: self.resource_table(*ty)?,
            },
            T::ResourceRep { ty, .. } => TrampolineKind::ResourceRep {
                table: self.resource_table(*ty)?,
            },
            T::ResourceDrop { ty, .. } => TrampolineKind::ResourceDrop {
                table: self.resource_table(*ty)?,
            },
            T::ResourceTransferOwn => TrampolineKind::ResourceTransferOwn,
            T::ResourceTransferBorrow => TrampolineKind::ResourceTransferBorrow,
            T::Trap => TrampolineKind::Trap,
            T::EnterSyncCall => TrampolineKind::EnterSyncCall,
            T::ExitSyncCall => TrampolineKind::ExitSyncCall,
            T::Transcoder { op, .. } => {
                return Err(unsupported(format!(
                    "string encodings other than UTF-8: a call between the component's own \
                     components transcodes {}",
                    op.desc()
                )))
            }
            other => {
                return Err(unsupported(format!(
                    "the component-model intrinsic {}",
                    intrinsic_name(other)
                )))
            }
        })
    }

    fn convert_export(&mut self, name: &str, export: &env::Export) -> Result<()> {
        let env::Export::LiftedFunction { ty, func, options } = export else {
            return Ok(());
        };
        let name = match name.split_once('#') {
            Some((instance, function)) => ImportName::new(instance, function),
            None => ImportName {
                interface: String::new(),
                version: None,
                function: name.to_string(),
            },
        };
        let func_type = self.func_type(*ty)?;
        let core_type = self.translation.component.options[*options].core_type;
        let signature = self.core_signature(core_type)?;
        let expected = self.plan.types.lifted_signature(func_type);
        if expected != signature {
            return Err(ComponentError::Translation(format!(
                "{name}: kiln's flat signature {expected} differs from the translator's {signature}"
            )));
        }
        let options = self.canonical_options(*options, &name.to_string())?;
        let func = self.core_def(func)?;
        self.plan.exports.push(ComponentExport {
            name,
            func,
            func_type,
            options,
        });
        Ok(())
    }

    /// The options at `index`, checked: UTF-8 strings and the synchronous ABI only.
    fn canonical_options(&mut self, index: env::OptionsIndex, function: &str) -> Result<u32> {
        if let Some(&converted) = self.options.get(&index) {
            return Ok(converted);
        }
        let options = &self.translation.component.options[index];
        if options.string_encoding != env::StringEncoding::Utf8 {
            return Err(unsupported(format!(
                "{function} uses the string encoding {:?}; kiln implements UTF-8 only",
                options.string_encoding
            )));
        }
        if options.async_ || options.callback.is_some() {
            return Err(unsupported(format!("{function} uses the async ABI")));
        }
        let (memory, realloc) = match options.data_model {
            env::CanonicalOptionsDataModel::LinearMemory(linear) => (
                linear.memory.map(|m| m.as_u32()),
                linear.realloc.map(|r| r.as_u32()),
            ),
            env::CanonicalOptionsDataModel::Gc {} => {
                return Err(unsupported(format!("{function} uses the GC data model")))
            }
        };
        let converted = self.plan.options.len() as u32;
        self.plan.options.push(CanonicalOptions {
            component_instance: options.instance.as_u32(),
            memory,
            realloc,
            post_return: options.post_return.map(|p| p.as_u32()),
            string_encoding: StringEncoding::Utf8,
        });
        self.options.insert(index, converted);
        Ok(converted)
    }

    fn core_signature(&self, index: ModuleInternedTypeIndex) -> Result<CoreFuncType> {
        let func = self.types.module_types()[index].unwrap_func();
        let convert = |types: &[WasmValType]| {
            types
                .iter()
                .map(|ty| match ty {
                    WasmValType::I32 => Ok(CoreType::I32),
                    WasmValType::I64 => Ok(CoreType::I64),
                    WasmValType::F32 => Ok(CoreType::F32),
                    WasmValType::F64 => Ok(CoreType::F64),
                    other => Err(unsupported(format!(
                        "a component function of core type {other}"
                    ))),
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(CoreFuncType {
            params: convert(func.params())?,
            results: convert(func.results())?,
        })
    }

    fn resource_table(&mut self, index: env::TypeResourceTableIndex) -> Result<u32> {
        if let Some(&table) = self.resource_tables.get(&index) {
            return Ok(table);
        }
        let env::TypeResourceTable::Concrete { ty, instance } = self.types[index] else {
            return Err(ComponentError::Translation(
                "a handle to an abstract resource type".into(),
            ));
        };
        let table = self.plan.resource_tables.len() as u32;
        self.plan.resource_tables.push(ResourceTable {
            resource: ty.as_u32(),
            component_instance: instance.as_u32(),
        });
        self.resource_tables.insert(index, table);
        Ok(table)
    }

    fn func_type(&mut self, index: env::TypeFuncIndex) -> Result<u32> {
        if let Some(&func) = self.func_types.get(&index) {
            return Ok(func);
        }
        let func = &self.types[index];
        if func.async_ {
            return Err(unsupported("an async component function"));
        }
        let params = self.types[func.params]
            .types
            .iter()
            .zip(&func.param_names)
            .map(|(ty, name)| Ok((name.clone(), self.val_type(*ty)?)))
            .collect::<Result<_>>()?;
        let results = self.types[func.results]
            .types
            .iter()
            .map(|ty| self.val_type(*ty))
            .collect::<Result<_>>()?;
        let converted = self.plan.types.funcs.len() as u32;
        self.plan.types.funcs.push(FuncType { params, results });
        self.func_types.insert(index, converted);
        Ok(converted)
    }

    fn val_type(&mut self, ty: env::InterfaceType) -> Result<ValType> {
        use env::InterfaceType as I;
        Ok(match ty {
            I::Bool => ValType::Bool,
            I::S8 => ValType::S8,
            I::U8 => ValType::U8,
            I::S16 => ValType::S16,
            I::U16 => ValType::U16,
            I::S32 => ValType::S32,
            I::U32 => ValType::U32,
            I::S64 => ValType::S64,
            I::U64 => ValType::U64,
            I::Float32 => ValType::F32,
            I::Float64 => ValType::F64,
            I::Char => ValType::Char,
            I::String => ValType::String,
            _ => ValType::Defined(self.defined_type(ty)?),
        })
    }

    fn defined_type(&mut self, ty: env::InterfaceType) -> Result<u32> {
        use env::InterfaceType as I;
        if let Some(&defined) = self.defined_types.get(&ty) {
            return Ok(defined);
        }
        let types = self.types;
        let defined = match ty {
            I::Record(index) => DefinedType::Record(
                types[index]
                    .fields
                    .iter()
                    .map(|field| Ok((field.name.clone(), self.val_type(field.ty)?)))
                    .collect::<Result<_>>()?,
            ),
            I::Variant(index) => DefinedType::Variant(
                types[index]
                    .cases
                    .iter()
                    .map(|(name, ty)| Ok((name.clone(), ty.map(|t| self.val_type(t)).transpose()?)))
                    .collect::<Result<_>>()?,
            ),
            I::List(index) => DefinedType::List(self.val_type(types[index].element)?),
            I::Tuple(index) => DefinedType::Tuple(
                types[index]
                    .types
                    .iter()
                    .map(|t| self.val_type(*t))
                    .collect::<Result<_>>()?,
            ),
            I::Flags(index) => DefinedType::Flags(types[index].names.iter().cloned().collect()),
            I::Enum(index) => DefinedType::Enum(types[index].names.iter().cloned().collect()),
            I::Option(index) => DefinedType::Option(self.val_type(types[index].ty)?),
            I::Result(index) => {
                let result = &types[index];
                DefinedType::Result {
                    ok: result.ok.map(|t| self.val_type(t)).transpose()?,
                    err: result.err.map(|t| self.val_type(t)).transpose()?,
                }
            }
            I::Own(index) => DefinedType::Own(self.resource_table(index)?),
            I::Borrow(index) => DefinedType::Borrow(self.resource_table(index)?),
            I::Map(_) => return Err(unsupported("the component type map")),
            I::FixedLengthList(_) => return Err(unsupported("fixed-length lists")),
            I::Future(_) => return Err(unsupported("the async ABI (future)")),
            I::Stream(_) => return Err(unsupported("the async ABI (stream)")),
            I::ErrorContext(_) => return Err(unsupported("the async ABI (error-context)")),
            _ => unreachable!("primitive types are not defined types"),
        };
        let index = self.plan.types.defined.len() as u32;
        self.plan.types.defined.push(defined);
        self.defined_types.insert(ty, index);
        Ok(index)
    }
}

/// The component's exported functions with their full names (`instance#function`), in
/// export order.
fn collect_exports<'a>(
    component: &'a env::Component,
    exports: &'a env::NameMap<TryString, (env::ExportIndex, env::ComponentExternData)>,
    prefix: &str,
    out: &mut Vec<(String, &'a env::Export)>,
) {
    for (name, (index, _)) in exports.raw_iter() {
        let name: &str = name;
        let full = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}#{name}")
        };
        match &component.export_items[*index] {
            env::Export::Instance { exports, .. } => {
                collect_exports(component, exports, &full, out)
            }
            export => out.push((full, export)),
        }
    }
}

/// The name of an intrinsic kiln does not implement, for the error message.
fn intrinsic_name(trampoline: &env::Trampoline) -> String {
    let debug = format!("{trampoline:?}");
    let name = debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    // `WaitableSetNew` → `waitable-set-new`, as the component model spells it.
    let mut spelled = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            spelled.push('-');
        }
        spelled.extend(c.to_lowercase());
    }
    spelled
}
