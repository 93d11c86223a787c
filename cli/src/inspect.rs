//! `kiln inspect`: what a module imports and exports, its memories, tables and globals,
//! its function count and the size of each section.

use crate::input::read_module;
use anyhow::{Context, Result};
use clap::Args;
use kiln_abi::metadata::{ExternKind, ImportType, MemoryType, TableType};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `kiln inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The module or component (.wasm or .wat).
    pub input: PathBuf,
}

fn memory_type(ty: &MemoryType) -> String {
    let max = ty.max_pages.map_or("none".to_string(), |m| m.to_string());
    format!(
        "memory {} pages min, max {max}{}",
        ty.min_pages,
        if ty.memory64 { ", 64-bit" } else { "" }
    )
}

fn table_type(ty: &TableType) -> String {
    let max = ty.max.map_or("none".to_string(), |m| m.to_string());
    format!(
        "table of {} {} min, max {max}{}",
        ty.element,
        ty.min,
        if ty.table64 { ", 64-bit" } else { "" }
    )
}

/// Runs `kiln inspect`.
pub fn inspect(args: &InspectArgs) -> Result<()> {
    let wasm = read_module(&args.input)?;
    if crate::component::is_component(&wasm) {
        print!("{}", crate::component::inspect(&args.input, &wasm)?);
        return Ok(());
    }
    let info = kiln_compiler::inspect(&wasm, kiln_compiler::WasmFeatures::all())
        .with_context(|| args.input.display().to_string())?;
    let metadata = &info.metadata;
    let mut out = String::new();
    let n_imported = info.n_imported_funcs();
    writeln!(out, "module: {}", metadata.name.unwrap_or("(unnamed)"))?;
    writeln!(out, "size: {} bytes", wasm.len())?;
    writeln!(
        out,
        "functions: {} ({} imported, {} defined)",
        metadata.functions.len(),
        n_imported,
        metadata.functions.len() as u32 - n_imported
    )?;
    writeln!(out, "types: {}", metadata.types.len())?;
    writeln!(out, "imports: {}", metadata.imports.len())?;
    for import in &metadata.imports {
        let what = match import.ty {
            ImportType::Func(index) => metadata.types[index as usize].to_string(),
            ImportType::Table(ty) => table_type(&ty),
            ImportType::Memory(ty) => memory_type(&ty),
            ImportType::Global(ty) => ty.to_string(),
            ImportType::Tag(index) => format!("tag {}", metadata.types[index as usize]),
        };
        writeln!(out, "  {}::{}: {what}", import.module, import.name)?;
    }
    writeln!(out, "exports: {}", metadata.exports.len())?;
    for export in &metadata.exports {
        let what = match export.kind {
            ExternKind::Func => info.func_type(export.index).to_string(),
            ExternKind::Table => table_type(&metadata.tables[export.index as usize]),
            ExternKind::Memory => memory_type(&metadata.memories[export.index as usize]),
            ExternKind::Global => metadata.global_types[export.index as usize].to_string(),
            ExternKind::Tag => format!(
                "tag {}",
                metadata.types[metadata.tags[export.index as usize] as usize]
            ),
        };
        writeln!(out, "  {}: {what}", export.name)?;
    }
    writeln!(out, "memories: {}", metadata.memories.len())?;
    for (index, memory) in metadata.memories.iter().enumerate() {
        writeln!(out, "  {index}: {}", memory_type(memory))?;
    }
    writeln!(out, "tables: {}", metadata.tables.len())?;
    for (index, table) in metadata.tables.iter().enumerate() {
        writeln!(out, "  {index}: {}", table_type(table))?;
    }
    writeln!(out, "globals: {}", metadata.global_types.len())?;
    let data_bytes: usize = metadata.data.iter().map(|d| d.bytes.len()).sum();
    writeln!(
        out,
        "data segments: {} ({data_bytes} bytes)",
        metadata.data.len()
    )?;
    writeln!(out, "element segments: {}", metadata.elements.len())?;
    if let Some(start) = metadata.start {
        writeln!(out, "start function: {start}")?;
    }
    writeln!(out, "sections:")?;
    for section in &info.sections {
        writeln!(out, "  {:<16} {:>10} bytes", section.name, section.size)?;
    }
    print!("{out}");
    Ok(())
}
