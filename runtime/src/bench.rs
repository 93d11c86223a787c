//! The `bench` host module of the sightglass benchmark protocol: `bench.start` and
//! `bench.end` (no parameters, no results) mark the measured region of a benchmark.
//!
//! kiln times the region with a monotonic clock. When the environment variable
//! `KILN_BENCH_TIMES` names a file, each `bench.end` appends one line to it: the region's
//! length in nanoseconds. This is kiln's own instrumentation for benchmark harnesses; the
//! guest learns nothing from it and gains no capability.

use crate::Linker;
use crate::{Extern, Func, Store};
use kiln_abi::metadata::FuncType;
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

/// The environment variable naming the file region lengths are appended to.
pub const BENCH_TIMES_VAR: &str = "KILN_BENCH_TIMES";

/// The module name of the imports.
pub const MODULE_NAME: &str = "bench";

/// Defines `bench.start` and `bench.end` in `linker`. In the runtime of executables this is
/// a part linked on demand (`vm/linked.rs`): only executables whose module imports `bench`
/// carry it.
#[cfg_attr(feature = "exe-main", export_name = "kiln_bench_add_to_linker")]
pub fn add_to_linker(linker: &mut Linker, store: &mut Store) {
    let started: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
    let ty = FuncType {
        params: vec![],
        results: vec![],
    };
    let start_state = Rc::clone(&started);
    let start = Func::new_host(store, ty.clone(), move |_, _| {
        start_state.set(Some(Instant::now()));
        Ok(vec![])
    });
    let end = Func::new_host(store, ty, move |_, _| {
        let end = Instant::now();
        if let (Some(start), Some(path)) = (started.take(), std::env::var_os(BENCH_TIMES_VAR)) {
            let nanos = end.duration_since(start).as_nanos();
            // A harness that cannot record the time must not change the guest's behaviour.
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(file, "{nanos}");
            }
        }
        Ok(vec![])
    });
    linker.define(MODULE_NAME, "start", Extern::Func(start));
    linker.define(MODULE_NAME, "end", Extern::Func(end));
}

#[cfg(feature = "exe-main")]
crate::vm::linked::linked_part!(
    kiln_linked_bench,
    fn linked() -> Option<fn(&mut Linker, &mut Store)>
);

/// [`add_to_linker`] if `kiln build` linked it into this executable (the module imports
/// `bench`), else nothing.
#[cfg(feature = "exe-main")]
pub(crate) fn add_linked_to_linker(linker: &mut Linker, store: &mut Store) {
    if let Some(add) = linked() {
        add(linker, store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_end_appends_the_region_length() {
        let path = std::env::temp_dir().join(format!("kiln-bench-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut store = Store::new();
        let mut linker = Linker::new();
        add_to_linker(&mut linker, &mut store);
        let Some(Extern::Func(start)) = linker.get("bench", "start") else {
            panic!("bench.start")
        };
        let Some(Extern::Func(end)) = linker.get("bench", "end") else {
            panic!("bench.end")
        };
        // No other test reads or writes this variable.
        std::env::set_var(BENCH_TIMES_VAR, &path);
        start.call(&mut store, &[]).unwrap();
        end.call(&mut store, &[]).unwrap();
        std::env::remove_var(BENCH_TIMES_VAR);
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(text.trim().parse::<u128>().is_ok(), "{text:?}");
    }
}
