//! The mapping between Cranelift's trap codes and kiln's ABI trap codes. Cranelift's own
//! reserved codes (division, conversion, heap, stack) map to their kiln equivalents; every
//! other kiln code travels as a Cranelift user code with the same number.

use cranelift_codegen::ir;
use kiln_abi::TrapCode;

/// The Cranelift trap code to emit for a kiln trap.
pub fn ir_trap_code(code: TrapCode) -> ir::TrapCode {
    match code {
        TrapCode::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        TrapCode::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        TrapCode::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        TrapCode::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        TrapCode::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// The kiln trap code a Cranelift trap site records, if it is one kiln emits.
pub fn abi_trap_code(code: ir::TrapCode) -> Option<TrapCode> {
    match code {
        ir::TrapCode::STACK_OVERFLOW => Some(TrapCode::StackOverflow),
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => Some(TrapCode::MemoryOutOfBounds),
        ir::TrapCode::INTEGER_OVERFLOW => Some(TrapCode::IntegerOverflow),
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => Some(TrapCode::IntegerDivisionByZero),
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => Some(TrapCode::BadConversionToInteger),
        user => TrapCode::from_u8(user.as_raw().get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trap_code_round_trips() {
        for code in TrapCode::ALL {
            assert_eq!(abi_trap_code(ir_trap_code(code)), Some(code));
        }
    }
}
