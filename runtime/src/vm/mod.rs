//! The VM layer: what compiled code runs on, below the safe API. Nothing here depends on
//! `api/`; the API (and WASI, the command runner, the C interface above it) reaches the VM
//! only through the items this module exports to the crate.
//!
//! - `store.rs`: the store's state (`VMStore`), every entity by index; `instance.rs`: an
//!   instance's context and entities; `instantiate.rs`: instantiation, one function per
//!   phase; `const_expr.rs`: constant expressions.
//! - `call.rs`: calls into functions on raw values and the symbolisation of traps;
//!   `host.rs`: host functions behind `VMHostContext`; `builtins.rs`: the libcalls compiled
//!   code makes through `vmctx.builtins`; `exceptions.rs`: the `throw_ref` builtin, which
//!   unwinds wasm frames to an exception's landing pad.
//! - `mmap.rs`: the one owner of mappings; `memory.rs`: linear memory (reservation, guard,
//!   grow, reuse); `memory_image.rs`: a memory's initial pages mapped from the executable;
//!   `table.rs`: table storage.
//! - `module.rs`: a compiled module's registration (descriptor checks, type interning,
//!   trampolines); `code.rs`: the lock-free PC → module/function/trap registry; `cpu.rs`:
//!   CPU features the code needs.
//! - `traps/`: the guarded call (`mod.rs`), signal handlers and alternate stacks
//!   (`signals.rs`), the wasm stack limit (`stack.rs`), the assembly per architecture.
//! - `loader/` (feature `loader`): maps a relocatable object into the process.
//! - `linked.rs`: the parts an executable links only when its module needs them (the time
//!   limit's timer thread, the bench imports).

/// The runtime's hash maps: a small multiplicative hash ([`FxHasher`]) with no keys
/// instead of std's `RandomState`, whose per-process random keys cost every executable a
/// `getrandom` call at start-up and the code behind it (its `/dev/urandom` fallback), and
/// instead of SipHash with fixed keys, whose rounds were inlined at every lookup and
/// insertion (about 1 KB of a static hello). The keys hashed are indices, addresses and a
/// module's own import names and types, which only the module's author chooses (fixed
/// SipHash keys gave no protection from collisions either), and a module can make its
/// instantiation slow in plainer ways.
pub(crate) type HashMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// rustc's `FxHasher`: each word rotated into the state and multiplied by a constant.
/// Not for keys an attacker picks to collide (see [`HashMap`]).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(value.into());
    }

    fn write_u32(&mut self, value: u32) {
        self.add(value.into());
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // The product's low bits depend only on the word's low bits, which are zero in
        // aligned addresses, and hashbrown picks buckets by the low bits: rotate the
        // well-mixed high bits down (as rustc-hash 2 does).
        self.hash.rotate_left(26)
    }
}

pub(crate) mod builtins;
pub(crate) mod call;
pub(crate) mod code;
pub(crate) mod const_expr;
pub(crate) mod cpu;
pub(crate) mod exceptions;
pub(crate) mod host;
pub(crate) mod instance;
pub(crate) mod instantiate;
pub(crate) mod interrupt;
pub mod linked;
#[cfg(feature = "loader")]
pub(crate) mod loader;
pub(crate) mod memory;
pub(crate) mod memory_image;
pub(crate) mod mmap;
pub(crate) mod module;
pub(crate) mod store;
pub(crate) mod table;
pub(crate) mod traps;
pub(crate) mod unpack;
