//! Exceptions: `throw`, `throw_ref`, `try_table` and the legacy `try`/`catch`/
//! `catch_all`/`delegate`/`rethrow`, and the calls a handler covers.
//!
//! A handler scope ([`HandlerScope`]) is open while the body of a `try_table` or of a
//! legacy `try` is translated. Every wasm call in it becomes a Cranelift `try_call` whose
//! exception table has one `default` entry: the scope's dispatch block, which receives the
//! exception (`exnref`, a pointer to the runtime's exception object) in the first payload
//! register. The runtime's unwinder (`throw_ref` builtin) only asks "does this call site
//! have a landing pad?"; which catch clause applies is decided here, in compiled code, by
//! comparing the exception's tag with the tags of the instance (`vmctx.tags`). A scope
//! whose clauses do not match passes the exception to the next scope out in the same
//! function by a jump, and the outermost one to the callers by calling the `throw_ref`
//! builtin. A `throw` inside a scope jumps straight to its dispatch block: only a throw
//! that leaves the function goes through the runtime.
//!
//! A call that no scope covers is an ordinary `call`, and so is a covered call whose callee
//! cannot throw (`throws.rs`, `compiler/tests/golden/try_table_nothrow_callee.wat`). A
//! covered call that may throw costs nothing on its normal path but the registers: the
//! normal return continues in the next block, the jump to it is elided, but no register
//! survives a `try_call` in the `tail` convention, so values live across it are spilled
//! (see `compiler/tests/golden/try_table_no_throw.wat`).

use super::control::FrameKind;
use super::FuncTranslator;
use crate::abi::{self, ir_type, POINTER};
use crate::error::Result;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem, InstBuilder, SigRef, Value,
};
use kiln_abi::builtins::Builtin;
use kiln_abi::TrapCode;
use wasmparser::{BlockType, Catch, TryTable};

/// An open handler scope: the body of a `try_table` or of a legacy `try`.
pub(crate) struct HandlerScope {
    /// Index in the control stack of the frame that opened it.
    pub frame_index: usize,
    /// Where exceptions thrown in the scope go; takes the exception as its parameter.
    pub dispatch: ir::Block,
    /// Whether anything can reach `dispatch` (a covered call, a throw, an inner scope).
    pub used: bool,
}

/// Where a legacy `try` is.
pub(crate) enum LegacyTry {
    /// In its body, covered by its handler scope.
    Body,
    /// In a `catch` or `catch_all` clause: `exception` is the caught exception (for
    /// `rethrow`); `next_test` tests the next clause (none after `catch_all`).
    Catching {
        exception: Value,
        next_test: Option<ir::Block>,
    },
    /// In a clause that nothing can reach (no call or throw in the body).
    CatchesUnreachable,
    /// Ended by `delegate` to this relative depth (counted without the `try`).
    Delegated(u32),
}

impl FuncTranslator<'_, '_> {
    /// Opens a handler scope for the frame on top of the control stack.
    fn open_handler_scope(&mut self) {
        let dispatch = self.builder.create_block();
        self.builder.append_block_param(dispatch, POINTER);
        // Exception paths go after the function's other code, so that a covered call's
        // normal return falls through.
        self.builder.set_cold_block(dispatch);
        self.handlers.push(HandlerScope {
            frame_index: self.control.len() - 1,
            dispatch,
            used: false,
        });
    }

    /// Emits a direct call, a `try_call` to the innermost scope's dispatch block when one
    /// covers it and the callee `may_throw` (`throws.rs`), and returns its results.
    pub(super) fn emit_call(
        &mut self,
        callee: ir::FuncRef,
        args: &[Value],
        may_throw: bool,
    ) -> Vec<Value> {
        self.save_fuel();
        let Some(dispatch) = self.covering_dispatch(may_throw) else {
            let call = self.builder.ins().call(callee, args);
            self.reload_fuel();
            return self.builder.inst_results(call).to_vec();
        };
        let signature = self.builder.func.dfg.ext_funcs[callee].signature;
        let (table, normal) = self.exception_table(signature, dispatch);
        self.builder.ins().try_call(callee, args, table);
        self.continue_after_try_call(normal)
    }

    /// Emits an indirect call, a `try_call_indirect` when a scope covers it and the callee
    /// `may_throw`.
    pub(super) fn emit_call_indirect(
        &mut self,
        signature: SigRef,
        code: Value,
        args: &[Value],
        may_throw: bool,
    ) -> Vec<Value> {
        self.save_fuel();
        let Some(dispatch) = self.covering_dispatch(may_throw) else {
            let call = self.builder.ins().call_indirect(signature, code, args);
            self.reload_fuel();
            return self.builder.inst_results(call).to_vec();
        };
        let (table, normal) = self.exception_table(signature, dispatch);
        self.builder.ins().try_call_indirect(code, args, table);
        self.continue_after_try_call(normal)
    }

    /// The dispatch block of the innermost scope, marked used, for a call that
    /// `may_throw`; none for a call that cannot throw, which needs no landing pad (and,
    /// when nothing else reaches the scope, leaves its handler out of the code).
    fn covering_dispatch(&mut self, may_throw: bool) -> Option<ir::Block> {
        if !may_throw {
            return None;
        }
        let scope = self.handlers.last_mut()?;
        scope.used = true;
        Some(scope.dispatch)
    }

    /// An exception table for a call of `signature`: the normal return goes to a new block
    /// taking the results, any exception to `dispatch`.
    fn exception_table(
        &mut self,
        signature: SigRef,
        dispatch: ir::Block,
    ) -> (ir::ExceptionTable, ir::Block) {
        let normal = self.builder.create_block();
        let returns = self.builder.func.dfg.signatures[signature].returns.clone();
        for result in &returns {
            self.builder.append_block_param(normal, result.value_type);
        }
        let pool = &mut self.builder.func.dfg.value_lists;
        let normal_call = BlockCall::new(
            normal,
            (0..returns.len() as u32).map(BlockArg::TryCallRet),
            pool,
        );
        let handler = BlockCall::new(dispatch, [BlockArg::TryCallExn(0)], pool);
        let data = ExceptionTableData::new(
            signature,
            normal_call,
            [ExceptionTableItem::Default(handler)],
        );
        let table = self.builder.func.dfg.exception_tables.push(data);
        (table, normal)
    }

    fn continue_after_try_call(&mut self, normal: ir::Block) -> Vec<Value> {
        self.builder.switch_to_block(normal);
        self.builder.seal_block(normal);
        self.reload_fuel();
        self.builder.block_params(normal).to_vec()
    }

    /// Sends `exception` to the innermost scope of the function at or below
    /// `scope_limit` scopes (all of them for `None`), or out of the function.
    fn propagate_exception(&mut self, exception: Value, scope_limit: Option<usize>) {
        // The handler, here or in a caller, reads the fuel left from the store.
        self.save_fuel();
        let limit = scope_limit.unwrap_or(self.handlers.len());
        if let Some(scope) = self.handlers[..limit].last_mut() {
            scope.used = true;
            let dispatch = scope.dispatch;
            self.jump(dispatch, &[exception]);
            return;
        }
        // No handler in this function: the runtime unwinds to a caller's, or returns
        // when the exception reaches the host, and this function traps.
        self.env.call_builtin_raw(
            &mut self.builder,
            self.vmctx,
            Builtin::ThrowRef,
            &[exception],
        );
        self.trap(TrapCode::UncaughtException);
    }

    pub(super) fn translate_throw(&mut self, tag_index: u32) {
        let ty = self.env.info.metadata.tags[tag_index as usize];
        let n_values = self.env.info.metadata.types[ty as usize].params.len();
        let values = self.pop_n(n_values);
        let tag = self
            .builder
            .ins()
            .iconst(ir::types::I32, i64::from(tag_index));
        let call =
            self.env
                .call_builtin_raw(&mut self.builder, self.vmctx, Builtin::ExceptionNew, &[tag]);
        let exception = self.builder.inst_results(call)[0];
        for (index, value) in values.into_iter().enumerate() {
            abi::store_exception_value(&mut self.builder, value, exception, index as u32);
        }
        self.propagate_exception(exception, None);
        self.reachable = false;
    }

    pub(super) fn translate_throw_ref(&mut self) {
        let exception = self.pop();
        self.builder.ins().trapz(
            exception,
            crate::traps::ir_trap_code(TrapCode::NullReference),
        );
        self.propagate_exception(exception, None);
        self.reachable = false;
    }

    pub(super) fn translate_try_table(&mut self, try_table: TryTable) -> Result<()> {
        self.translate_block(try_table.ty)?;
        let frame = self.control.last_mut().expect("just pushed");
        frame.kind = FrameKind::TryTable {
            catches: try_table.catches,
        };
        self.open_handler_scope();
        Ok(())
    }

    /// The end of a `try_table` (called by `translate_end` with the frame popped and the
    /// body's fallthrough emitted): closes its scope and compiles its catch clauses into
    /// the dispatch block, if anything can throw to it.
    pub(super) fn end_try_table(&mut self, catches: &[Catch]) {
        let scope = self.handlers.pop().expect("a try_table opened a scope");
        if !scope.used {
            return;
        }
        self.builder.switch_to_block(scope.dispatch);
        self.builder.seal_block(scope.dispatch);
        // A callee or a throw here spent fuel: the store has what is left.
        self.reload_fuel();
        let exception = self.builder.block_params(scope.dispatch)[0];
        if catches
            .iter()
            .any(|catch| matches!(catch, Catch::One { .. } | Catch::All { .. }))
        {
            self.release_previous_catch();
        }
        for catch in catches {
            let (tag, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let (mut args, next) = match tag {
                Some(tag) => {
                    let (payload, next) = self.enter_if_tag(exception, tag);
                    (payload, Some(next))
                }
                None => (Vec::new(), None),
            };
            if with_ref {
                abi::mark_exception_escaped(&mut self.builder, exception);
                args.push(exception);
            } else {
                // The payload is loaded: nothing can refer to the exception any more.
                self.release_exception(exception);
            }
            let (target, _) = self.branch_target(label);
            self.jump(target, &args);
            match next {
                Some(next) => {
                    self.builder.switch_to_block(next);
                    self.builder.seal_block(next);
                }
                // A catch-all clause takes everything: later clauses never run.
                None => return,
            }
        }
        self.propagate_exception(exception, None);
    }

    /// At the start of a handler whose clauses may catch without a reference: releases
    /// the exception such a clause caught last (a cold call when there is one), so that
    /// at most one waits for release however exceptions are thrown and caught.
    fn release_previous_catch(&mut self) {
        let limits = abi::limits_pointer(&mut self.builder, self.vmctx);
        let previous = abi::load_caught_exception(&mut self.builder, limits);
        let release = self.builder.create_block();
        let next = self.builder.create_block();
        // Handler code, like the blocks of its clauses: out of the way of the code that
        // does not throw.
        self.builder.set_cold_block(release);
        self.builder.set_cold_block(next);
        self.builder.ins().brif(previous, release, &[], next, &[]);
        self.builder.switch_to_block(release);
        self.builder.seal_block(release);
        self.env.call_builtin_raw(
            &mut self.builder,
            self.vmctx,
            Builtin::ExceptionReleaseCaught,
            &[],
        );
        self.builder.ins().jump(next, &[]);
        self.builder.switch_to_block(next);
        self.builder.seal_block(next);
    }

    /// Lets the store reuse `exception`'s memory, which a clause caught without a
    /// reference and is done with: one store into `VMLimits::caught_exception` (no call,
    /// which would cost the registers of values live across it); the runtime releases it
    /// at the next throw, unless an `exnref` of it was made by then.
    pub(super) fn release_exception(&mut self, exception: Value) {
        let limits = abi::limits_pointer(&mut self.builder, self.vmctx);
        abi::store_caught_exception(&mut self.builder, limits, exception);
    }

    /// Continues in a new block taken when `exception`'s tag is `tag`, and returns its
    /// payload there and the block taken otherwise (not yet entered).
    fn enter_if_tag(&mut self, exception: Value, tag: u32) -> (Vec<Value>, ir::Block) {
        let matched = self.builder.create_block();
        let next = self.builder.create_block();
        self.branch_on_tag(exception, tag, matched, next);
        self.builder.switch_to_block(matched);
        self.builder.seal_block(matched);
        (self.load_payload(exception, tag), next)
    }

    fn branch_on_tag(&mut self, exception: Value, tag: u32, matched: ir::Block, next: ir::Block) {
        self.builder.set_cold_block(matched);
        self.builder.set_cold_block(next);
        let thrown = abi::exception_tag(&mut self.builder, exception);
        let expected = self.env.tag_address(&mut self.builder, self.vmctx, tag);
        let same = self.builder.ins().icmp(IntCC::Equal, thrown, expected);
        self.builder.ins().brif(same, matched, &[], next, &[]);
    }

    /// The payload of `exception`, of tag `tag`'s parameter types.
    fn load_payload(&mut self, exception: Value, tag: u32) -> Vec<Value> {
        let ty = self.env.info.metadata.tags[tag as usize];
        let params = self.env.info.metadata.types[ty as usize].params.clone();
        params
            .iter()
            .enumerate()
            .map(|(index, param)| {
                abi::load_exception_value(
                    &mut self.builder,
                    ir_type(*param),
                    exception,
                    index as u32,
                )
            })
            .collect()
    }

    pub(super) fn translate_try(&mut self, block_type: BlockType) -> Result<()> {
        self.translate_block(block_type)?;
        let frame = self.control.last_mut().expect("just pushed");
        frame.kind = FrameKind::Try(LegacyTry::Body);
        self.open_handler_scope();
        Ok(())
    }

    /// `catch tag` (`Some`) or `catch_all` (`None`) of a legacy `try`: ends the previous
    /// part and starts the clause, which the exceptions that reached the dispatch block
    /// and did not match the clauses before enter.
    pub(super) fn translate_catch(&mut self, tag: Option<u32>) -> Result<()> {
        let reachable = self.reachable;
        let frame = self
            .control
            .last_mut()
            .expect("validated: catch inside try");
        if frame.dead {
            return Ok(());
        }
        let (destination, n_results, stack_height) =
            (frame.destination, frame.n_results, frame.stack_height);
        let ending_clause = match frame.kind {
            FrameKind::Try(LegacyTry::Catching { exception, .. }) => Some(exception),
            _ => None,
        };
        if reachable {
            frame.branched_to = true;
            let results = self.peek_n(n_results).to_vec();
            if let Some(exception) = ending_clause {
                self.release_exception(exception);
            }
            self.jump(destination, &results);
        }
        self.stack.truncate(stack_height);
        let frame = self
            .control
            .last_mut()
            .expect("validated: catch inside try");
        let FrameKind::Try(state) = &mut frame.kind else {
            unreachable!("validated: catch closes a try")
        };
        let exception = match std::mem::replace(state, LegacyTry::CatchesUnreachable) {
            LegacyTry::Body => {
                let scope = self.handlers.pop().expect("a try opened a scope");
                if !scope.used {
                    self.reachable = false;
                    return Ok(());
                }
                self.builder.switch_to_block(scope.dispatch);
                self.builder.seal_block(scope.dispatch);
                // A callee or a throw here spent fuel: the store has what is left.
                self.reload_fuel();
                self.release_previous_catch();
                self.builder.block_params(scope.dispatch)[0]
            }
            LegacyTry::Catching {
                exception,
                next_test: Some(next),
            } => {
                self.builder.switch_to_block(next);
                self.builder.seal_block(next);
                exception
            }
            LegacyTry::Catching {
                next_test: None, ..
            }
            | LegacyTry::CatchesUnreachable => {
                self.reachable = false;
                return Ok(());
            }
            LegacyTry::Delegated(_) => unreachable!("validated: delegate ends a try"),
        };
        let next_test = tag.map(|tag| {
            let (payload, next) = self.enter_if_tag(exception, tag);
            self.stack.extend(payload);
            next
        });
        let frame = self
            .control
            .last_mut()
            .expect("validated: catch inside try");
        frame.kind = FrameKind::Try(LegacyTry::Catching {
            exception,
            next_test,
        });
        self.reachable = true;
        Ok(())
    }

    /// `delegate depth`: ends the `try` like `end`; exceptions of its body go to the
    /// handlers of the frame at `depth` (counted once the `try` is closed).
    pub(super) fn translate_delegate(&mut self, relative_depth: u32) {
        if let Some(frame) = self.control.last_mut() {
            if let FrameKind::Try(state) = &mut frame.kind {
                *state = LegacyTry::Delegated(relative_depth);
            }
        }
        self.translate_end();
    }

    /// The end of a legacy `try` (called by `translate_end` with the frame popped and the
    /// last part's fallthrough emitted): exceptions no clause took go on outwards.
    pub(super) fn end_legacy_try(&mut self, state: LegacyTry) {
        match state {
            LegacyTry::Body => {
                // `try ... end` without clauses: the body's exceptions go on outwards.
                let scope = self.handlers.pop().expect("a try opened a scope");
                if scope.used {
                    self.builder.switch_to_block(scope.dispatch);
                    self.builder.seal_block(scope.dispatch);
                    // A callee or a throw here spent fuel: the store has what is left.
                    self.reload_fuel();
                    let exception = self.builder.block_params(scope.dispatch)[0];
                    self.propagate_exception(exception, None);
                }
            }
            LegacyTry::Delegated(depth) => {
                let scope = self.handlers.pop().expect("a try opened a scope");
                if !scope.used {
                    return;
                }
                // The scopes that cover the target frame: those opened by it or outside it.
                let target = (self.control.len() - 1).checked_sub(depth as usize);
                let limit = match target {
                    Some(target) => self
                        .handlers
                        .iter()
                        .rposition(|outer| outer.frame_index <= target)
                        .map_or(0, |position| position + 1),
                    None => 0,
                };
                self.builder.switch_to_block(scope.dispatch);
                self.builder.seal_block(scope.dispatch);
                // A callee or a throw here spent fuel: the store has what is left.
                self.reload_fuel();
                let exception = self.builder.block_params(scope.dispatch)[0];
                self.propagate_exception(exception, Some(limit));
            }
            LegacyTry::Catching {
                exception,
                next_test: Some(next),
            } => {
                self.builder.switch_to_block(next);
                self.builder.seal_block(next);
                self.propagate_exception(exception, None);
            }
            LegacyTry::Catching {
                next_test: None, ..
            }
            | LegacyTry::CatchesUnreachable => {}
        }
    }

    /// `rethrow depth`: throws again the exception caught by the `catch` clause at `depth`.
    pub(super) fn translate_rethrow(&mut self, relative_depth: u32) {
        let index = self.control.len() - 1 - relative_depth as usize;
        match self.control[index].kind {
            FrameKind::Try(LegacyTry::Catching { exception, .. }) => {
                // The clause still holds it: a clause that catches it again must not
                // release it.
                abi::mark_exception_escaped(&mut self.builder, exception);
                self.propagate_exception(exception, None)
            }
            // Validation makes the label a catch clause; one that nothing reaches leaves
            // this code unreachable too.
            _ => self.trap(TrapCode::Unreachable),
        }
        self.reachable = false;
    }
}
