//! Trampolines between the host's calling convention and wasm's, one pair per function
//! type (see "Calling conventions" in ARCHITECTURE.md):
//!
//! - the entry trampoline, `extern "C" fn(wasm_call, callee_vmctx, caller_vmctx, *mut
//!   ValRaw)`, lets the runtime call any wasm function of the type with its arguments in
//!   an array, results written back to the array;
//! - the exit trampoline has the wasm signature of the type and stands in as the
//!   `wasm_call` of a host function: it spills the arguments to a `ValRaw` array on its
//!   stack and calls the host's `array_call`, trapping with `HostUnwind` if the host asks.

use crate::abi::{self, ir_type, wasm_signature, POINTER};
use cranelift_codegen::ir::{self, types, AbiParam, InstBuilder, Signature};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_abi::metadata::FuncType;
use kiln_abi::TrapCode;

/// The entry trampoline for functions of type `ty`.
pub fn entry_trampoline(
    ty: &FuncType,
    config: TargetFrontendConfig,
    name: ir::UserFuncName,
) -> ir::Function {
    let mut signature = Signature::new(config.default_call_conv);
    signature.params.extend([AbiParam::new(POINTER); 4]);
    let mut func = ir::Function::with_name_signature(name, signature);
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let &[wasm_call, callee_vmctx, caller_vmctx, values] = builder.block_params(block) else {
        unreachable!("four parameters were declared")
    };
    let params: Vec<_> = (ty.params.iter().enumerate())
        .map(|(i, param)| abi::load_valraw(&mut builder, ir_type(*param), values, i))
        .collect();
    let args = abi::wasm_call_args(callee_vmctx, &params, caller_vmctx);
    let wasm_signature = builder.import_signature(wasm_signature(ty));
    let call = builder
        .ins()
        .call_indirect(wasm_signature, wasm_call, &args);
    let results = builder.inst_results(call).to_vec();
    for (i, result) in results.into_iter().enumerate() {
        abi::store_valraw(&mut builder, result, values, i);
    }
    builder.ins().return_(&[]);
    builder.finalize(config);
    func
}

/// The exit trampoline for host functions of type `ty`.
pub fn exit_trampoline(
    ty: &FuncType,
    config: TargetFrontendConfig,
    name: ir::UserFuncName,
) -> ir::Function {
    let mut func = ir::Function::with_name_signature(name, wasm_signature(ty));
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let params = builder.block_params(block).to_vec();
    let (callee_vmctx, caller_vmctx) = (params[0], params[params.len() - 1]);
    let len = ty.params.len().max(ty.results.len()).max(1) as u32;
    let values = abi::stack_valraw_array(&mut builder, len);
    for (i, param) in params[1..params.len() - 1].iter().enumerate() {
        abi::store_valraw(&mut builder, *param, values, i);
    }
    let array_call = abi::load_host_array_call(&mut builder, callee_vmctx);
    let mut host_signature = Signature::new(config.default_call_conv);
    host_signature.params.extend([AbiParam::new(POINTER); 4]);
    host_signature.returns.push(AbiParam::new(types::I32));
    let host_signature = builder.import_signature(host_signature);
    let len = builder.ins().iconst(POINTER, i64::from(len));
    let call = builder.ins().call_indirect(
        host_signature,
        array_call,
        &[callee_vmctx, caller_vmctx, values, len],
    );
    let status = builder.inst_results(call)[0];
    builder
        .ins()
        .trapnz(status, crate::traps::ir_trap_code(TrapCode::HostUnwind));
    let mut results = Vec::new();
    for (i, result) in ty.results.iter().enumerate() {
        results.push(abi::load_valraw(&mut builder, ir_type(*result), values, i));
    }
    builder.ins().return_(&results);
    builder.finalize(config);
    func
}
