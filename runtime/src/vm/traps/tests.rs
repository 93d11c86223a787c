//! Tests of the guarded call and the signal handler with hand-assembled machine code.

use super::*;
use crate::vm::code::{self, CodeKind, CodeModule, CodeRange};
use crate::vm::mmap::{page_size, Mmap, Protection};
use kiln_abi::trap::TrapEntry;

/// Maps `bytes` as executable code (leaked, like all registered code) and registers it as
/// one function with `traps`.
fn load_function(bytes: &[u8], traps: &'static [TrapEntry]) -> usize {
    let page = page_size();
    let mut mapping = Mmap::accessible(page).unwrap();
    // SAFETY: the page is ours and read-write.
    unsafe { mapping.slice_mut(0, bytes.len()) }.copy_from_slice(bytes);
    mapping.protect(0, page, Protection::ReadExecute).unwrap();
    code::flush_icache(mapping.as_ptr() as usize, bytes.len());
    // Registered code stays mapped for the life of the process.
    let (start, _) = mapping.into_raw();
    let range = CodeRange {
        start: start as usize,
        len: bytes.len(),
        traps: code::leaked_trap_table(traps),
        calls: kiln_abi::trap::CallSiteTable::EMPTY,
        kind: CodeKind::Function(0),
    };
    let names = kiln_abi::function_names::FunctionNames::encode(&["", "", "f"]).leak();
    let names = kiln_abi::packed::Packed::plain(names);
    code::register(CodeModule::new(vec![range], Some("handmade"), 2, names).unwrap());
    start as usize
}

#[cfg(target_arch = "x86_64")]
mod machine_code {
    /// `push rbp; mov rbp, rsp; ud2`
    pub const UD2: &[u8] = &[0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b];
    pub const UD2_OFFSET: u32 = 4;
    /// `push rbp; mov rbp, rsp; mov al, [rdi]; pop rbp; ret`
    pub const LOAD: &[u8] = &[0x55, 0x48, 0x89, 0xe5, 0x8a, 0x07, 0x5d, 0xc3];
    pub const LOAD_OFFSET: u32 = 4;
}

#[cfg(target_arch = "aarch64")]
mod machine_code {
    /// `stp x29, x30, [sp, #-16]!; mov x29, sp; udf #0`
    pub const UD2: &[u8] = &[0xfd, 0x7b, 0xbf, 0xa9, 0xfd, 0x03, 0x00, 0x91, 0, 0, 0, 0];
    pub const UD2_OFFSET: u32 = 8;
    /// `stp x29, x30, [sp, #-16]!; mov x29, sp; ldrb w0, [x0]; ldp x29, x30, [sp], #16; ret`
    pub const LOAD: &[u8] = &[
        0xfd, 0x7b, 0xbf, 0xa9, 0xfd, 0x03, 0x00, 0x91, 0x00, 0x00, 0x40, 0x39, 0xfd, 0x7b, 0xc1,
        0xa8, 0xc0, 0x03, 0x5f, 0xd6,
    ];
    pub const LOAD_OFFSET: u32 = 8;
}

static UD2_TRAPS: [TrapEntry; 1] = [TrapEntry {
    code_offset: machine_code::UD2_OFFSET,
    wasm_offset: 0x2a,
    trap_code: TrapCode::Unreachable as u8,
}];
static LOAD_TRAPS: [TrapEntry; 1] = [TrapEntry {
    code_offset: machine_code::LOAD_OFFSET,
    wasm_offset: 0x2b,
    trap_code: TrapCode::MemoryOutOfBounds as u8,
}];

fn call(function: usize, arg: usize) -> Result<(), CaughtTrap> {
    let mut limits = VMLimits::default();
    // SAFETY: `function` is hand-assembled code with the C calling convention taking one
    // pointer argument; the closure owns nothing.
    unsafe {
        let function: extern "C" fn(usize) -> u8 = std::mem::transmute(function);
        call_guarded(&mut limits, 1 << 20, &mut || {
            std::hint::black_box(function(arg));
        })
    }
}

#[test]
fn ud2_becomes_a_trap_repeatedly_and_on_other_threads() {
    let function = load_function(machine_code::UD2, &UD2_TRAPS);
    for _ in 0..2 {
        let trap = call(function, 0).unwrap_err();
        assert_eq!(trap.code, TrapCode::Unreachable);
        assert_eq!(
            trap.frames,
            vec![function + machine_code::UD2_OFFSET as usize]
        );
        let symbolized = crate::vm::call::symbolize(trap);
        assert_eq!(symbolized.backtrace[0].func_index, 2);
        assert_eq!(symbolized.backtrace[0].func_name.as_deref(), Some("f"));
        assert_eq!(symbolized.backtrace[0].wasm_offset, Some(0x2a));
    }
    std::thread::spawn(move || {
        let trap = call(function, 0).unwrap_err();
        assert_eq!(trap.code, TrapCode::Unreachable);
    })
    .join()
    .unwrap();
}

#[test]
fn guard_page_access_becomes_a_trap() {
    use crate::vm::memory::LinearMemory;
    use kiln_abi::metadata::{MemorySettings, MemoryType};
    let function = load_function(machine_code::LOAD, &LOAD_TRAPS);
    let ty = MemoryType {
        min_pages: 1,
        max_pages: None,
        memory64: false,
        shared: false,
    };
    let mut memory = LinearMemory::new(ty, MemorySettings::DEFAULT).unwrap();
    let base = memory.base() as usize;
    assert!(call(function, base + 65535).is_ok());
    let trap = call(function, base + 65536).unwrap_err();
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    // After growing, the same address is accessible.
    memory.grow(1).unwrap();
    assert!(call(function, base + 65536).is_ok());
    // Far into the guard region too.
    let trap = call(function, base + (5usize << 30)).unwrap_err();
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
}

#[test]
fn nested_guarded_calls_restore_the_outer_guard() {
    let function = load_function(machine_code::UD2, &UD2_TRAPS);
    let mut limits = VMLimits::default();
    let mut inner_result = None;
    // SAFETY: the closures own nothing that needs dropping.
    let outer = unsafe {
        call_guarded(&mut limits, 1 << 20, &mut || {
            inner_result = Some(call(function, 0).map_err(|trap| trap.code));
        })
    };
    assert!(outer.is_ok());
    assert_eq!(inner_result, Some(Err(TrapCode::Unreachable)));
    assert_eq!(
        limits.stack_limit, 0,
        "the limit is restored after the call"
    );
}

#[test]
fn stack_limit_is_below_the_stack_pointer() {
    let mut limits = VMLimits::default();
    let mut seen = 0;
    let limits_ptr: *mut VMLimits = &mut limits;
    // SAFETY: the closure owns nothing; it reads the limit through the raw pointer.
    unsafe {
        call_guarded(limits_ptr, 64 * 1024, &mut || {
            seen = (*limits_ptr).stack_limit
        })
        .unwrap();
    }
    let sp = stack::current_sp();
    assert!(
        seen < sp && seen + 64 * 1024 + 4096 >= sp,
        "limit {seen:#x}, sp {sp:#x}"
    );
}

/// Run by `host_faults_are_not_traps` in a child process: a fault in Rust code inside a
/// guarded call must kill the process, not become a trap.
fn crash_in_host_code() {
    let mut limits = VMLimits::default();
    // SAFETY: deliberately faulting, to test the host-crash path.
    let _ = unsafe {
        call_guarded(&mut limits, 1 << 20, &mut || {
            std::hint::black_box(std::ptr::read_volatile(std::hint::black_box(
                8 as *const u8,
            )));
        })
    };
    std::process::exit(0);
}

#[test]
fn host_faults_are_not_traps() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("KILN_TRAPS_CRASH_CHILD").is_some() {
        crash_in_host_code();
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "vm::traps::tests::host_faults_are_not_traps",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KILN_TRAPS_CRASH_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSEGV),
        "status {:?}, stderr {stderr}",
        output.status
    );
    assert!(
        stderr.contains("kiln: host crash: signal 11 at pc 0x"),
        "{stderr}"
    );
}
