//! The canonical ABI against a real instance: a module compiled by kiln with a bump
//! `cabi_realloc` that grows its memory, called the way the host calls a lifted export
//! (`lower_params`, the core call, `lift_results`) through `InstanceMemory`.

use kiln_abi::component::{DefinedType, FuncType, TypeTable, ValType};
use kiln_abi::vmctx::ValRaw;
use kiln_runtime::component::abi::{lift_results, lower_flat, lower_params};
use kiln_runtime::component::{
    AbiError, ComponentTrap, ComponentVal, Context, Handles, InstanceMemory,
};
use kiln_runtime::{
    load_object, CallError, Extern, Func, Instance, Linker, Memory, Store, TrapCode, Val,
};

const GUEST: &str = r#"(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  ;; A bump allocator that grows the memory as it needs; a size of 0xdead traps, a size
  ;; of 0xbac returns an odd pointer.
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $size i32) (result i32)
    (local $ptr i32)
    (if (i32.eq (local.get $size) (i32.const 0xdead)) (then unreachable))
    (if (i32.eq (local.get $size) (i32.const 0xbac)) (then (return (i32.const 1027))))
    (local.set $ptr
      (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (global.set $next (i32.add (local.get $ptr) (local.get $size)))
    (block $done
      (loop $grow
        (br_if $done (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow (i32.const 1)))
        (br $grow)))
    (local.get $ptr))
  ;; sum: func(values: list<u32>) -> u32
  (func (export "sum") (param $ptr i32) (param $len i32) (result i32)
    (local $total i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $total (i32.add (local.get $total) (i32.load (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (local.get $total))
  ;; echo: func(text: string) -> string, its result at a returned pointer
  (func (export "echo") (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (i32.const 16))
)"#;

struct SameHandles;

impl Handles for SameHandles {
    fn lift_own(&mut self, _: u32, handle: u32) -> Result<u32, ComponentTrap> {
        Ok(handle)
    }
    fn lift_borrow(&mut self, _: u32, handle: u32) -> Result<u32, ComponentTrap> {
        Ok(handle)
    }
    fn lower_own(&mut self, _: u32, rep: u32) -> Result<u32, ComponentTrap> {
        Ok(rep)
    }
    fn lower_borrow(&mut self, _: u32, rep: u32) -> Result<u32, ComponentTrap> {
        Ok(rep)
    }
}

struct Guest {
    store: Store,
    instance: Instance,
    memory: Memory,
    realloc: Func,
    types: TypeTable,
}

impl Guest {
    fn new() -> Guest {
        let wasm = wat::parse_str(GUEST).unwrap();
        let object =
            kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).unwrap();
        let module = load_object(&object, "").unwrap();
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let Some(Extern::Memory(memory)) = instance.get_export(&store, "memory") else {
            panic!("no memory")
        };
        let realloc = func(&store, instance, "cabi_realloc");
        let mut types = TypeTable::default();
        types.defined.push(DefinedType::List(ValType::U32));
        let u32s = ValType::Defined(0);
        let one = |ty: ValType, result: ValType| FuncType {
            params: vec![("x".into(), ty)],
            results: vec![result],
        };
        types.funcs.push(one(u32s, ValType::U32));
        types.funcs.push(one(ValType::String, ValType::String));
        Guest {
            store,
            instance,
            memory,
            realloc,
            types,
        }
    }

    /// Calls export `name` of component type `func` with `args`, as a lifted export.
    fn call(
        &mut self,
        name: &str,
        func_type: u32,
        args: &[ComponentVal],
    ) -> Result<Vec<ComponentVal>, AbiError> {
        let core = func(&self.store, self.instance, name);
        let mut handles = SameHandles;
        let mut memory = InstanceMemory::new(&mut self.store, self.memory, Some(self.realloc));
        let flat = {
            let mut cx = Context {
                types: &self.types,
                memory: Some(&mut memory),
                handles: &mut handles,
                hostcall_fuel: u64::MAX,
            };
            lower_params(&mut cx, func_type, args)?
        };
        let core_args: Vec<Val> = flat.iter().map(|v| Val::I32(v.u32() as i32)).collect();
        let results = core
            .call(memory.store(), &core_args)
            .map_err(AbiError::Guest)?;
        let results: Vec<ValRaw> = results
            .iter()
            .map(|v| match v {
                Val::I32(v) => ValRaw::from_u64(u64::from(*v as u32)),
                other => panic!("{other:?}"),
            })
            .collect();
        let mut cx = Context {
            types: &self.types,
            memory: Some(&mut memory),
            handles: &mut handles,
            hostcall_fuel: u64::MAX,
        };
        lift_results(&mut cx, func_type, &results)
    }

    fn lower_string(&mut self, text: &str) -> Result<Vec<ValRaw>, AbiError> {
        let mut handles = SameHandles;
        let mut memory = InstanceMemory::new(&mut self.store, self.memory, Some(self.realloc));
        let mut cx = Context {
            types: &self.types,
            memory: Some(&mut memory),
            handles: &mut handles,
            hostcall_fuel: u64::MAX,
        };
        let mut out = Vec::new();
        lower_flat(
            &mut cx,
            ValType::String,
            &ComponentVal::String(text.into()),
            &mut out,
        )?;
        Ok(out)
    }
}

fn func(store: &Store, instance: Instance, name: &str) -> Func {
    match instance.get_export(store, name) {
        Some(Extern::Func(func)) => func,
        other => panic!("export {name}: {other:?}"),
    }
}

#[test]
fn a_list_larger_than_the_memory_grows_it_through_cabi_realloc() {
    let mut guest = Guest::new();
    let values: Vec<ComponentVal> = (0..40_000).map(ComponentVal::U32).collect();
    let results = guest.call("sum", 0, &[ComponentVal::List(values)]).unwrap();
    let expected = (0..40_000u32).fold(0u32, |a, b| a.wrapping_add(b));
    assert_eq!(results, [ComponentVal::U32(expected)]);
    // 160000 bytes from 1024 on: the memory grew from one page to three.
    assert_eq!(guest.memory.size_pages(&guest.store), 3);
}

#[test]
fn a_string_result_is_read_at_the_returned_pointer() {
    let mut guest = Guest::new();
    let text = ComponentVal::String("über alles ✓".into());
    let results = guest.call("echo", 1, std::slice::from_ref(&text)).unwrap();
    assert_eq!(results, [text]);
}

#[test]
fn a_failing_or_lying_cabi_realloc_is_reported() {
    let mut guest = Guest::new();
    let trapped = guest.lower_string(&"x".repeat(0xdead));
    match trapped {
        Err(AbiError::Guest(CallError::Trap(trap))) => {
            assert_eq!(trap.code, TrapCode::Unreachable)
        }
        other => panic!("{other:?}"),
    }
    let misaligned = guest.lower_string(&"x".repeat(0xbac));
    assert!(
        matches!(misaligned, Ok(ref flat) if flat[0].u32() == 1027),
        "a string needs no alignment: {misaligned:?}"
    );
    // A list of u32 at that odd pointer traps.
    let mut handles = SameHandles;
    let mut memory = InstanceMemory::new(&mut guest.store, guest.memory, Some(guest.realloc));
    let mut cx = Context {
        types: &guest.types,
        memory: Some(&mut memory),
        handles: &mut handles,
        hostcall_fuel: u64::MAX,
    };
    let values = ComponentVal::List(vec![ComponentVal::U32(0); 0xbac / 4]);
    let error = lower_flat(&mut cx, ValType::Defined(0), &values, &mut Vec::new());
    assert_eq!(
        error.unwrap_err().to_string(),
        "cabi_realloc returned 0x403, not aligned to 4 bytes"
    );
}
