//! A component's world for `kiln inspect`: wit-parser's decoder (the one wit-component
//! re-exports) recovers the WIT world from the component's types, and this file prints
//! it one item per line, with WIT's type syntax, handles written out as `own<...>` and
//! `borrow<...>`:
//!
//! ```text
//! import wasi:cli/stdout@0.2.3: get-stdout: func() -> own<output-stream>
//! import wasi:io/streams@0.2.3: resource output-stream
//! export wasi:cli/run@0.2.3: run: func() -> result
//! ```

use crate::error::{ComponentError, Result};
use std::fmt::Write;
use wit_parser::{
    Function, Handle, InterfaceId, Resolve, Type, TypeDefKind, TypeId, WorldItem, WorldKey,
};

/// The world of a valid component, one line per function, resource and named type of
/// each import and export.
pub fn world(component: &[u8]) -> Result<String> {
    let (resolve, world) = match wit_parser::decoding::decode(component) {
        Ok(wit_parser::decoding::DecodedWasm::Component(resolve, world)) => (resolve, world),
        Ok(wit_parser::decoding::DecodedWasm::WitPackage(..)) => {
            return Err(ComponentError::Unsupported(
                "a WIT package (types only, no component to run)".into(),
            ))
        }
        Err(error) => {
            return Err(ComponentError::Translation(format!(
                "decoding the component's world: {error:#}"
            )))
        }
    };
    let printer = Printer { resolve: &resolve };
    let world = &resolve.worlds[world];
    let mut out = String::new();
    for (direction, items) in [("import", &world.imports), ("export", &world.exports)] {
        for (key, item) in items {
            printer.item(&mut out, direction, key, item);
        }
    }
    Ok(out)
}

struct Printer<'a> {
    resolve: &'a Resolve,
}

impl Printer<'_> {
    fn item(&self, out: &mut String, direction: &str, key: &WorldKey, item: &WorldItem) {
        match item {
            WorldItem::Interface { id, .. } => {
                let label = match key {
                    WorldKey::Name(name) => name.clone(),
                    WorldKey::Interface(id) => self.interface_name(*id),
                };
                self.interface(out, &format!("{direction} {label}"), *id);
            }
            WorldItem::Function(function) => {
                let _ = writeln!(out, "{direction} {}", self.function(function));
            }
            WorldItem::Type { id, .. } => {
                let _ = writeln!(out, "{direction} {}", self.named_type(*id));
            }
        }
    }

    fn interface_name(&self, id: InterfaceId) -> String {
        self.resolve
            .id_of(id)
            .or_else(|| self.resolve.interfaces[id].name.clone())
            .unwrap_or_else(|| "(interface)".into())
    }

    fn interface(&self, out: &mut String, label: &str, id: InterfaceId) {
        let interface = &self.resolve.interfaces[id];
        for ty in interface.types.values() {
            let _ = writeln!(out, "{label}: {}", self.named_type(*ty));
        }
        for function in interface.functions.values() {
            let _ = writeln!(out, "{label}: {}", self.function(function));
        }
    }

    /// `name: func(a: t, b: u) -> r`.
    fn function(&self, function: &Function) -> String {
        let params: Vec<String> = function
            .params
            .iter()
            .map(|param| format!("{}: {}", param.name, self.ty(&param.ty)))
            .collect();
        let mut line = format!("{}: func({})", function.name, params.join(", "));
        if let Some(result) = &function.result {
            let _ = write!(line, " -> {}", self.ty(result));
        }
        line
    }

    /// A named type's definition: `resource output-stream`, `type stream-error = variant
    /// { ... }`, `type output-stream = output-stream` for a `use`.
    fn named_type(&self, id: TypeId) -> String {
        let def = &self.resolve.types[id];
        let name = def.name.as_deref().unwrap_or("(anonymous)");
        match &def.kind {
            TypeDefKind::Resource => format!("resource {name}"),
            TypeDefKind::Type(Type::Id(used)) if self.owner_differs(id, *used) => {
                let used_def = &self.resolve.types[*used];
                let from = match used_def.owner {
                    wit_parser::TypeOwner::Interface(interface) => self.interface_name(interface),
                    _ => String::from("the world"),
                };
                format!(
                    "use {from}.{{{}}}",
                    used_def.name.as_deref().unwrap_or(name)
                )
            }
            kind => format!("type {name} = {}", self.definition(kind)),
        }
    }

    fn owner_differs(&self, a: TypeId, b: TypeId) -> bool {
        self.resolve.types[a].owner != self.resolve.types[b].owner
    }

    /// A type where it is used: named types by name, anonymous ones spelled out.
    fn ty(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                match &def.name {
                    Some(name) => name.clone(),
                    None => self.definition(&def.kind),
                }
            }
        }
    }

    fn optional(&self, ty: &Option<Type>) -> String {
        ty.as_ref().map_or_else(|| "_".into(), |ty| self.ty(ty))
    }

    /// The structure of a type.
    fn definition(&self, kind: &TypeDefKind) -> String {
        let join = |items: Vec<String>| items.join(", ");
        match kind {
            TypeDefKind::Record(record) => format!(
                "record {{ {} }}",
                join(
                    record
                        .fields
                        .iter()
                        .map(|f| format!("{}: {}", f.name, self.ty(&f.ty)))
                        .collect()
                )
            ),
            TypeDefKind::Resource => "resource".into(),
            TypeDefKind::Handle(Handle::Own(id)) => {
                format!("own<{}>", self.ty(&Type::Id(*id)))
            }
            TypeDefKind::Handle(Handle::Borrow(id)) => {
                format!("borrow<{}>", self.ty(&Type::Id(*id)))
            }
            TypeDefKind::Flags(flags) => format!(
                "flags {{ {} }}",
                join(flags.flags.iter().map(|f| f.name.clone()).collect())
            ),
            TypeDefKind::Tuple(tuple) => format!(
                "tuple<{}>",
                join(tuple.types.iter().map(|t| self.ty(t)).collect())
            ),
            TypeDefKind::Variant(variant) => format!(
                "variant {{ {} }}",
                join(
                    variant
                        .cases
                        .iter()
                        .map(|case| match &case.ty {
                            Some(ty) => format!("{}({})", case.name, self.ty(ty)),
                            None => case.name.clone(),
                        })
                        .collect()
                )
            ),
            TypeDefKind::Enum(enum_) => format!(
                "enum {{ {} }}",
                join(enum_.cases.iter().map(|c| c.name.clone()).collect())
            ),
            TypeDefKind::Option(ty) => format!("option<{}>", self.ty(ty)),
            TypeDefKind::Result(result) => match (&result.ok, &result.err) {
                (None, None) => "result".into(),
                (ok, None) => format!("result<{}>", self.optional(ok)),
                (ok, err) => format!("result<{}, {}>", self.optional(ok), self.optional(err)),
            },
            TypeDefKind::List(ty) => format!("list<{}>", self.ty(ty)),
            TypeDefKind::Map(key, value) => format!("map<{}, {}>", self.ty(key), self.ty(value)),
            TypeDefKind::FixedLengthList(ty, n) => format!("list<{}, {n}>", self.ty(ty)),
            TypeDefKind::Future(ty) => format!("future<{}>", self.optional(ty)),
            TypeDefKind::Stream(ty) => format!("stream<{}>", self.optional(ty)),
            TypeDefKind::Type(ty) => self.ty(ty),
            TypeDefKind::Unknown => "unknown".into(),
        }
    }
}
