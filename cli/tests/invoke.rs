//! `kiln run --invoke`: multi-value results of any number, printed one per line.

mod support;

use std::process::Command;
use support::{assert_success, run, wat_program, KILN};

#[test]
fn invoke_prints_every_result_of_a_many_valued_function() {
    let module = wat_program("many_results");
    let output = run(
        Command::new(KILN)
            .args(["run", "--invoke", "swap3"])
            .arg(&module)
            .args(["1", "-2", "3.5"]),
        b"",
    );
    assert_success(&output, "kiln run --invoke swap3");
    let results: Vec<&str> = output.stdout.lines().collect();
    let expected = "3.5 -2 1 1 -2 3.5 7 -8 1.5 2.25 9 10 11 12 13 14 15 16";
    assert_eq!(results.join(" "), expected);
}
