//! A host program that embeds WebAssembly modules compiled ahead of time by kiln
//! (build.rs): `filter`, written in Rust, `greet`, written in C against WASI, and `raise`,
//! in the text format, which throws exceptions. It calls their exports with typed
//! arguments, provides their host imports, reads and writes their memories, catches traps
//! and uncaught exceptions as errors and keeps going, and runs two instances of `filter`
//! on two threads at once. It embeds two components too (WASI 0.2): `calc`, in the text
//! format, called through typed methods and by name, and `command`, a Rust program for
//! wasm32-wasip2 run with arguments, environment and a preopened directory.

use kiln_runtime::component::ComponentVal;
use kiln_runtime::wasi::WasiCtx;
use kiln_runtime::{CallError, Caller, HostError, ResourceLimits, RunLimits, Trap, TrapCode};
use std::error::Error;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

// The generated bindings: modules `filter`, `greet`, `raise` and `meter`, components
// `calc` and `command`.
include!(concat!(env!("OUT_DIR"), "/kiln/filter.rs"));
include!(concat!(env!("OUT_DIR"), "/kiln/greet.rs"));
include!(concat!(env!("OUT_DIR"), "/kiln/raise.rs"));
include!(concat!(env!("OUT_DIR"), "/kiln/meter.rs"));
include!(concat!(env!("OUT_DIR"), "/kiln/calc.rs"));
include!(concat!(env!("OUT_DIR"), "/kiln/command.rs"));

/// The host functions `filter` imports (`env::threshold`, `env::log_value`).
struct FilterHost {
    threshold: u8,
    /// Sum of everything the filter reported, shared with `main`.
    logged: Arc<AtomicI64>,
}

impl filter::Imports for FilterHost {
    fn threshold(&mut self, _caller: &mut Caller<'_>) -> Result<i32, HostError> {
        Ok(i32::from(self.threshold))
    }

    fn log_value(
        &mut self,
        _caller: &mut Caller<'_>,
        label: i32,
        value: i64,
    ) -> Result<(), HostError> {
        println!("[host] log_value(label {label}, value {value})");
        self.logged.fetch_add(value, Ordering::Relaxed);
        Ok(())
    }
}

/// The host function `greet` imports (`host::score`).
struct Scorer;

impl greet::Imports for Scorer {
    fn score(
        &mut self,
        _caller: &mut Caller<'_>,
        length: i32,
        vowels: i32,
    ) -> Result<i32, HostError> {
        Ok(length * 10 + vowels)
    }
}

/// The trap in `result`, which must be one.
fn expect_trap<T: std::fmt::Debug>(result: Result<T, CallError>) -> Trap {
    match result {
        Err(CallError::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// `address` as an index into a memory.
fn index(address: i32) -> usize {
    address as u32 as usize
}

fn main() -> Result<(), Box<dyn Error>> {
    // --- filter: a Rust guest with host imports ---
    let logged = Arc::new(AtomicI64::new(0));
    let host = FilterHost {
        threshold: b'a',
        logged: Arc::clone(&logged),
    };
    let mut filter = filter::Instance::new(host)?;
    println!("filter.add(2, 3) = {}", filter.add(2, 3)?);
    println!("filter.scale(1.5, 4.0) = {}", filter.scale(1.5, 4.0)?);

    // Write into the guest's buffer, filter it in place, read the result back.
    let input = b"Hello, WebAssembly!";
    let buffer = index(filter.buffer()?);
    filter.memory_mut()[buffer..buffer + input.len()].copy_from_slice(input);
    let kept = filter.filter(input.len() as i32)? as usize;
    let output = String::from_utf8_lossy(&filter.memory()[buffer..buffer + kept]).into_owned();
    println!(
        "filter.filter({:?}) kept {kept} bytes: {output:?}",
        String::from_utf8_lossy(input)
    );
    println!(
        "host saw a logged total of {}",
        logged.load(Ordering::Relaxed)
    );

    // An exported global: the address of a static in the guest's memory.
    let version_at = index(filter.FILTER_VERSION());
    let version = u32::from_le_bytes(filter.memory()[version_at..version_at + 4].try_into()?);
    println!("FILTER_VERSION = {version}");

    // A trap is an error value with the trap code and a wasm backtrace; the instance stays usable.
    let trap = expect_trap(filter.divide(1, 0));
    let frames: Vec<&str> = trap
        .backtrace
        .iter()
        .filter_map(|frame| frame.func_name.as_deref())
        .collect();
    println!("filter.divide(1, 0) trapped: {}", trap.code.message());
    println!(
        "  backtrace includes divide: {}",
        frames.iter().any(|name| name.contains("divide"))
    );
    println!(
        "after the trap, filter.divide(84, 2) = {}",
        filter.divide(84, 2)?
    );

    // --- two instances on two threads at once ---
    // `filter::Instance` is `Send`: this one moves to a thread and computes there, while a
    // second instance on another thread traps a thousand times.
    let worker = std::thread::spawn(move || filter.triangle(20_000_000));
    let trapper = std::thread::spawn(|| -> Result<usize, CallError> {
        let host = FilterHost {
            threshold: 0,
            logged: Arc::new(AtomicI64::new(0)),
        };
        let mut other = filter::Instance::new(host).expect("instantiating filter");
        let mut traps = 0;
        for i in 0..1000 {
            expect_trap(other.divide(i, 0));
            traps += 1;
            assert_eq!(other.add(i, 1)?, i + 1);
        }
        Ok(traps)
    });
    println!(
        "thread 1: filter.triangle(20000000) = {}",
        worker.join().expect("thread 1")?
    );
    println!(
        "thread 2: caught {} traps, instance still working",
        trapper.join().expect("thread 2")?
    );

    // --- limits: an instance whose store caps each memory at 64 KiB ---
    // The Rust guest's memory starts larger, so instantiation fails with what was over.
    let limits = RunLimits {
        resources: ResourceLimits {
            max_memory_bytes: Some(64 << 10),
            max_table_elements: None,
        },
        ..RunLimits::default()
    };
    let host = FilterHost {
        threshold: 0,
        logged: Arc::new(AtomicI64::new(0)),
    };
    match filter::Instance::with_limits(limits, host) {
        Ok(_) => println!("filter under a 64 KiB memory cap: instantiated"),
        Err(error) => println!("filter under a 64 KiB memory cap: {error}"),
    }

    // --- meter: fuel, refuelling and an interrupt from another thread ---
    let fuel = RunLimits {
        fuel: Some(1000),
        ..RunLimits::default()
    };
    let mut meter = meter::Instance::with_limits(fuel)?;
    meter.count(100)?;
    println!(
        "meter.count(100) with 1000 units of fuel: {:?} left",
        meter.fuel()
    );
    let trap = expect_trap(meter.count(100_000));
    println!("meter.count(100000) trapped: {}", trap.code.message());
    meter.set_fuel(u64::MAX);
    let handle = meter.interrupt_handle();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        handle.interrupt();
    });
    let trap = expect_trap(meter.spin());
    interrupter.join().expect("the interrupting thread");
    println!("meter.spin() from another thread: {}", trap.code.message());

    // --- greet: a C guest using WASI (environment, stdout) and a host import ---
    let wasi = WasiCtx::new()
        .args(vec!["greet".into()])
        .env(vec![("GREETING".into(), "bonjour".into())]);
    let mut greet = greet::Instance::new(Scorer, wasi)?;
    let name = b"Ada Lovelace";
    let at = index(greet.name_buffer()?);
    greet.memory_mut()[at..at + name.len()].copy_from_slice(name);
    println!("greet.greet returned {}", greet.greet(name.len() as i32)?);
    let trap = expect_trap(greet.peek(0));
    println!("greet.peek(0) trapped: {}", trap.code.message());
    greet.memory_mut()[at..at + 3].copy_from_slice(b"Bob");
    println!("greet.greet returned {}", greet.greet(3)?);

    // --- raise: an exception the guest does not catch is a typed error for the host ---
    let mut raise = raise::Instance::new()?;
    println!("raise.check(7) = {}", raise.check(7)?);
    let trap = expect_trap(raise.check(500));
    assert_eq!(trap.code, TrapCode::UncaughtException);
    println!(
        "raise.check(500): {}, tag {}",
        trap.code.message(),
        trap.exception_tag.as_deref().unwrap_or("?")
    );
    println!("raise.clamp(500) = {}", raise.clamp(500)?);

    components()?;
    println!("done");
    Ok(())
}

/// The components: `calc`'s exports through typed methods and by name, a trap in one, and
/// `command`'s `wasi:cli/run` with what the host grants it.
fn components() -> Result<(), Box<dyn Error>> {
    let mut calc = calc::Instance::new(WasiCtx::new())?;
    println!("calc exports {:?}", calc::EXPORTS);
    println!("calc.add(2, 40) = {}", calc.add(2, 40)?);
    println!("calc.greet(\"Ada\") = {:?}", calc.greet("Ada")?);
    let sum = calc.call("add", &[ComponentVal::U32(7), ComponentVal::U32(8)])?;
    println!("calc.call(\"add\", [7, 8]) = {sum:?}");
    let trap = expect_trap(calc.divide(1, 0));
    println!("calc.divide(1, 0) trapped: {}", trap.code.message());
    println!(
        "after the trap, calc.divide(84, -2) = {}",
        calc.divide(84, -2)?
    );
    match calc.call("add", &[ComponentVal::String("seven".into())]) {
        Err(error) => println!("calc.call(\"add\", [\"seven\"]): {error}"),
        Ok(results) => println!("calc.call(\"add\", [\"seven\"]) = {results:?}"),
    }
    match calc.call("sub", &[]) {
        Err(error) => println!("calc.call(\"sub\"): {error}"),
        Ok(results) => println!("calc.call(\"sub\") = {results:?}"),
    }

    let dir = std::env::temp_dir().join(format!("kiln-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for args in [&["command", "one", "two"][..], &["command", "fail"]] {
        let wasi = WasiCtx::new()
            .args(args.iter().map(|arg| arg.to_string()).collect())
            .env(vec![("GREETING".into(), "hej".into())])
            .preopen_dir(&dir, "/out")?;
        let mut command = command::Instance::new(wasi)?;
        let outcome = command.run();
        let note = std::fs::read_to_string(dir.join("note.txt"))?;
        println!("command {:?}: {outcome:?}, wrote {note:?}", &args[1..]);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
