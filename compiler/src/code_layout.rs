//! The order functions take in `.text`: callers before their callees, depth first along
//! the static call graph from the module's entry points, so the code one call runs is
//! close together. A run of a short benchmark (or a short-lived program) executes code
//! straight from the page cache, not from the CPU caches a JIT has just written it
//! through; contiguous code touches fewer pages and lets the prefetcher stream it.
//!
//! Only the placement changes: the descriptor table, the trap table and the symbols still
//! name every function by its index, and the runtime sorts code ranges by address itself.

/// The order in which to place `n` code entries. `callees(i)` lists the entries entry `i`
/// calls directly, in the order its code calls them; `roots` are the entries to place
/// first (the start function, then the exports). Every entry appears exactly once: those
/// no root reaches follow in index order, each with what it reaches.
pub fn order(n: usize, roots: &[usize], callees: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    // Pre-order depth-first walk with an explicit stack: call chains can be thousands of
    // functions deep.
    let mut stack = Vec::new();
    for root in roots.iter().copied().chain(0..n) {
        stack.push(root);
        while let Some(entry) = stack.pop() {
            if entry >= n || placed[entry] {
                continue;
            }
            placed[entry] = true;
            order.push(entry);
            // Reversed, so that the first callee is visited (and placed) first.
            stack.extend(callees(entry).into_iter().rev());
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::order;

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
}
