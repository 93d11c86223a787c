//! `std::fs` the way programs use it: files written, read, seeked and resized, metadata,
//! directories created, renamed and removed, a directory of 1000 entries listed, hard links,
//! symlinks, timestamps, error kinds. Every line printed is a deterministic fact, so the
//! native build run in a fresh scratch directory and the wasm build run with that
//! directory preopened as "." (or as "/sandbox", given as the first argument) print the
//! same.
//!
//! Usage: `files [DIR]` works in DIR, else in the current directory; `files [DIR] exit N`
//! writes `exit.txt` and leaves through `std::process::exit(N)` at once.

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MANY_FILES: usize = 1000;

/// `fs::soft_link` is deprecated, but it is the one stable call that makes a symlink on
/// both platforms (`std::os::wasi::fs::symlink_path` is unstable).
#[allow(deprecated)]
fn symlink(original: &str, link: &str) -> io::Result<()> {
    fs::soft_link(original, link)
}

/// `OK` or the error's kind: the same words on every platform. Rust's standard library
/// for WASI (1.95) leaves `ENOTEMPTY` uncategorized, which unix calls `DirectoryNotEmpty`;
/// any other uncategorized error is named by its message without the errno number, which
/// differs between platforms.
fn outcome<T>(result: io::Result<T>) -> String {
    let error = match result {
        Ok(_) => return "OK".to_owned(),
        Err(error) => error,
    };
    let kind = format!("{:?}", error.kind());
    if kind != "Uncategorized" {
        return kind;
    }
    let message = error.to_string();
    let message = message.split(" (os error").next().unwrap_or_default();
    match message {
        "Directory not empty" => "DirectoryNotEmpty".to_owned(),
        other => other.to_owned(),
    }
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
    })
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;

fn describe(path: &str) -> String {
    match fs::symlink_metadata(path) {
        Err(error) => format!("{:?}", error.kind()),
        Ok(metadata) => {
            let kind = if metadata.is_symlink() {
                "symlink"
            } else if metadata.is_dir() {
                "directory"
            } else if metadata.is_file() {
                "file"
            } else {
                "other"
            };
            if metadata.is_file() || metadata.is_symlink() {
                format!("{kind} of {} bytes", metadata.len())
            } else {
                kind.to_owned()
            }
        }
    }
}

fn since_epoch(time: SystemTime) -> String {
    match time.duration_since(UNIX_EPOCH) {
        Ok(duration) => format!("{}.{:09}", duration.as_secs(), duration.subsec_nanos()),
        Err(_) => "before the epoch".to_owned(),
    }
}

fn files() -> io::Result<()> {
    let pattern: Vec<u8> = (0..100_000u32).map(|i| (i * 31 + i / 251) as u8).collect();
    fs::write("data.bin", &pattern)?;
    let mut file = OpenOptions::new().read(true).write(true).open("data.bin")?;
    println!("len: {}", file.metadata()?.len());
    let mut contents = Vec::new();
    file.read_to_end(&mut contents)?;
    println!("read back: {}", contents == pattern);
    println!("seek end -10: {}", file.seek(SeekFrom::End(-10))?);
    println!("seek current -90: {}", file.seek(SeekFrom::Current(-90))?);
    let mut buffer = [0u8; 16];
    file.read_exact(&mut buffer)?;
    println!("read at 99900: {}", buffer[..] == pattern[99_900..99_916]);
    println!("stream position: {}", file.stream_position()?);
    println!(
        "seek before the start: {}",
        outcome(file.seek(SeekFrom::Current(-1_000_000)))
    );
    file.seek(SeekFrom::Start(10))?;
    file.write_all(b"0123456789")?;
    file.seek(SeekFrom::Start(200_000))?;
    file.write_all(b"far")?;
    println!("len after writing past the end: {}", file.metadata()?.len());
    file.seek(SeekFrom::Start(150_000))?;
    file.read_exact(&mut buffer)?;
    println!("hole reads zeros: {}", buffer == [0; 16]);
    file.set_len(20)?;
    file.seek(SeekFrom::Start(0))?;
    let mut start = Vec::new();
    file.read_to_end(&mut start)?;
    println!(
        "after set_len(20): {} bytes, read {}, {:?}",
        file.metadata()?.len(),
        start.len(),
        String::from_utf8_lossy(&start[10..])
    );
    file.set_len(1 << 20)?;
    println!("after set_len(1 MiB): {}", file.metadata()?.len());
    file.sync_all()?;
    file.sync_data()?;
    drop(file);

    let mut appender = OpenOptions::new().append(true).open("data.bin")?;
    appender.write_all(b"appended")?;
    drop(appender);
    let contents = fs::read("data.bin")?;
    println!(
        "append: {} bytes, ends with {:?}",
        contents.len(),
        String::from_utf8_lossy(&contents[contents.len() - 8..])
    );
    fs::remove_file("data.bin")?;

    let mut writer = BufWriter::new(File::create("lines.txt")?);
    for line in 0..2000 {
        writeln!(writer, "line {line}: {}", line * line)?;
    }
    writer.into_inner().map_err(|error| error.into_error())?;
    let (mut lines, mut hash) = (0, FNV_OFFSET);
    for line in BufReader::new(File::open("lines.txt")?).lines() {
        lines += 1;
        hash = fnv1a(hash, line?.as_bytes());
    }
    println!("lines: {lines}, fnv1a {hash:016x}");
    println!("copy: {}", fs::copy("lines.txt", "copy.txt")?);
    println!(
        "copy equal: {}",
        fs::read("lines.txt")? == fs::read("copy.txt")?
    );
    fs::remove_file("copy.txt")?;
    Ok(())
}

fn errors() -> io::Result<()> {
    fs::write("exists.txt", "here")?;
    fs::create_dir("directory")?;
    println!("open missing: {}", outcome(File::open("missing.txt")));
    println!(
        "create_new existing: {}",
        outcome(
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open("exists.txt")
        )
    );
    println!(
        "read_to_string a directory: {}",
        outcome(fs::read_to_string("directory"))
    );
    println!(
        "create_dir existing: {}",
        outcome(fs::create_dir("directory"))
    );
    println!(
        "remove_file a directory: {}",
        outcome(fs::remove_file("directory"))
    );
    println!(
        "remove_file missing: {}",
        outcome(fs::remove_file("missing/x"))
    );
    println!(
        "remove_dir a file: {}",
        outcome(fs::remove_dir("exists.txt"))
    );
    println!("read_dir a file: {}", outcome(fs::read_dir("exists.txt")));
    println!(
        "open through a file: {}",
        outcome(File::open("exists.txt/x"))
    );
    println!(
        "rename missing: {}",
        outcome(fs::rename("missing.txt", "other.txt"))
    );
    fs::write("directory/inside", "x")?;
    println!(
        "remove_dir non-empty: {}",
        outcome(fs::remove_dir("directory"))
    );
    println!(
        "exists: {} {}",
        Path::new("exists.txt").exists(),
        Path::new("missing").exists()
    );
    fs::remove_dir_all("directory")?;
    fs::remove_file("exists.txt")?;
    Ok(())
}

fn directories() -> io::Result<()> {
    fs::create_dir_all("tree/a/b/c")?;
    fs::write("tree/a/b/c/leaf.txt", "leaf")?;
    println!("create_dir_all: {}", describe("tree/a/b/c"));
    fs::rename("tree/a/b", "tree/b")?;
    println!(
        "after rename: {} / {}",
        describe("tree/a/b"),
        fs::read_to_string("tree/b/c/leaf.txt")?
    );
    fs::write("tree/replaced.txt", "old")?;
    fs::rename("tree/b/c/leaf.txt", "tree/replaced.txt")?;
    println!(
        "rename over a file: {}",
        fs::read_to_string("tree/replaced.txt")?
    );
    println!(
        "read through ..: {}",
        fs::read_to_string("tree/b/../replaced.txt")?
    );
    fs::remove_dir_all("tree")?;
    println!("remove_dir_all: {}", describe("tree"));
    Ok(())
}

fn links() -> io::Result<()> {
    fs::write("target.txt", "link target")?;
    fs::create_dir("sub")?;
    fs::write("sub/inner.txt", "inner")?;
    println!("symlink: {}", outcome(symlink("target.txt", "link")));
    println!("read_link: {:?}", fs::read_link("link")?);
    println!("symlink_metadata: {}", describe("link"));
    println!("metadata follows: {} bytes", fs::metadata("link")?.len());
    println!("read through link: {}", fs::read_to_string("link")?);
    println!("directory link: {}", outcome(symlink("sub", "sublink")));
    println!(
        "read through directory link: {}",
        fs::read_to_string("sublink/inner.txt")?
    );
    println!("dangling: {}", outcome(symlink("nowhere", "dangling")));
    println!(
        "dangling: {}, metadata {}, exists {}",
        describe("dangling"),
        outcome(fs::metadata("dangling")),
        Path::new("dangling").exists()
    );
    println!("read_link a file: {}", outcome(fs::read_link("target.txt")));
    println!(
        "symlink over existing: {}",
        outcome(symlink("x", "target.txt"))
    );

    fs::hard_link("target.txt", "hard.txt")?;
    println!("hard link: {}", describe("hard.txt"));
    fs::OpenOptions::new()
        .append(true)
        .open("hard.txt")?
        .write_all(b"!")?;
    println!(
        "through the hard link: {}",
        fs::read_to_string("target.txt")?
    );
    let mut names: Vec<String> = fs::read_dir(".")?
        .map(|entry| {
            let entry = entry?;
            let kind = entry.file_type()?;
            Ok(format!(
                "{}:{}",
                entry.file_name().to_string_lossy(),
                if kind.is_symlink() {
                    "l"
                } else if kind.is_dir() {
                    "d"
                } else {
                    "f"
                }
            ))
        })
        .collect::<io::Result<_>>()?;
    names.sort();
    println!("listing: {}", names.join(" "));

    println!("remove link: {}", outcome(fs::remove_file("link")));
    println!("target kept: {}", describe("target.txt"));
    println!(
        "remove_file a directory link keeps the target: {} / {}",
        outcome(fs::remove_file("sublink")),
        describe("sub/inner.txt")
    );
    for path in ["dangling", "hard.txt", "target.txt"] {
        fs::remove_file(path)?;
    }
    fs::remove_dir_all("sub")?;
    Ok(())
}

fn timestamps() -> io::Result<()> {
    let file = File::create("times.txt")?;
    let accessed = UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789);
    let modified = UNIX_EPOCH + Duration::new(1_234_567_890, 987_654_321);
    file.set_times(
        FileTimes::new()
            .set_accessed(accessed)
            .set_modified(modified),
    )?;
    let metadata = fs::metadata("times.txt")?;
    println!(
        "times: accessed {} modified {}",
        since_epoch(metadata.accessed()?),
        since_epoch(metadata.modified()?)
    );
    file.set_modified(UNIX_EPOCH + Duration::from_secs(1_600_000_000))?;
    let metadata = file.metadata()?;
    println!(
        "set_modified: accessed {} modified {}",
        since_epoch(metadata.accessed()?),
        since_epoch(metadata.modified()?)
    );
    let before = SystemTime::now() - Duration::from_secs(1);
    file.set_modified(SystemTime::now())?;
    let modified = file.metadata()?.modified()?;
    println!(
        "set to now: {}",
        modified >= before && modified <= SystemTime::now() + Duration::from_secs(1)
    );
    drop(file);
    fs::remove_file("times.txt")?;
    Ok(())
}

fn many_entries() -> io::Result<()> {
    fs::create_dir("many")?;
    for index in 0..MANY_FILES {
        fs::write(
            format!("many/file-{index:04}-with-a-long-name-so-listing-takes-several-calls"),
            vec![b'x'; index % 41],
        )?;
    }
    for index in 0..5 {
        fs::create_dir(format!("many/dir-{index}"))?;
    }
    let (mut files, mut directories, mut bytes) = (0, 0, 0);
    let mut names = Vec::new();
    for entry in fs::read_dir("many")? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        if file_type.is_file() {
            files += 1;
            bytes += entry.metadata()?.len();
        } else if file_type.is_dir() {
            directories += 1;
        }
        names.push(entry.file_name().into_string().unwrap());
    }
    names.sort();
    let hash = names
        .iter()
        .fold(FNV_OFFSET, |hash, name| fnv1a(hash, name.as_bytes()));
    println!(
        "read_dir: {} entries ({files} files, {directories} directories), {bytes} bytes",
        names.len()
    );
    println!(
        "sorted: first {}, last {}, fnv1a {hash:016x}",
        names[0],
        names[names.len() - 1]
    );
    fs::remove_dir_all("many")?;
    println!("removed: {}", describe("many"));
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut args = args.iter().map(String::as_str).peekable();
    if let Some(dir) = args.next_if(|arg| *arg != "exit") {
        std::env::set_current_dir(dir).expect("changing to the working directory");
    }
    if args.next() == Some("exit") {
        let code: i32 = args.next().and_then(|code| code.parse().ok()).unwrap_or(0);
        // Unbuffered: the file is complete before the process exits.
        File::create("exit.txt")
            .and_then(|mut file| file.write_all(format!("exit {code}\n").as_bytes()))
            .expect("writing exit.txt");
        println!("exiting with {code}");
        std::process::exit(code);
    }

    type Section = fn() -> io::Result<()>;
    let sections: [(&str, Section); 6] = [
        ("files", files),
        ("errors", errors),
        ("directories", directories),
        ("links", links),
        ("timestamps", timestamps),
        ("many entries", many_entries),
    ];
    let mut failures = 0;
    for (name, section) in sections {
        println!("== {name}");
        if let Err(error) = section() {
            println!("FAILED: {name}: {error}");
            failures += 1;
        }
    }
    println!("failures: {failures}");
    std::process::exit(if failures == 0 { 0 } else { 1 });
}
