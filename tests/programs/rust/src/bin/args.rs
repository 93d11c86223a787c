//! Prints its arguments (not the program name, which differs between a native run, a
//! kiln-built executable and `kiln run`) and the size of its environment, writes one line to
//! stderr, and exits with the code given as the first argument through
//! `std::process::exit`, called a few frames deep.

use std::process;

fn exit_with(code: &str) -> ! {
    let code: i32 = code.parse().unwrap_or(0);
    println!("exiting with {code}");
    process::exit(code)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "args={} environ={}",
        args.len(),
        std::env::vars_os().count()
    );
    for (index, arg) in args.iter().enumerate() {
        println!("arg[{}]={arg:?}", index + 1);
    }
    eprintln!("args: this line goes to stderr");
    if let Some(code) = args.first() {
        exit_with(code);
    }
}
