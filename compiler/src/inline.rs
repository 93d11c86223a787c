//! Inlining across the module (issue 18's first lever; `CompileOptions::inline`). kiln
//! translates every function to CLIF before compiling any, so a call to a defined function
//! can be replaced by the callee's body (Cranelift's `inline` module does the rewriting;
//! this file decides where, and keeps the wasm offsets right).
//!
//! What is inlined: direct calls (`call`, and the `try_call` of a call a handler covers) to
//! defined functions that are small ([`SMALL_CALLEE`] CLIF instructions or fewer), or that
//! are called from exactly one place in the module and fit the caller's budget
//! ([`SINGLE_SITE_CALLEE`], [`SINGLE_SITE_CALLER`]). Never inlined: calls to imports,
//! `call_indirect` and `call_ref` (Cranelift inlines direct calls only), tail calls (the
//! caller's frame is gone, and a backtrace lacks it: inlining would change nothing but the
//! code's size), callees that make tail calls themselves (their `return_call` would return
//! from the caller), and a function into itself. Inlining is one level deep: a callee's
//! body is its translation before inlining, so recursion cannot unfold and every function
//! is inlined into its callers independently, on all cores.
//!
//! With a profile (`--profile-use`, `profile.rs`): a callee never entered is never inlined
//! and a caller never entered gets nothing inlined (its size is what matters there), and a
//! hot callee (`Profile::hot_count`: entered at least 1/1000 as often as the module's most
//! entered function) is inlined at every direct call up to [`HOT_CALLEE`] instructions.
//!
//! Wasm offsets: every instruction inlined at a call gets the call's own source location,
//! so a trap in inlined code, and every call it makes, reports the caller's frame at the
//! `call` (the inlined function has no frame of its own). Stack-overflow checks stay in
//! the caller's prologue (its frame now holds the callee's slots too); fuel and
//! interruption checks are loads and stores of the store's `VMLimits`, kept as they were
//! in the callee. A callee inlined at a `try_call` has its calls turned into `try_call`s to
//! the caller's handler by Cranelift, so an exception thrown below the inlined code is
//! caught where it was before; only callees that call nothing but wasm functions are
//! inlined there, so a callee that throws itself (through the `throw_ref` builtin) stays a
//! call inside a `try_table` (see [`InlinePlan::should_inline`]). A covered call is a
//! `try_call` only when its callee may throw (`throws.rs`), and so is every call of the
//! inlined body afterwards: those Cranelift made `try_call`s to functions that cannot
//! throw become plain calls again ([`demote_try_calls`]). (Indirect calls of the inlined
//! body cannot be told apart any more, and stay `try_call`s.)

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::entity::EntityRef;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, InstBuilder, InstructionData, Opcode};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::Context;
use cranelift_module::FuncId;
use std::borrow::Cow;
use std::collections::HashMap;

/// A callee of at most this many CLIF instructions is inlined at every direct call
/// (a getter, a wrapper, a small arithmetic helper: about the size of a call's own set-up
/// in the caller and the callee's prologue and epilogue).
pub const SMALL_CALLEE: usize = 40;

/// A callee with a single call site in the module is inlined there when it has at most
/// this many CLIF instructions... (At 1,000, shootout-minicsv's libc `memmove`, called
/// once, went into its hot parser function and made the benchmark 1.09–1.19× slower;
/// see benches/README.md, "Inlining across the module".)
pub const SINGLE_SITE_CALLEE: usize = 200;

/// ...and the caller, with what was inlined into it so far, stays within this many.
pub const SINGLE_SITE_CALLER: usize = 4_000;

/// No function grows past this many CLIF instructions by inlining, small callees included.
pub const MAX_CALLER: usize = 20_000;

/// With a profile, a hot callee of at most this many CLIF instructions is inlined at every
/// direct call (three times [`SMALL_CALLEE`]).
pub const HOT_CALLEE: usize = 120;

/// What inlining needs to know about every defined function, from their translations.
pub struct InlinePlan {
    /// CLIF instructions of each defined function, by defined index.
    sizes: Vec<usize>,
    /// Direct calls to each defined function anywhere in the module (tail calls included).
    call_sites: Vec<u32>,
    /// Whether each defined function may be inlined at all (it makes no tail call).
    eligible: Vec<bool>,
    /// Whether each defined function calls only wasm functions (no builtin, no libcall),
    /// so that it may be inlined at a `try_call` (see [`InlinePlan::should_inline`]).
    calls_only_wasm: Vec<bool>,
    /// Defined index by the `FuncId` a direct call names.
    defined_by_id: HashMap<u32, usize>,
    /// Whether each defined function may throw (`throws.rs`).
    may_throw: Vec<bool>,
    /// With a profile: each defined function's entry count, and the count from which a
    /// callee is hot.
    profile: Option<(Vec<u64>, u64)>,
}

impl InlinePlan {
    /// Scans the translated functions (by defined index, an empty function in place of
    /// one left out or folded, which no id names; `func_ids` their ids, `may_throw`
    /// whether each may throw), guided by `profile` when there is one (it counts these
    /// functions: `Profile::check`).
    pub fn new(
        functions: &[ir::Function],
        func_ids: &[Option<FuncId>],
        may_throw: &[bool],
        profile: Option<&crate::profile::Profile>,
    ) -> InlinePlan {
        // A folded function has the id of the earlier function it is folded into
        // (`fold.rs`): the id names that one, whose body was translated.
        let mut defined_by_id: HashMap<u32, usize> = HashMap::new();
        for (defined, id) in func_ids.iter().enumerate() {
            if let Some(id) = id {
                defined_by_id.entry(id.as_u32()).or_insert(defined);
            }
        }
        let mut plan = InlinePlan {
            sizes: Vec::with_capacity(functions.len()),
            call_sites: vec![0; functions.len()],
            eligible: Vec::with_capacity(functions.len()),
            calls_only_wasm: Vec::with_capacity(functions.len()),
            defined_by_id,
            may_throw: may_throw.to_vec(),
            profile: profile.map(|profile| (profile.counts().to_vec(), profile.hot_count())),
        };
        for func in functions {
            let mut size = 0;
            let mut eligible = true;
            let mut calls_only_wasm = true;
            for block in func.layout.blocks() {
                for inst in func.layout.block_insts(block) {
                    size += 1;
                    let opcode = func.dfg.insts[inst].opcode();
                    if matches!(opcode, Opcode::ReturnCall | Opcode::ReturnCallIndirect) {
                        eligible = false;
                    }
                    if let Some(signature) = func.dfg.call_signature(inst) {
                        calls_only_wasm &=
                            func.dfg.signatures[signature].call_conv == CallConv::Tail;
                    }
                    if let Some(callee) = plan.direct_callee(func, inst) {
                        plan.call_sites[callee] = plan.call_sites[callee].saturating_add(1);
                    }
                }
            }
            plan.sizes.push(size);
            plan.eligible.push(eligible);
            plan.calls_only_wasm.push(calls_only_wasm);
        }
        plan
    }

    /// The defined function that `inst` of `func` calls directly, if it is such a call.
    fn direct_callee(&self, func: &ir::Function, inst: ir::Inst) -> Option<usize> {
        let func_ref = match func.dfg.insts[inst] {
            InstructionData::Call { func_ref, .. } | InstructionData::TryCall { func_ref, .. } => {
                func_ref
            }
            _ => return None,
        };
        self.defined_function(func, func_ref)
    }

    /// The defined function `func_ref` of `func` names, if it names one.
    fn defined_function(&self, func: &ir::Function, func_ref: ir::FuncRef) -> Option<usize> {
        let ir::ExternalName::User(name) = func.dfg.ext_funcs[func_ref].name else {
            return None;
        };
        let name = &func.params.user_named_funcs()[name];
        if name.namespace != 0 {
            return None;
        }
        self.defined_by_id.get(&name.index).copied()
    }

    /// Whether to inline `callee` into `caller`, whose size is `caller_size` so far, at a
    /// `call` or, when `covered`, at a `try_call`.
    ///
    /// At a `try_call`, Cranelift makes every call of the inlined body a `try_call` to the
    /// caller's handler. For a callee in the System V convention (builtins, among them
    /// `throw_ref`, and libcalls), Cranelift then expects the callee-saved registers to
    /// hold their values when the handler is entered, which kiln's unwinder does not
    /// restore (it resumes with the frame and stack pointer only, as the `tail`
    /// convention's `try_call`s need): so only callees whose calls are all wasm calls are
    /// inlined there. A callee that may throw calls a builtin, and stays a call.
    fn should_inline(
        &self,
        caller: usize,
        callee: usize,
        caller_size: usize,
        covered: bool,
    ) -> bool {
        if callee == caller || !self.eligible[callee] || (covered && !self.calls_only_wasm[callee])
        {
            return false;
        }
        let size = self.sizes[callee];
        let grown = caller_size.saturating_add(size);
        if grown > MAX_CALLER {
            return false;
        }
        if let Some((counts, hot)) = &self.profile {
            let count = |defined: usize| counts.get(defined).copied().unwrap_or(0);
            if count(caller) == 0 || count(callee) == 0 {
                return false;
            }
            if count(callee) >= *hot && size <= HOT_CALLEE {
                return true;
            }
        }
        size <= SMALL_CALLEE
            || (self.call_sites[callee] == 1
                && size <= SINGLE_SITE_CALLEE
                && grown <= SINGLE_SITE_CALLER)
    }
}

/// Inlines the calls of defined function `caller` (translated in `context.func`) that
/// `plan` selects, with the callees' bodies from `functions`. Returns how many calls it
/// inlined.
pub fn inline_calls(
    context: &mut Context,
    caller: usize,
    plan: &InlinePlan,
    functions: &[ir::Function],
) -> cranelift_codegen::CodegenResult<usize> {
    let mut inliner = Inliner {
        caller,
        plan,
        functions,
        caller_size: plan.sizes[caller],
        inlined: Vec::new(),
        inlined_at_try_call: false,
    };
    context.inline(&mut inliner)?;
    if inliner.inlined_at_try_call {
        demote_try_calls(&mut context.func, plan);
    }
    // Cranelift's inliner gives the inlined instructions no source location; each call's
    // were made after those inlined before it and before those inlined after it, so the
    // instruction numbers in between are that call's.
    let end = context.func.dfg.num_insts();
    let sites = &inliner.inlined;
    for (index, &(first, location)) in sites.iter().enumerate() {
        let last = sites.get(index + 1).map_or(end, |next| next.0);
        for inst in first..last {
            context.func.set_srcloc(ir::Inst::new(inst), location);
        }
    }
    Ok(sites.len())
}

/// The `Inline` hooks for one caller.
struct Inliner<'a> {
    caller: usize,
    plan: &'a InlinePlan,
    functions: &'a [ir::Function],
    /// The caller's size with what was inlined into it so far.
    caller_size: usize,
    /// Per inlined call, in order: the first instruction number it created, and the
    /// call's source location.
    inlined: Vec<(usize, ir::SourceLoc)>,
    /// Whether a body was inlined at a `try_call`.
    inlined_at_try_call: bool,
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        call_inst: ir::Inst,
        call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        if !matches!(call_opcode, Opcode::Call | Opcode::TryCall) {
            return InlineCommand::KeepCall;
        }
        let Some(callee) = self.plan.defined_function(caller, callee) else {
            return InlineCommand::KeepCall;
        };
        if !self.plan.should_inline(
            self.caller,
            callee,
            self.caller_size,
            call_opcode == Opcode::TryCall,
        ) {
            return InlineCommand::KeepCall;
        }
        self.caller_size += self.plan.sizes[callee];
        self.inlined_at_try_call |= call_opcode == Opcode::TryCall;
        self.inlined
            .push((caller.dfg.num_insts(), caller.srcloc(call_inst)));
        InlineCommand::Inline {
            callee: with_symbols_named_as_in(caller, &self.functions[callee]),
            // The callee is its translation, before inlining: one level only.
            visit_callee: false,
        }
    }
}

/// `callee`, or a copy whose symbol global values (the addresses of data objects: the code
/// tables of `devirt.rs`, the profile counters) name their symbols by the references
/// `caller` will have for them once `callee` is inlined into it.
///
/// Cranelift's inliner copies the callee's global values as they are, symbol names
/// included, while it translates the name references of the callee's calls into the
/// caller's (declaring the callee's names in the caller in order, each new one after the
/// caller's own): a symbol global value would otherwise name whatever the caller's
/// reference of the same number is, a function in place of a code table, say (a crash).
/// The references are predicted here the way the inliner makes them.
fn with_symbols_named_as_in<'a>(
    caller: &ir::Function,
    callee: &'a ir::Function,
) -> Cow<'a, ir::Function> {
    let renamed = |name: ir::UserExternalNameRef| {
        let mut new_names = 0;
        for (callee_ref, callee_name) in callee.params.user_named_funcs().iter() {
            let existing = caller
                .params
                .user_named_funcs()
                .iter()
                .find(|(_, caller_name)| *caller_name == callee_name)
                .map(|(caller_ref, _)| caller_ref);
            let caller_ref = existing.unwrap_or_else(|| {
                new_names += 1;
                ir::UserExternalNameRef::new(caller.params.user_named_funcs().len() + new_names - 1)
            });
            if callee_ref == name {
                return caller_ref;
            }
        }
        name
    };
    let symbol_name = |data: &ir::GlobalValueData| match data {
        ir::GlobalValueData::Symbol {
            name: ir::ExternalName::User(name),
            ..
        } => Some(*name),
        _ => None,
    };
    let needs_renaming = callee
        .global_values
        .values()
        .any(|data| symbol_name(data).is_some_and(|name| renamed(name) != name));
    if !needs_renaming {
        return Cow::Borrowed(callee);
    }
    let mut copy = callee.clone();
    for data in copy.global_values.values_mut() {
        if let ir::GlobalValueData::Symbol {
            name: ir::ExternalName::User(name),
            ..
        } = data
        {
            *name = renamed(*name);
        }
    }
    Cow::Owned(copy)
}

/// Turns every `try_call` of `func` to a defined function that cannot throw into a `call`
/// and a jump to its normal-return block: Cranelift makes every call of a body inlined at
/// a `try_call` one, those the translator had left plain included. The handler blocks
/// nothing else reaches are removed as unreachable code when the function is compiled.
fn demote_try_calls(func: &mut ir::Function, plan: &InlinePlan) {
    let mut demote = Vec::new();
    for block in func.layout.blocks() {
        let Some(inst) = func.layout.last_inst(block) else {
            continue;
        };
        if let InstructionData::TryCall { func_ref, .. } = func.dfg.insts[inst] {
            if plan
                .defined_function(func, func_ref)
                .is_some_and(|callee| !plan.may_throw[callee])
            {
                demote.push((block, inst));
            }
        }
    }
    for (block, inst) in demote {
        let InstructionData::TryCall {
            args,
            func_ref,
            exception,
            ..
        } = func.dfg.insts[inst]
        else {
            unreachable!("collected as a try_call");
        };
        let normal = *func.dfg.exception_tables[exception].normal_return();
        let normal_block = normal.block(&func.dfg.value_lists);
        let normal_args: Vec<ir::BlockArg> = normal.args(&func.dfg.value_lists).collect();
        func.dfg.insts[inst] = InstructionData::Call {
            opcode: Opcode::Call,
            args,
            func_ref,
        };
        func.dfg.make_inst_results(inst, ir::types::INVALID);
        let results = func.dfg.inst_results(inst).to_vec();
        let jump_args: Vec<ir::BlockArg> = normal_args
            .into_iter()
            .map(|arg| match arg {
                ir::BlockArg::TryCallRet(index) => ir::BlockArg::Value(results[index as usize]),
                other => other,
            })
            .collect();
        let location = func.srcloc(inst);
        let mut cursor = FuncCursor::new(func).at_bottom(block);
        cursor.set_srcloc(location);
        cursor.ins().jump(normal_block, &jump_args);
    }
}
