//! A read-only preopen from the guest's side, through `std::fs`: what reads beneath it
//! works, every change beneath it fails. Prints one line per step: `OK`, what was read, or
//! the error's kind.
//!
//! Usage: `read_only RO RW`, where RO is a directory preopened read-only holding `data`
//! ("read only\n"), `sub/inner` ("inner") and the empty directory `empty`, and RW a
//! directory preopened read-write holding `mine` ("mine\n"). `cli/tests/read_only_dirs.rs`
//! runs it built for wasm32-wasip2 (a WASI 0.2 component) under `kiln run
//! --dir-read-only` and as a `kiln build` executable.

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

/// `OK` or the error's kind, named by its message when uncategorized.
fn outcome<T>(result: io::Result<T>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(error) => match format!("{:?}", error.kind()).as_str() {
            "Uncategorized" => error.to_string(),
            kind => kind.to_owned(),
        },
    }
}

/// `fs::soft_link` is deprecated, but it is the one stable call that makes a symlink on
/// WASI (`std::os::wasi::fs::symlink_path` is unstable).
#[allow(deprecated)]
fn symlink(original: &str, link: &str) -> io::Result<()> {
    fs::soft_link(original, link)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, ro, rw] = args.as_slice() else {
        eprintln!("usage: read_only RO RW");
        std::process::exit(2);
    };
    let ro = |name: &str| format!("{ro}/{name}");
    let rw = |name: &str| format!("{rw}/{name}");

    // Reads.
    println!(
        "read data: {:?}",
        fs::read_to_string(ro("data")).map_err(|e| e.kind())
    );
    println!(
        "read sub/inner: {:?}",
        fs::read_to_string(ro("sub/inner")).map_err(|e| e.kind())
    );
    println!(
        "stat data: {:?}",
        fs::metadata(ro("data"))
            .map(|m| m.len())
            .map_err(|e| e.kind())
    );
    let mut names: Vec<String> = fs::read_dir(ro(""))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("list: {}", names.join(" "));

    // Opening for a change.
    let open = |options: &mut OpenOptions, name: &str| outcome(options.open(ro(name)));
    println!(
        "open data write: {}",
        open(OpenOptions::new().write(true), "data")
    );
    println!(
        "open data append: {}",
        open(OpenOptions::new().append(true), "data")
    );
    println!(
        "open data truncate: {}",
        open(OpenOptions::new().write(true).truncate(true), "data")
    );
    println!("create new: {}", outcome(File::create(ro("new"))));
    println!(
        "create sub/new: {}",
        open(OpenOptions::new().write(true).create_new(true), "sub/new")
    );

    // Changes by path.
    println!("create_dir made: {}", outcome(fs::create_dir(ro("made"))));
    println!("remove_dir empty: {}", outcome(fs::remove_dir(ro("empty"))));
    println!("remove_file data: {}", outcome(fs::remove_file(ro("data"))));
    println!("symlink soft: {}", outcome(symlink("data", &ro("soft"))));
    println!(
        "rename within: {}",
        outcome(fs::rename(ro("data"), ro("moved")))
    );
    println!(
        "rename out: {}",
        outcome(fs::rename(ro("data"), rw("moved")))
    );
    println!("rename in: {}", outcome(fs::rename(rw("mine"), ro("mine"))));
    println!(
        "hard_link out: {}",
        outcome(fs::hard_link(ro("data"), rw("alias")))
    );
    println!(
        "hard_link in: {}",
        outcome(fs::hard_link(rw("mine"), ro("alias")))
    );

    // Changes through a file opened for reading.
    let mut file = File::open(ro("data")).unwrap();
    println!("write: {}", outcome(file.write(b"owned")));
    println!("set_len: {}", outcome(file.set_len(0)));
    let times = FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    println!("set_times: {}", outcome(file.set_times(times)));

    // The read-write preopen beside it is untouched and still readable.
    println!(
        "read mine: {:?}",
        fs::read_to_string(rw("mine")).map_err(|e| e.kind())
    );
    println!("done");
}
