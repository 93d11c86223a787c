//! Fuel metering and interruption checks (`CompileOptions::fuel`, `::interruptible`).
//!
//! Fuel: each operator's cost is summed while translating and subtracted from a variable
//! holding the fuel left at every control-flow operator (so the count at any branch, call
//! or merge is exact, and depends only on the wasm, never on the target). The variable is
//! loaded from `VMLimits::fuel` at the function's entry and after every call, and written
//! back before every call and return. Function entries and loop headers trap with "all
//! fuel consumed" when it is negative: a guest runs at most its fuel's worth of operators
//! plus one loop iteration or straight-line stretch.
//!
//! Interruption: function entries and loop headers load the store's epoch counter
//! (`VMLimits::epoch`) and trap with `Interrupt` when it is not zero.
//!
//! Code compiled without either carries none of this.

use super::FuncTranslator;
use crate::abi;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::Variable;
use kiln_abi::TrapCode;
use wasmparser::Operator;

/// A function's fuel and interruption state while it is translated.
pub(crate) struct LimitChecks {
    /// `vmctx.limits`, loaded in the entry block.
    limits: Value,
    /// The fuel left, when metering.
    fuel: Option<Variable>,
    /// Cost of the operators translated since the last subtraction from `fuel`.
    pending: i64,
    /// The address of the epoch counter, when checking for interruption.
    epoch: Option<Value>,
}

/// What an operator costs in fuel: nothing for those that do no work of their own, one
/// for every other.
fn cost(op: &Operator<'_>) -> i64 {
    use Operator as O;
    match op {
        O::Nop
        | O::Drop
        | O::Block { .. }
        | O::Loop { .. }
        | O::End
        | O::Else
        | O::Return
        | O::Unreachable => 0,
        _ => 1,
    }
}

/// Whether control may leave straight-line code at `op` (a branch, a call, a merge): the
/// pending cost is subtracted before it.
fn transfers_control(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Loop { .. }
            | O::If { .. }
            | O::Else
            | O::End
            | O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. }
            | O::Return
            | O::Unreachable
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::Throw { .. }
            | O::ThrowRef
            | O::TryTable { .. }
            | O::Try { .. }
            | O::Catch { .. }
            | O::CatchAll
            | O::Delegate { .. }
            | O::Rethrow { .. }
    )
}

impl FuncTranslator<'_, '_> {
    /// Sets up the checks the module was compiled with and runs them once, in the entry
    /// block.
    pub(super) fn begin_limit_checks(&mut self) {
        let metadata = &self.env.info.metadata;
        if !metadata.fuel && !metadata.interruptible {
            return;
        }
        let limits = abi::limits_pointer(&mut self.builder, self.vmctx);
        let fuel = metadata.fuel.then(|| {
            let fuel = self.builder.declare_var(types::I64);
            let left = abi::load_fuel(&mut self.builder, limits);
            self.builder.def_var(fuel, left);
            fuel
        });
        let epoch = metadata
            .interruptible
            .then(|| abi::epoch_pointer(&mut self.builder, limits));
        self.limit_checks = Some(LimitChecks {
            limits,
            fuel,
            pending: 0,
            epoch,
        });
        self.check_limits();
    }

    /// Accounts for `op`, a reachable operator about to be translated.
    pub(super) fn meter(&mut self, op: &Operator<'_>) {
        let Some(checks) = &mut self.limit_checks else {
            return;
        };
        if checks.fuel.is_none() {
            return;
        }
        checks.pending += cost(op);
        if transfers_control(op) {
            self.consume_pending_fuel();
        }
    }

    /// Subtracts the pending cost from the fuel variable.
    pub(super) fn consume_pending_fuel(&mut self) {
        let Some(LimitChecks {
            fuel: Some(fuel),
            pending,
            ..
        }) = &mut self.limit_checks
        else {
            return;
        };
        let (fuel, cost) = (*fuel, std::mem::take(pending));
        if cost != 0 {
            let left = self.builder.use_var(fuel);
            let left = self.builder.ins().iadd_imm_s(left, -cost);
            self.builder.def_var(fuel, left);
        }
    }

    /// The checks of a function entry or loop header: fuel spent, epoch bumped.
    pub(super) fn check_limits(&mut self) {
        let Some(checks) = &self.limit_checks else {
            return;
        };
        let (fuel, epoch) = (checks.fuel, checks.epoch);
        if let Some(fuel) = fuel {
            let left = self.builder.use_var(fuel);
            let spent = self
                .builder
                .ins()
                .icmp_imm_s(IntCC::SignedLessThan, left, 0);
            self.builder
                .ins()
                .trapnz(spent, crate::traps::ir_trap_code(TrapCode::OutOfFuel));
        }
        if let Some(epoch) = epoch {
            let counter = abi::load_epoch(&mut self.builder, epoch);
            self.builder
                .ins()
                .trapnz(counter, crate::traps::ir_trap_code(TrapCode::Interrupt));
        }
    }

    /// Writes the fuel left back to the store, before a call or a return.
    pub(super) fn save_fuel(&mut self) {
        self.consume_pending_fuel();
        if let Some(LimitChecks {
            limits,
            fuel: Some(fuel),
            ..
        }) = self.limit_checks
        {
            let left = self.builder.use_var(fuel);
            abi::store_fuel(&mut self.builder, limits, left);
        }
    }

    /// Reads the fuel left from the store after a call (the callee spent some; a host
    /// function may have added some).
    pub(super) fn reload_fuel(&mut self) {
        if let Some(LimitChecks {
            limits,
            fuel: Some(fuel),
            ..
        }) = self.limit_checks
        {
            let left = abi::load_fuel(&mut self.builder, limits);
            self.builder.def_var(fuel, left);
        }
    }
}
