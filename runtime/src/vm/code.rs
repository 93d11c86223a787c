//! The registry of loaded code: for every registered module, where its functions and
//! trampolines lie in memory, which of their instructions may trap, and which wasm
//! instructions their trap sites and calls come from.
//!
//! The signal handler reads this registry, so lookups take no lock and allocate nothing:
//! the registry is an append-only singly linked list of leaked nodes, published with a
//! release store of the list head and read with acquire loads. Registration (rare: once
//! per loaded module) serialises on a mutex.
//!
//! Modules are never unloaded. Their code stays mapped and their node stays in the list for
//! the life of the process: a handle to a function (a `VMFuncRef` in some table, a frame
//! on another thread's stack) can outlive every `Module` value, and proving that no such
//! handle exists would need a tracing scheme kiln does not have. Loading the same module
//! twice is avoided one level up (`Module::from_descriptor` deduplicates descriptors).

use kiln_abi::function_names::{FunctionName, FunctionNames};
use kiln_abi::packed::Packed;
use kiln_abi::trap::{CallSiteEntry, CallSiteTable, TrapEntry, TrapTable};
use kiln_abi::TrapCode;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

/// What a code entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeKind {
    /// Defined function `index` (counting defined functions only).
    Function(u32),
    /// An entry trampoline (host to wasm).
    EntryTrampoline,
    /// An exit trampoline (wasm to host).
    ExitTrampoline,
}

/// One contiguous piece of code: a function or a trampoline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeRange {
    /// Address of the first byte.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// Its trap-table entries, sorted by offset.
    pub traps: TrapTable<'static>,
    /// Its call-site entries, sorted by return offset.
    pub calls: CallSiteTable<'static>,
    /// What it is.
    pub kind: CodeKind,
}

/// Everything the registry knows about one module's code.
#[derive(Debug)]
pub(crate) struct CodeModule {
    /// Lowest address of any range.
    start: usize,
    /// One past the highest address of any range.
    end: usize,
    /// The ranges, sorted by start address, not overlapping.
    ranges: Box<[CodeRange]>,
    /// The module's name (from its name section), for backtraces.
    pub name: Option<&'static str>,
    /// Number of imported functions: defined function `i` is function `n_imported + i`.
    pub n_imported_functions: u32,
    /// Name of every function (imported first), in their compact encoding, perhaps
    /// compressed.
    function_names: Packed<'static>,
    /// Compressed names unpacked: null until a function is first named, then
    /// `function_names.len()` bytes leaked like the module (`vm/unpack.rs`).
    unpacked_names: AtomicPtr<u8>,
}

/// Where a PC lies in registered code.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeLocation {
    /// The module.
    pub module: &'static CodeModule,
    /// The range holding the PC.
    pub range: CodeRange,
    /// Offset of the PC from the start of the range.
    pub offset: usize,
}

impl CodeLocation {
    /// The trap code of the instruction at this location, if it is a trap site.
    pub fn trap_code(&self) -> Option<TrapCode> {
        TrapCode::from_u8(self.trap_entry()?.trap_code)
    }

    /// The trap-table entry of the instruction at this location, if it is a trap site.
    pub fn trap_entry(&self) -> Option<TrapEntry> {
        self.range.traps.find(u32::try_from(self.offset).ok()?)
    }
}

impl CodeRange {
    /// The call-site entry of the call whose return address is `return_offset` bytes into
    /// the range, if there is one.
    pub fn call_site(&self, return_offset: usize) -> Option<CallSiteEntry> {
        self.calls.find(u32::try_from(return_offset).ok()?)
    }
}

impl CodeModule {
    /// Builds a module's entry from its ranges (in any order). Returns `None` when two
    /// ranges overlap.
    pub fn new(
        mut ranges: Vec<CodeRange>,
        name: Option<&'static str>,
        n_imported_functions: u32,
        function_names: Packed<'static>,
    ) -> Option<CodeModule> {
        ranges.sort_unstable_by_key(|range| range.start);
        for pair in ranges.windows(2) {
            if pair[0].start.checked_add(pair[0].len)? > pair[1].start {
                return None;
            }
        }
        let start = ranges.first().map_or(0, |range| range.start);
        let end = ranges.last().map_or(0, |range| range.start + range.len);
        Some(CodeModule {
            start,
            end,
            ranges: ranges.into_boxed_slice(),
            name,
            n_imported_functions,
            function_names,
            unpacked_names: AtomicPtr::new(ptr::null_mut()),
        })
    }

    /// The range containing `pc`, without locking or allocating.
    fn find(&'static self, pc: usize) -> Option<CodeLocation> {
        if pc < self.start || pc >= self.end {
            return None;
        }
        // The last range starting at or before `pc`.
        let after = self.ranges.partition_point(|range| range.start <= pc);
        let range = *self.ranges.get(after.checked_sub(1)?)?;
        let offset = pc - range.start;
        (offset < range.len).then_some(CodeLocation {
            module: self,
            range,
            offset,
        })
    }

    /// Reads the first `budget` bytes of the module's code, one load per cache line, in
    /// address order (the compiler places the functions reachable from the start function
    /// and the exports first, callers before callees).
    ///
    /// Code read from an executable's page cache comes from main memory: the first run of
    /// each function stalls on instruction fetches one miss at a time. One sequential
    /// read brings the same lines into the caches at streaming bandwidth (70 KB in about
    /// 3.5 µs here), which a JIT's freshly written code gets for free; see
    /// `benches/README.md` for the measurements behind this.
    #[cfg(feature = "exe-main")]
    pub fn warm(&self, budget: usize) {
        for address in self.warm_addresses(budget) {
            // SAFETY: the address lies in one of this module's ranges, code that stays
            // mapped readable for the life of the process (modules are never unloaded);
            // reading code as data has no effect beyond the caches.
            unsafe { ptr::read_volatile(address as *const u8) };
        }
    }

    /// The addresses `warm` reads: one in each 64-byte line that the first `budget` bytes
    /// of the ranges touch (the range's first byte, then each line's), in address order.
    #[cfg(any(test, feature = "exe-main"))]
    fn warm_addresses(&self, budget: usize) -> impl Iterator<Item = usize> + '_ {
        const LINE: usize = 64;
        let mut left = budget;
        self.ranges.iter().flat_map(move |range| {
            let len = range.len.min(left);
            left -= len;
            let end = range.start + len;
            let next_line = (range.start / LINE + 1) * LINE;
            let first = (len > 0).then_some(range.start);
            first.into_iter().chain((next_line..end).step_by(LINE))
        })
    }

    /// The name of function `func_index`, if the module gives one. Allocates the first
    /// time when the names are compressed: never called from the signal handler (traps
    /// are symbolized after the guarded call returns, `vm/call.rs`).
    pub fn function_name(&'static self, func_index: u32) -> Option<FunctionName<'static>> {
        FunctionNames::new(self.names()?).get(func_index)
    }

    /// The encoded names: as stored, or unpacked once (`vm/unpack.rs`). `None` when they
    /// do not unpack.
    fn names(&'static self) -> Option<&'static [u8]> {
        match self.function_names.as_plain() {
            Some(plain) => Some(plain),
            None => super::unpack::names(&self.function_names, &self.unpacked_names),
        }
    }
}

struct Node {
    module: CodeModule,
    next: *const Node,
}

/// Head of the list of registered modules (most recent first).
static HEAD: AtomicPtr<Node> = AtomicPtr::new(ptr::null_mut());
/// Serialises registrations.
static REGISTER: Mutex<()> = Mutex::new(());

/// Adds a module's code to the registry, for the life of the process.
pub(crate) fn register(module: CodeModule) -> &'static CodeModule {
    let _guard = REGISTER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let node = Box::leak(Box::new(Node {
        module,
        next: HEAD.load(Ordering::Acquire),
    }));
    // Release: a reader that sees the new head sees the node's contents.
    HEAD.store(node, Ordering::Release);
    &node.module
}

/// Finds the code containing `pc`. Lock-free and allocation-free: safe in a signal handler.
pub(crate) fn lookup(pc: usize) -> Option<CodeLocation> {
    let mut node = HEAD.load(Ordering::Acquire).cast_const();
    while !node.is_null() {
        // SAFETY: nodes are leaked (never freed) and fully initialised before being
        // published with a release store that the acquire load above synchronises with.
        let current: &'static Node = unsafe { &*node };
        if let Some(location) = current.module.find(pc) {
            return Some(location);
        }
        node = current.next;
    }
    None
}

/// Makes freshly written code visible to instruction fetch (aarch64 caches are not
/// coherent for that).
#[cfg(target_arch = "aarch64")]
#[cfg_attr(not(any(test, feature = "loader")), allow(dead_code))]
pub(crate) fn flush_icache(start: usize, len: usize) {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 is allowed at EL0 on Linux.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr) };
    let dcache_line = 4usize << ((ctr >> 16) & 0xf);
    let icache_line = 4usize << (ctr & 0xf);
    let end = start + len;
    let mut address = start & !(dcache_line - 1);
    while address < end {
        // SAFETY: cleaning the data cache of mapped addresses.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) address) };
        address += dcache_line;
    }
    // SAFETY: a barrier.
    unsafe { core::arch::asm!("dsb ish") };
    let mut address = start & !(icache_line - 1);
    while address < end {
        // SAFETY: invalidating the instruction cache of mapped addresses.
        unsafe { core::arch::asm!("ic ivau, {}", in(reg) address) };
        address += icache_line;
    }
    // SAFETY: barriers.
    unsafe { core::arch::asm!("dsb ish", "isb") };
}

#[cfg(not(target_arch = "aarch64"))]
#[cfg_attr(not(any(test, feature = "loader")), allow(dead_code))]
pub(crate) fn flush_icache(_start: usize, _len: usize) {}

/// `entries` encoded as a trap table that lives for the rest of the process (as registered
/// code does), for tests that register hand-made code.
#[cfg(test)]
pub(crate) fn leaked_trap_table(entries: &[TrapEntry]) -> TrapTable<'static> {
    let mut bytes = Vec::new();
    TrapTable::encode(entries, &mut bytes);
    TrapTable::new(Vec::leak(bytes))
}

/// `entries` encoded as a call-site table that lives for the rest of the process, for tests
/// that register hand-made code.
#[cfg(test)]
pub(crate) fn leaked_call_site_table(entries: &[CallSiteEntry]) -> CallSiteTable<'static> {
    let mut bytes = Vec::new();
    CallSiteTable::encode(entries, 0, &mut bytes);
    CallSiteTable::new(Vec::leak(bytes), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    static TRAPS: [TrapEntry; 2] = [
        TrapEntry {
            code_offset: 2,
            wasm_offset: 0x40,
            trap_code: TrapCode::Unreachable as u8,
        },
        TrapEntry {
            code_offset: 7,
            wasm_offset: 0x45,
            trap_code: TrapCode::IntegerDivisionByZero as u8,
        },
    ];

    static CALLS: [CallSiteEntry; 1] = [CallSiteEntry {
        return_offset: 12,
        wasm_offset: 0x48,
        handler_offset: kiln_abi::trap::NO_HANDLER,
        frame_offset: 0,
    }];

    fn range(start: usize, len: usize, traps: &'static [TrapEntry]) -> CodeRange {
        CodeRange {
            start,
            len,
            traps: leaked_trap_table(traps),
            calls: CallSiteTable::EMPTY,
            kind: CodeKind::Function(0),
        }
    }

    #[test]
    fn warming_reads_each_range_in_address_order_within_the_budget() {
        let base = 0x7fff_0000_0000usize;
        let module = CodeModule::new(
            vec![
                range(base + 256, 100, &[]),
                range(base, 130, &[]),
                range(base + 432, 20, &[]),
            ],
            None,
            0,
            Packed::default(),
        )
        .unwrap();
        let all: Vec<usize> = module.warm_addresses(usize::MAX).collect();
        // The last range starts 16 bytes before a line and ends in the next one.
        assert_eq!(
            all,
            [
                base,
                base + 64,
                base + 128,
                base + 256,
                base + 320,
                base + 432,
                base + 448
            ]
            .to_vec()
        );
        let some: Vec<usize> = module.warm_addresses(150).collect();
        assert_eq!(some, [base, base + 64, base + 128, base + 256].to_vec());
        assert_eq!(module.warm_addresses(0).count(), 0);
    }

    #[test]
    fn lookup_finds_ranges_and_trap_sites() {
        let base = 0x7fff_0000_0000usize;
        let module = CodeModule::new(
            vec![range(base + 32, 16, &[]), range(base, 16, &TRAPS)],
            Some("m"),
            0,
            Packed::default(),
        )
        .unwrap();
        register(module);
        let check = |pc: usize, expected: Option<Option<TrapCode>>| {
            assert_eq!(
                lookup(pc).map(|location| location.trap_code()),
                expected,
                "pc {pc:#x}"
            );
        };
        check(base + 2, Some(Some(TrapCode::Unreachable)));
        check(base + 7, Some(Some(TrapCode::IntegerDivisionByZero)));
        check(base + 3, Some(None));
        check(base + 16, None);
        check(base + 40, Some(None));
        check(base + 48, None);
        check(base - 1, None);
    }

    #[test]
    fn trap_sites_and_return_addresses_have_wasm_offsets() {
        let base = 0x7ffe_0000_0000usize;
        let module = CodeModule::new(
            vec![CodeRange {
                calls: leaked_call_site_table(&CALLS),
                ..range(base, 16, &TRAPS)
            }],
            None,
            0,
            Packed::default(),
        )
        .unwrap();
        register(module);
        let location = lookup(base + 7).unwrap();
        assert_eq!(
            location.trap_entry().and_then(|t| t.wasm_offset()),
            Some(0x45)
        );
        assert!(location.range.call_site(7).is_none());
        let location = lookup(base + 11).unwrap();
        assert!(location.trap_entry().is_none());
        assert_eq!(
            location.range.call_site(12).and_then(|c| c.wasm_offset()),
            Some(0x48)
        );
    }

    #[test]
    fn overlapping_ranges_are_refused() {
        assert!(CodeModule::new(
            vec![range(0, 16, &[]), range(8, 16, &[])],
            None,
            0,
            Packed::default()
        )
        .is_none());
    }
}
