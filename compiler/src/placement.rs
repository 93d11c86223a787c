//! Code placement: where each function goes in `.text`, decided in one place.
//!
//! - Order: callers before their callees, depth first along the static call graph from
//!   the module's entry points, so the code one call runs is close together. A run of a
//!   short benchmark (or a short-lived program) executes code straight from the page
//!   cache, not from the CPU caches a JIT has just written it through; contiguous code
//!   touches fewer pages and lets the prefetcher stream it.
//! - Padding: at `--opt-level speed`, where Cranelift recorded the final code's blocks
//!   (x86_64, see `isa::build_isa`), a function with a loop is padded so that its innermost
//!   loop starts a 64-byte cache line (see [`loop_header`] for why). The padding is
//!   measured from where the function falls in `.text` (the section starts a line), so a
//!   function costs what its loop needs, 32 bytes on average, and no more. Every other
//!   function starts a line at `--opt-level speed` (or an earlier 16-byte boundary from
//!   which it takes no more lines) and a 16-byte boundary otherwise; on
//!   aarch64 every function starts a 16-byte boundary ([`function_alignment`]). Where
//!   every function starts a line, small functions fill the padding in front of others
//!   ([`Fillers`]), each within one line.
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

use crate::isa::OptLevel;
use crate::module_info::ModuleInfo;
use crate::pipeline::{CodeEntries, CompiledCode};
use crate::profile::Profile;
use cranelift_module::{FuncId, ModuleRelocTarget};
use kiln_abi::metadata::ExternKind;
use std::collections::HashMap;
use target_lexicon::Architecture;

/// Code is laid out in cache lines of this many bytes.
const CACHE_LINE: u64 = 64;

/// Fills the padding in front of a function (x86_64 `int3`; padding is only added there).
const PADDING_BYTE: u8 = 0xcc;

/// Where a function without loop padding starts at `opt_level` on `architecture`.
///
/// x86_64: on a cache line when the code is compiled for speed alone (16 bytes, what C
/// compilers give functions there, measured 1.015x slower on call-heavy workloads:
/// benches/README.md, "Session 18"), or on the 16-byte boundary before that line where
/// the function takes no more lines from there ([`plan`]); on a 16-byte boundary when
/// size matters too.
///
/// aarch64: on a 16-byte boundary at every level, as native compilers place functions
/// there (clang 14 `-O2`: 16 bytes for `-mcpu=neoverse-n1`, 4 for generic AArch64; GCC 12's
/// generic tuning: 16 when at most 11 bytes of padding). kiln pads no aarch64 loop (Cranelift
/// records block offsets for x86_64 only, see `isa::build_isa`), and no aarch64 hardware
/// has measured what a line per function would buy, while it costs 7% of the code (the
/// files program of benches/README.md: 14,932 bytes of padding in 228,832).
pub fn function_alignment(opt_level: OptLevel, architecture: Architecture) -> u64 {
    match (opt_level, architecture) {
        (OptLevel::Speed, Architecture::X86_64) => CACHE_LINE,
        _ => 16,
    }
}

/// Places every code entry: returns the order in which to put `code` (every code entry in
/// descriptor order: the defined functions, then the trampolines; the functions left out,
/// `None`, are not placed) in `.text`, starting
/// from the entry points of `info` (with a profile, in its tiers), and pads and aligns
/// each for that order (functions with loops so that their innermost loop starts a cache
/// line, the others to [`function_alignment`] of `opt_level`; with a profile, functions
/// never entered are packed, with no more than their own alignment).
pub fn place(
    info: &ModuleInfo<'_>,
    code: &mut CodeEntries,
    opt_level: OptLevel,
    architecture: Architecture,
    profile: Option<&Profile>,
) -> Vec<usize> {
    let n_defined = info.bodies.len();
    let entry_of: HashMap<FuncId, usize> = code
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| Some((entry.as_ref()?.0, i)))
        .collect();
    let direct_callees = |i: usize| -> Vec<usize> {
        let Some((_, compiled)) = &code[i] else {
            return Vec::new();
        };
        compiled
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
    let mut order = match profile {
        None => order(code.len(), &roots, direct_callees),
        Some(profile) => profile_order(code.len(), n_defined, &roots, direct_callees, profile),
    };
    order.retain(|&i| code[i].is_some());
    let cold = |entry: usize| profile.is_some_and(|p| entry < n_defined && !p.entered(entry));
    let function_alignment = function_alignment(opt_level, architecture);
    let pad_loops = opt_level == OptLevel::Speed;
    // Small functions fill the padding in front of line-aligned ones.
    let mut fillers = (function_alignment == CACHE_LINE)
        .then(|| Fillers::new(code, order.iter().copied().filter(|&i| !cold(i)), pad_loops));
    let mut placed = vec![false; code.len()];
    let mut text_order = Vec::with_capacity(order.len());
    let mut offset = 0;
    for &i in &order {
        if placed[i] {
            continue;
        }
        placed[i] = true;
        if let (Some(fillers), false) = (&mut fillers, cold(i)) {
            let Some((_, compiled)) = &code[i] else {
                continue;
            };
            let entry = plan(compiled, offset, function_alignment, pad_loops).entry();
            offset = fillers.fill(code, &mut placed, &mut text_order, offset, entry);
        }
        let Some((_, compiled)) = &mut code[i] else {
            continue;
        };
        offset = if cold(i) {
            pack(compiled, offset)
        } else {
            lay_out(compiled, offset, function_alignment, pad_loops)
        };
        text_order.push(i);
    }
    if let Some(Some((_, first))) = text_order.first().map(|&i| &mut code[i]) {
        // The section's alignment is its most aligned function's: make it a line, so
        // that offsets in the section fall on lines where addresses do. The first
        // function starts the section whatever its alignment.
        first.alignment = first.alignment.max(CACHE_LINE);
    }
    text_order
}

/// Where a filler starts: the 16-byte boundary C compilers give functions.
const FILLER_ALIGNMENT: u64 = 16;

/// The functions small enough to go into the padding in front of a line-aligned function
/// (at `--opt-level speed` on x86_64, where every function starts a line or has its loop
/// start one): at most a line long, without a loop to pad, not cold, by length, each
/// length in placement order.
///
/// Why: there every function starts a line or its loop does, and the bytes up to that
/// start were padding (the files program of benches/README.md: 15,903 bytes in 296,696
/// of code). A filler starts a 16-byte boundary in that padding and never crosses a line,
/// so it takes one line to fetch as it would have starting one; the line it gives up is
/// saved. The largest that fits goes first, until none does.
struct Fillers {
    /// Entries by length (index: length - 1), in placement order; placed ones are
    /// skipped when they come to the front.
    by_len: Vec<std::collections::VecDeque<usize>>,
}

impl Fillers {
    /// The fillers among `entries` of `code`, in their order.
    fn new(code: &CodeEntries, entries: impl Iterator<Item = usize>, pad_loops: bool) -> Fillers {
        let mut by_len = vec![std::collections::VecDeque::new(); CACHE_LINE as usize];
        for i in entries {
            let Some((_, compiled)) = &code[i] else {
                continue;
            };
            let len = compiled.bytes.len();
            let small = (1..=CACHE_LINE as usize).contains(&len)
                && compiled.entry == 0
                && compiled.alignment <= FILLER_ALIGNMENT;
            // The loop header is looked for in small functions only (it scans blocks).
            if small
                && !(pad_loops
                    && loop_header(&compiled.block_starts, &compiled.block_edges).is_some())
            {
                by_len[len - 1].push_back(i);
            }
        }
        Fillers { by_len }
    }

    /// Lays fillers out from `offset` on, up to `end` (where the next function's entry
    /// goes), marking them `placed` and appending them to `text_order`; returns the offset
    /// after them.
    fn fill(
        &mut self,
        code: &mut CodeEntries,
        placed: &mut [bool],
        text_order: &mut Vec<usize>,
        mut offset: u64,
        end: u64,
    ) -> u64 {
        'gap: loop {
            let room = end.saturating_sub(offset).min(CACHE_LINE);
            for len in (1..=room).rev() {
                let queue = &mut self.by_len[len as usize - 1];
                while queue.front().is_some_and(|&f| placed[f]) {
                    queue.pop_front();
                }
                let Some(&f) = queue.front() else {
                    continue;
                };
                // Every filler is aligned alike, so the front fits if any of its length does.
                let start = offset.next_multiple_of(FILLER_ALIGNMENT);
                if start + len > end || start / CACHE_LINE != (start + len - 1) / CACHE_LINE {
                    continue;
                }
                let Some((_, compiled)) = &mut code[f] else {
                    continue;
                };
                queue.pop_front();
                compiled.alignment = FILLER_ALIGNMENT;
                placed[f] = true;
                text_order.push(f);
                offset = start + len;
                continue 'gap;
            }
            return offset;
        }
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

/// Lays `code` out packed at the first offset of `.text` from `offset` on that its own
/// alignment allows (code never entered: no padding, no line). Returns the offset after it.
fn pack(code: &mut CompiledCode, offset: u64) -> u64 {
    let code_alignment = code.alignment.max(1);
    code.alignment = code_alignment;
    offset.next_multiple_of(code_alignment) + code.bytes.len() as u64
}

/// Lays `code` out at the first offset of `.text` from `offset` on that its alignment
/// allows, as cranelift-object places it (each function's bytes at the next multiple of
/// their alignment, in the order they are defined): a function with a loop gets the
/// padding in front of its entry that puts its innermost loop on a cache line, any other
/// the alignment `function_alignment`. Loops are padded only where `pad_loops` (code
/// compiled for speed alone). Returns the offset after the function.
fn lay_out(code: &mut CompiledCode, offset: u64, function_alignment: u64, pad_loops: bool) -> u64 {
    let plan = plan(code, offset, function_alignment, pad_loops);
    if plan.padding > 0 {
        code.bytes.splice(
            0..0,
            std::iter::repeat_n(PADDING_BYTE, plan.padding as usize),
        );
        for reloc in &mut code.relocs {
            reloc.offset += plan.padding as u32;
        }
        code.entry = plan.padding as u32;
    }
    code.alignment = plan.alignment;
    plan.start + code.bytes.len() as u64
}

/// Where [`lay_out`] puts a function.
struct Plan {
    /// The offset of its first byte (of the padding, if any).
    start: u64,
    /// Padding in front of its entry.
    padding: u64,
    /// Its alignment in the object.
    alignment: u64,
}

impl Plan {
    /// The offset of the function's entry.
    fn entry(&self) -> u64 {
        self.start + self.padding
    }
}

/// Where [`lay_out`] puts `code` laid out from `offset`.
fn plan(code: &CompiledCode, offset: u64, function_alignment: u64, pad_loops: bool) -> Plan {
    // The function's own alignment (16 for vector constants, say) must hold at its entry.
    let code_alignment = code.alignment.max(1);
    let header = pad_loops
        .then(|| loop_header(&code.block_starts, &code.block_edges))
        .flatten();
    let Some(header) = header else {
        let mut alignment = code_alignment.max(function_alignment);
        if function_alignment == CACHE_LINE && code_alignment <= FILLER_ALIGNMENT {
            // As few lines as from a line's start, from the next 16-byte boundary if it
            // takes no more.
            let len = (code.bytes.len() as u64).max(1);
            let near = offset.next_multiple_of(FILLER_ALIGNMENT);
            let lines = |start: u64| (start + len - 1) / CACHE_LINE - start / CACHE_LINE + 1;
            if lines(near) == len.div_ceil(CACHE_LINE) {
                alignment = FILLER_ALIGNMENT;
            }
        }
        return Plan {
            start: offset.next_multiple_of(alignment),
            padding: 0,
            alignment,
        };
    };
    let start = offset.next_multiple_of(code_alignment);
    Plan {
        start,
        padding: entry_padding(
            start % CACHE_LINE + u64::from(header) % CACHE_LINE,
            code_alignment,
        ),
        alignment: code_alignment,
    }
}

/// The offset of the loop whose header should start a cache line: of the loops in the
/// final code (back edges), the most deeply nested, then the shortest, then the first.
/// `None` without loops, or when Cranelift recorded no block offsets (it does for x86_64,
/// see `isa::build_isa`).
///
/// Why: the front end of x86_64 cores fetches and caches decoded instructions per aligned
/// 32- or 64-byte window, so where a hot loop falls within a line decides how many
/// windows each iteration needs. Measured on shootout-sieve (AMD EPYC with AVX-512), its
/// inner loop took 182 ms starting a line, 205 to 208 ms starting at byte 10 or 16, and
/// 255 to 271 ms starting at byte 18 or later; the offset of the line in the page did not
/// matter. Cranelift cannot align blocks inside a function, so kiln places the whole
/// function: one whose chosen loop is at offset h starts (64 - h) mod 64 bytes into its
/// line, the padding in front of its symbol.
pub(crate) fn loop_header(bb_starts: &[u32], bb_edges: &[(u32, u32)]) -> Option<u32> {
    innermost_loop(bb_starts, bb_edges).map(|(header, _)| header)
}

/// The loop [`loop_header`] chooses, as `[header, end)`: its header and the end of the
/// block of its farthest back edge. In time `O(E log E + B log B + L log L)` for `E`
/// edges, `B` blocks and `L` loops.
pub(crate) fn innermost_loop(bb_starts: &[u32], bb_edges: &[(u32, u32)]) -> Option<(u32, u32)> {
    // Block starts in order (as Cranelift and `relax.rs` give them), for binary searches.
    let sorted;
    let bb_starts = if bb_starts.is_sorted() {
        bb_starts
    } else {
        sorted = {
            let mut starts = bb_starts.to_vec();
            starts.sort_unstable();
            starts
        };
        &sorted
    };
    // Each loop as [header, end of its last block): one per header, the farthest back edge.
    let mut back_edges: Vec<(u32, u32)> = bb_edges
        .iter()
        .filter(|&&(from, to)| to <= from)
        .map(|&(from, to)| {
            let after = bb_starts.partition_point(|&start| start <= from);
            (to, bb_starts.get(after).copied().unwrap_or(u32::MAX))
        })
        .collect();
    back_edges.sort_unstable();
    let mut loops: Vec<(u32, u32)> = Vec::new();
    for (header, end) in back_edges {
        match loops.last_mut() {
            Some(last) if last.0 == header => last.1 = last.1.max(end),
            _ => loops.push((header, end)),
        }
    }
    let depths = nesting_depths(&loops);
    loops
        .iter()
        .zip(depths)
        .max_by_key(|&(&(header, end), depth)| {
            (
                depth,
                std::cmp::Reverse(end - header),
                std::cmp::Reverse(header),
            )
        })
        .map(|(&lp, _)| lp)
}

/// For each of `loops` (`[header, end)`, sorted by header, one per header), how many of
/// them contain it, itself included: those with a header at or before its own and an end
/// at or after its own. Those all come before it in header order, so one pass in that
/// order with a Fenwick tree over the ranks of the ends counts them, in `O(L log L)`.
fn nesting_depths(loops: &[(u32, u32)]) -> Vec<usize> {
    let mut ends: Vec<u32> = loops.iter().map(|&(_, end)| end).collect();
    ends.sort_unstable();
    ends.dedup();
    // `tree[i]` (1-based) counts the loops seen so far whose end has a rank in
    // `(i - lowbit(i), i]`.
    let mut tree = vec![0usize; ends.len() + 1];
    loops
        .iter()
        .enumerate()
        .map(|(seen, &(_, end))| {
            let rank = ends.partition_point(|&other| other < end) + 1;
            let mut i = rank;
            while i < tree.len() {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
            // Of the `seen + 1` loops so far, those that end before this one do not
            // contain it.
            let mut ending_before = 0;
            let mut i = rank - 1;
            while i > 0 {
                ending_before += tree[i];
                i -= i & i.wrapping_neg();
            }
            seen + 1 - ending_before
        })
        .collect()
}

/// Padding before a function's entry that puts offset `header` of its code, counted from
/// the start of a cache line, at the start of a line, or as soon after as the code's own
/// `alignment` allows.
fn entry_padding(header: u64, alignment: u64) -> u64 {
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
        // The inner loop ends where the block after its latch starts; block starts in any
        // order give the same loop.
        assert_eq!(innermost_loop(&starts, &edges), Some((0x30, 0x50)));
        let shuffled = [0x50, 0x00, 0x80, 0x30, 0x10];
        assert_eq!(innermost_loop(&shuffled, &edges), Some((0x30, 0x50)));
    }

    /// The Fenwick count agrees with counting the containing loops one by one.
    #[test]
    fn nesting_depths_count_the_containing_loops() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |bound: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(bound)) as u32
        };
        for round in 0..200 {
            let n = (round % 40) as usize;
            let mut headers: Vec<u32> = (0..n).map(|_| next(500)).collect();
            headers.sort_unstable();
            headers.dedup();
            let loops: Vec<(u32, u32)> = headers
                .iter()
                .map(|&header| (header, header + 1 + next(300)))
                .collect();
            let expected: Vec<usize> = loops
                .iter()
                .map(|&(header, end)| {
                    loops
                        .iter()
                        .filter(|&&(outer, outer_end)| outer <= header && end <= outer_end)
                        .count()
                })
                .collect();
            assert_eq!(nesting_depths(&loops), expected, "{loops:?}");
        }
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

    /// Code of `len` bytes with its own `alignment` and, at offset `header`, a one-block
    /// loop (or none).
    fn code(len: usize, alignment: u64, header: Option<u32>) -> CompiledCode {
        let (block_starts, block_edges) = match header {
            Some(header) => (
                vec![0, header, header + 4],
                vec![(0, header), (header, header)],
            ),
            None => (vec![0], vec![]),
        };
        CompiledCode {
            bytes: vec![0x90; len],
            entry: 0,
            alignment,
            relocs: Vec::new(),
            traps: Vec::new(),
            call_sites: Vec::new(),
            block_starts,
            block_edges,
        }
    }

    #[test]
    fn loops_get_the_padding_their_place_needs_and_other_functions_their_alignment() {
        // A loop at 0x10 of code placed at offset 100 (a line starts at 64, the next at
        // 128): 12 bytes of padding put the loop at 128 and the entry at 112.
        let mut looped = code(50, 1, Some(0x10));
        assert_eq!(lay_out(&mut looped, 100, 64, true), 112 + 50);
        assert_eq!(
            (looped.entry, looped.bytes.len(), looped.alignment),
            (12, 62, 1)
        );
        assert!(looped.bytes[..12].iter().all(|&b| b == PADDING_BYTE));
        // Code aligned to 16 placed at offset 70 starts at 80; its loop, 8 bytes off a
        // 16-byte boundary, can start 8 bytes into a line at best: at 136 with 32 bytes of
        // padding (at 104 without).
        let mut aligned = code(50, 16, Some(0x18));
        assert_eq!(lay_out(&mut aligned, 70, 64, true), 80 + 32 + 50);
        assert_eq!((aligned.entry, aligned.alignment), (32, 16));
        // Without a loop, with lines for functions: a line's start, or the next 16-byte
        // boundary where the function takes no more lines from there. 10 bytes fit in
        // 112..122; 30 would cross the line at 128, so they start it; 70 take two lines
        // from 112 as from 128; 120 would take three from 112, two from 128.
        for (len, placed_at, alignment) in
            [(10, 112, 16), (30, 128, 64), (70, 112, 16), (120, 128, 64)]
        {
            let mut plain = code(len, 1, None);
            assert_eq!(
                lay_out(&mut plain, 100, 64, true),
                placed_at + len as u64,
                "{len}"
            );
            assert_eq!((plain.entry, plain.alignment), (0, alignment), "{len}");
        }
        // Code with an alignment of its own above 16 starts a line.
        let mut wide = code(10, 32, None);
        assert_eq!(lay_out(&mut wide, 100, 64, true), 138);
        let mut small = code(10, 1, None);
        assert_eq!(lay_out(&mut small, 100, 16, true), 122);
        assert_eq!(small.alignment, 16);
        // The code's own alignment wins over a smaller function alignment.
        let mut constants = code(10, 32, None);
        assert_eq!(lay_out(&mut constants, 100, 16, true), 138);
    }

    /// Fillers go into the padding before an entry, largest first, each on a 16-byte
    /// boundary and within one line; one with a loop, a long one or one that would cross a
    /// line stays out.
    #[test]
    fn small_functions_fill_padding_within_a_line() {
        let entry = |compiled: CompiledCode| Some((FuncId::from_u32(0), compiled));
        let mut code: CodeEntries = vec![
            entry(code(20, 1, None)),    // 0: 20 bytes
            entry(code(40, 1, None)),    // 1: 40 bytes
            entry(code(30, 1, Some(0))), // 2: a loop
            entry(code(100, 1, None)),   // 3: longer than a line
            entry(code(10, 32, None)),   // 4: aligned to 32, more than fillers get
            entry(code(60, 1, None)),    // 5: 60 bytes
        ];
        let mut fillers = Fillers::new(&code, 0..code.len(), true);
        let mut placed = vec![false; code.len()];
        let mut text_order = Vec::new();
        // Padding from 4 to 128: 5 (60 bytes) would cross the line at 64 from 16, so 1
        // (40 bytes) goes at 16, then 5 at 64 (up to 124); 0 (20 bytes) fits no more.
        let end = fillers.fill(&mut code, &mut placed, &mut text_order, 4, 128);
        assert_eq!((text_order.as_slice(), end), (&[1, 5][..], 124));
        let alignment = |i: usize| code[i].as_ref().unwrap().1.alignment;
        assert_eq!((alignment(1), alignment(5)), (16, 16));
        // The next padding takes 0.
        let end = fillers.fill(&mut code, &mut placed, &mut text_order, 128, 192);
        assert_eq!((text_order.as_slice(), end), (&[1, 5, 0][..], 148));
        // Nothing left that may fill.
        assert_eq!(
            fillers.fill(&mut code, &mut placed, &mut text_order, 192, 256),
            192
        );
    }

    #[test]
    fn function_alignment_is_a_line_only_for_speed_on_x86_64() {
        let x86_64 = Architecture::X86_64;
        assert_eq!(function_alignment(OptLevel::Speed, x86_64), 64);
        assert_eq!(function_alignment(OptLevel::SpeedAndSize, x86_64), 16);
        assert_eq!(function_alignment(OptLevel::None, x86_64), 16);
        let aarch64 = Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64);
        assert_eq!(function_alignment(OptLevel::Speed, aarch64), 16);
        assert_eq!(function_alignment(OptLevel::SpeedAndSize, aarch64), 16);
    }
}
