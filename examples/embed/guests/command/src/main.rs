//! A WASI 0.2 command that the host runs as an embedded component: it prints its
//! arguments and an environment variable the host gives it, writes a file into the
//! directory the host preopens as `/out`, and fails when its first argument is `fail`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("[component] args {args:?}");
    println!(
        "[component] GREETING={}",
        std::env::var("GREETING").unwrap_or_default()
    );
    if let Err(error) = std::fs::write("/out/note.txt", format!("{} args\n", args.len())) {
        println!("[component] cannot write /out/note.txt: {error}");
        return ExitCode::FAILURE;
    }
    if args.first().is_some_and(|arg| arg == "fail") {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
