//! Code placement: where each function goes in `.text`, decided in one place.
//!
//! - Order: callers before their callees, depth first along the static call graph from
//!   the module's entry points, so the code one call runs is close together. A run of a
//!   short benchmark (or a short-lived program) executes code straight from the page
//!   cache, not from the CPU caches a JIT has just written it through; contiguous code
//!   touches fewer pages and lets the prefetcher stream it.
//! - Padding: every function starts on a 64-byte cache line, and where Cranelift recorded
//!   the final code's blocks (x86_64 at `--opt-level speed`, see `isa::build_isa`) it is
//!   padded so that its innermost loop starts a line (see [`loop_header`] for why).
//!
//! - With a profile (`--profile-use`, `profile.rs`): the hot functions come first, then
//!   the other functions entered at least once, each in call-graph order among themselves
//!   (hottest root first), then the trampolines, then the functions never entered, in
//!   call-graph order too and without padding: cold code is packed, so the hot code of a
//!   program shares as few pages and lines with it as possible.
//!
//! Only the placement changes: the descriptor table, the trap table and the symbols still
//! name every function by its index (a symbol sits after its padding), and the runtime
//! sorts code ranges by address itself.

use crate::module_info::ModuleInfo;
use crate::pipeline::CompiledCode;
use crate::profile::Profile;
use cranelift_module::{FuncId, ModuleRelocTarget};
use kiln_abi::metadata::ExternKind;
use std::collections::HashMap;

/// Code is laid out in cache lines of this many bytes: `bytes` of every function start on
/// one.
const CACHE_LINE: u32 = 64;

/// Fills the padding in front of a function (x86_64 `int3`; padding is only added there).
const PADDING_BYTE: u8 = 0xcc;

/// Places every code entry: pads each so that its innermost loop starts a cache line
/// (with a profile, only those entered), and returns the order in which to put `code`
/// (every code entry in descriptor order: the defined functions, then the trampolines) in
/// `.text`, starting from the entry points of `info`.
pub fn place(
    info: &ModuleInfo<'_>,
    code: &mut [(FuncId, CompiledCode)],
    profile: Option<&Profile>,
) -> Vec<usize> {
    let n_defined = info.bodies.len();
    let cold = |entry: usize| profile.is_some_and(|p| entry < n_defined && !p.entered(entry));
    for (entry, (_, compiled)) in code.iter_mut().enumerate() {
        if !cold(entry) {
            pad_for_innermost_loop(compiled);
        }
    }
    let entry_of: HashMap<FuncId, usize> = code
        .iter()
        .enumerate()
        .map(|(i, (func_id, _))| (*func_id, i))
        .collect();
    let direct_callees = |i: usize| -> Vec<usize> {
        code[i]
            .1
            .relocs
            .iter()
            .filter_map(|reloc| match reloc.name {
                ModuleRelocTarget::User { namespace: 0, .. } => {
                    entry_of.get(&FuncId::from_name(&reloc.name)).copied()
                }
                _ => None,
            })
            .collect()
    };
    let roots = entry_points(info);
    match profile {
        None => order(code.len(), &roots, direct_callees),
        Some(profile) => profile_order(code.len(), n_defined, &roots, direct_callees, profile),
    }
}

/// The order of `n` code entries (the first `n_defined` the defined functions) with a
/// profile, in tiers: the hot functions (entered at least [`Profile::hot_count`] times),
/// then the other entered ones, then the trampolines, then the functions never entered.
/// Each tier but the last is placed depth first from its roots (the module's entry points
/// of the tier, hottest first, then its other functions, hottest first) along the calls
/// into functions of the tier, in the order of the code; the last in the order [`order`]
/// gives.
pub fn profile_order(
    n: usize,
    n_defined: usize,
    roots: &[usize],
    callees: impl Fn(usize) -> Vec<usize>,
    profile: &Profile,
) -> Vec<usize> {
    let hot_count = profile.hot_count();
    let mut placed = vec![false; n];
    let mut result = Vec::with_capacity(n);
    for least in [hot_count, 1] {
        let in_tier = |entry: usize| entry < n_defined && profile.count(entry) >= least;
        // Stable sorts: among equal counts, the order of the roots or of the code stays.
        let hottest_first = |mut entries: Vec<usize>| {
            entries.retain(|&entry| in_tier(entry));
            entries.sort_by_key(|&entry| std::cmp::Reverse(profile.count(entry)));
            entries
        };
        let tier_roots = hottest_first(roots.to_vec())
            .into_iter()
            .chain(hottest_first((0..n_defined).collect()));
        let tier_callees = |entry: usize| {
            let mut callees = callees(entry);
            callees.retain(|&callee| in_tier(callee));
            callees
        };
        walk(tier_roots, tier_callees, &mut placed, &mut result);
    }
    result.extend(n_defined..n);
    let cold = order(n, roots, &callees)
        .into_iter()
        .filter(|&entry| entry < n_defined && !placed[entry]);
    result.extend(cold.collect::<Vec<_>>());
    result
}

/// Entry points, as indices of the code entries: the start function, then the exported
/// functions.
fn entry_points(info: &ModuleInfo<'_>) -> Vec<usize> {
    let n_imported = info.n_imported_funcs();
    info.metadata
        .start
        .into_iter()
        .chain(
            info.metadata
                .exports
                .iter()
                .filter(|export| export.kind == ExternKind::Func)
                .map(|export| export.index),
        )
        .filter_map(|index| index.checked_sub(n_imported))
        .map(|defined| defined as usize)
        .collect()
}

/// The order in which to place `n` code entries. `callees(i)` lists the entries entry `i`
/// calls directly, in the order its code calls them; `roots` are the entries to place
/// first (the start function, then the exports). Every entry appears exactly once: those
/// no root reaches follow in index order, each with what it reaches.
pub fn order(n: usize, roots: &[usize], callees: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    walk(
        roots.iter().copied().chain(0..n),
        callees,
        &mut placed,
        &mut order,
    );
    order
}

/// Appends to `order`, depth first from each of `roots` in turn, every entry not yet
/// `placed` that the walk reaches through `callees` (each visited in the order given), and
/// marks it placed. Entries out of range are ignored.
fn walk(
    roots: impl IntoIterator<Item = usize>,
    callees: impl Fn(usize) -> Vec<usize>,
    placed: &mut [bool],
    order: &mut Vec<usize>,
) {
    // Pre-order depth-first walk with an explicit stack: call chains can be thousands of
    // functions deep.
    let mut stack = Vec::new();
    for root in roots {
        stack.push(root);
        while let Some(entry) = stack.pop() {
            if entry >= placed.len() || placed[entry] {
                continue;
            }
            placed[entry] = true;
            order.push(entry);
            // Reversed, so that the first callee is visited (and placed) first.
            stack.extend(callees(entry).into_iter().rev());
        }
    }
}

/// Puts padding in front of `code` so that its innermost loop starts a cache line, and
/// aligns it to one.
fn pad_for_innermost_loop(code: &mut CompiledCode) {
    // The function's own alignment (16 for vector constants, say) must hold at its entry.
    let code_alignment = code.alignment as u32;
    let entry = loop_header(&code.block_starts, &code.block_edges)
        .map(|header| entry_padding(header, code_alignment))
        .unwrap_or(0);
    code.bytes
        .splice(0..0, std::iter::repeat_n(PADDING_BYTE, entry as usize));
    for reloc in &mut code.relocs {
        reloc.offset += entry;
    }
    code.entry = entry;
    code.alignment = u64::from(code_alignment.max(CACHE_LINE));
}

/// The offset of the loop whose header should start a cache line: of the loops in the
/// final code (back edges), the most deeply nested, then the shortest, then the first.
/// `None` without loops, or when Cranelift recorded no block offsets (it does for x86_64
/// at `--opt-level speed`, see `isa::build_isa`).
///
/// Why: the front end of x86_64 cores fetches and caches decoded instructions per aligned
/// 32- or 64-byte window, so where a hot loop falls within a line decides how many
/// windows each iteration needs. Measured on shootout-sieve (AMD EPYC with AVX-512), its
/// inner loop took 182 ms starting a line, 205 to 208 ms starting at byte 10 or 16, and
/// 255 to 271 ms starting at byte 18 or later; the offset of the line in the page did not
/// matter. Cranelift cannot align blocks inside a function, so kiln places the whole
/// function: one whose chosen loop is at offset h starts (64 - h) mod 64 bytes into its
/// line, the padding in front of its symbol.
fn loop_header(bb_starts: &[u32], bb_edges: &[(u32, u32)]) -> Option<u32> {
    // Each loop as [header, end of its last block): one per header, the farthest back edge.
    let mut loops: Vec<(u32, u32)> = Vec::new();
    for &(from, to) in bb_edges {
        if to > from {
            continue;
        }
        let end = bb_starts
            .iter()
            .copied()
            .filter(|&start| start > from)
            .min()
            .unwrap_or(u32::MAX);
        match loops.iter_mut().find(|(header, _)| *header == to) {
            Some(existing) => existing.1 = existing.1.max(end),
            None => loops.push((to, end)),
        }
    }
    let depth = |&(header, end): &(u32, u32)| {
        loops
            .iter()
            .filter(|&&(outer_header, outer_end)| outer_header <= header && end <= outer_end)
            .count()
    };
    loops
        .iter()
        .max_by_key(|&&lp| {
            let (header, end) = lp;
            (
                depth(&lp),
                std::cmp::Reverse(end - header),
                std::cmp::Reverse(header),
            )
        })
        .map(|&(header, _)| header)
}

/// Padding before a function's entry that puts offset `header` of its code at the start
/// of a cache line, or as soon after as the code's own `alignment` allows.
fn entry_padding(header: u32, alignment: u32) -> u32 {
    let wanted = (CACHE_LINE - header % CACHE_LINE) % CACHE_LINE;
    wanted.next_multiple_of(alignment.max(1)) % CACHE_LINE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: usize, roots: &[usize], calls: &[(usize, &[usize])], expected: &[usize]) {
        let callees = |entry: usize| {
            calls
                .iter()
                .find(|(caller, _)| *caller == entry)
                .map_or(Vec::new(), |(_, callees)| callees.to_vec())
        };
        assert_eq!(order(n, roots, callees), expected);
    }

    #[test]
    fn no_calls_keep_index_order() {
        check(3, &[], &[], &[0, 1, 2]);
    }

    #[test]
    fn callees_follow_their_caller_depth_first() {
        // 4 calls 2 then 0; 2 calls 3; 0 calls 3 again (already placed).
        check(
            5,
            &[4],
            &[(4, &[2, 0]), (2, &[3]), (0, &[3])],
            &[4, 2, 3, 0, 1],
        );
    }

    #[test]
    fn recursion_and_out_of_range_entries_are_harmless() {
        check(2, &[1, 7], &[(1, &[1, 0, 9]), (0, &[1])], &[1, 0]);
    }

    #[test]
    fn with_a_profile_entered_functions_come_first_hottest_first() {
        // Defined 0..5, trampolines 5 and 6. Root 4 (entered once) calls 0 (never
        // entered), 2 (entered 10 times) and 1 (entered 100 times); 2 calls 3 (never).
        // Function 0 calls 3. The hot tier (2 entries or more) first, hottest first: 1,
        // then 2; then the root, entered once; the trampolines; the cold functions.
        let profile = Profile::new([0; 32], vec![0, 100, 10, 0, 1]);
        let calls: &[(usize, &[usize])] = &[(4, &[0, 2, 1]), (2, &[3]), (0, &[3])];
        let callees = |entry: usize| {
            calls
                .iter()
                .find(|(caller, _)| *caller == entry)
                .map_or(Vec::new(), |(_, callees)| callees.to_vec())
        };
        assert_eq!(
            profile_order(7, 5, &[4], callees, &profile),
            [1, 2, 4, 5, 6, 0, 3]
        );
        // The hottest root first; an entered function no root reaches follows what the
        // roots reach, before the cold ones.
        let profile = Profile::new([0; 32], vec![5, 0, 7, 0, 9]);
        assert_eq!(
            profile_order(5, 5, &[0, 4], |_| Vec::new(), &profile),
            [4, 0, 2, 1, 3]
        );
    }

    #[test]
    fn code_without_back_edges_has_no_loop() {
        assert_eq!(
            loop_header(&[0, 16, 32], &[(0, 16), (0, 32), (16, 32)]),
            None
        );
    }

    #[test]
    fn the_innermost_loop_is_chosen() {
        // 0x00 entry, 0x10 outer header, 0x30 inner header, 0x50 outer latch, 0x80 exit.
        let starts = [0x00, 0x10, 0x30, 0x50, 0x80];
        let edges = [
            (0x00, 0x10),
            (0x10, 0x30),
            (0x30, 0x30), // inner loop: one block branching to itself
            (0x30, 0x50),
            (0x50, 0x10), // outer back edge
            (0x50, 0x80),
        ];
        assert_eq!(loop_header(&starts, &edges), Some(0x30));
    }

    #[test]
    fn of_sibling_loops_the_shortest_is_chosen() {
        // Two loops at the same depth: [0x10, 0x60) and [0x60, 0x70).
        let starts = [0x00, 0x10, 0x40, 0x60, 0x70];
        let edges = [
            (0x40, 0x10),
            (0x10, 0x40),
            (0x40, 0x60),
            (0x60, 0x60),
            (0x60, 0x70),
        ];
        assert_eq!(loop_header(&starts, &edges), Some(0x60));
    }

    #[test]
    fn padding_puts_the_header_on_a_line_within_the_code_alignment() {
        assert_eq!(entry_padding(0, 1), 0);
        assert_eq!(entry_padding(64, 1), 0);
        assert_eq!(entry_padding(0xca, 1), 54); // shootout-sieve's inner loop
        assert_eq!(entry_padding(0xca, 2), 54);
        // 16-byte alignment: 64 bytes would be needed, so the header stays 10 bytes in.
        assert_eq!(entry_padding(0xca, 16), 0);
        assert_eq!(entry_padding(0x28, 16), 32); // header at 0x48: 8 bytes into a line
        assert_eq!(entry_padding(5, 128), 0);
    }
}
