//! `kiln run --invoke`: multi-value results of any number, printed one per line.

use std::path::Path;
use std::process::Command;

#[test]
fn invoke_prints_every_result_of_a_many_valued_function() {
    let module =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/programs/wat/many_results.wat");
    let output = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["run", "--invoke", "swap3"])
        .arg(&module)
        .args(["1", "-2", "3.5"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let expected = "3.5 -2 1 1 -2 3.5 7 -8 1.5 2.25 9 10 11 12 13 14 15 16";
    assert_eq!(results.join(" "), expected);
}
