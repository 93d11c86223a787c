//! The guest's side of kiln's options (`cli/tests/guest_options.rs`): prints its first
//! argument (`--argv0`) and, as a WASI 0.2 component, what `wasi:cli/environment`'s
//! `initial-cwd` returns (`--cwd`; wasi-libc does not ask it, so `current_dir` would not
//! tell), then does what its second
//! argument asks: `open N` holds N open files of its preopen `/data` at once (each a host
//! resource, for `--max-resources`), `mkdir N` creates (and removes) a directory whose
//! name is N bytes long (a string of N bytes passed to the host, for `--hostcall-fuel`).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argv0={}", args.first().map_or("", String::as_str));
    println!("initial-cwd={:?}", initial_cwd());
    let count = |index: usize| -> usize { args[index].parse().expect("a count") };
    match args.get(1).map(String::as_str) {
        Some("open") => {
            let n = count(2);
            let files: Vec<std::fs::File> = (0..n)
                .map(|i| {
                    std::fs::File::open("/data/file").unwrap_or_else(|e| panic!("open {i}: {e}"))
                })
                .collect();
            println!("opened {}", files.len());
        }
        Some("mkdir") => {
            let name = format!("/data/{}", "a".repeat(count(2)));
            std::fs::create_dir(&name).expect("mkdir");
            // Removed again, so that the next run can make it.
            std::fs::remove_dir(&name).expect("rmdir");
            println!("made {} bytes", name.len() - "/data/".len());
        }
        _ => {}
    }
}

/// `wasi:cli/environment.initial-cwd`, imported directly: the component's linker binds
/// the core import to the WASI 0.2 function. `None` elsewhere.
#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn initial_cwd() -> Option<String> {
    #[link(wasm_import_module = "wasi:cli/environment@0.2.0")]
    extern "C" {
        // The canonical ABI's `option<string>` result, written at `ret`: a discriminant
        // byte, then the string's pointer and length at offsets 4 and 8.
        #[link_name = "initial-cwd"]
        fn initial_cwd(ret: *mut u32);
    }
    let mut ret = [0u32; 3];
    // SAFETY: the host writes the 12-byte result into `ret`, and the string's `len` bytes
    // at `ptr` in memory it allocated with this module's `cabi_realloc`; they are copied
    // (and the few bytes left allocated).
    unsafe {
        initial_cwd(ret.as_mut_ptr());
        if ret[0] & 0xff == 0 {
            return None;
        }
        let (ptr, len) = (ret[1] as usize as *const u8, ret[2] as usize);
        Some(String::from_utf8_lossy(std::slice::from_raw_parts(ptr, len)).into_owned())
    }
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn initial_cwd() -> Option<String> {
    None
}
