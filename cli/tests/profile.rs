//! Profile-guided optimization end to end (`kiln build --profile-generate`, `--profile-use`):
//! the counts an executable writes for `tests/programs/wat/call_counts.wat`, exactly, whatever
//! ends the run; the same output with and without the profile (also for a C program and
//! sightglass benchmarks, a differential check); profiles of other modules and corrupt ones
//! refused with exit 1 and a message naming the file; the flags refused where they do not
//! apply; the profile writer linked only into executables of code that counts.

mod support;

use kiln_abi::profile::ProfileData;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{assert_success, path_str, run_kiln, scratch_dir, wat_program, Output};

/// The entry counts of `call_counts.wat`'s defined functions: `$never`, `$leaf`, `$mid`,
/// `$print_u32`, `_start`.
const CALL_COUNTS: [u64; 5] = [0, 100, 10, 1, 1];

/// What `call_counts.wat` prints.
const CALL_COUNTS_STDOUT: &str = "2952445\n";

/// `kiln build` with `args`, which must succeed.
fn build(args: &[&str]) {
    let mut full = vec!["build"];
    full.extend_from_slice(args);
    let output = run_kiln(&full, b"");
    assert_success(&output, &format!("kiln {}", full.join(" ")));
}

/// Runs `executable` with `args` in `dir`, with `env` set.
fn run_in(dir: &Path, executable: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(executable);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("KILN_PROFILE_FILE");
    for (name, value) in env {
        command.env(name, value);
    }
    support::run(&mut command, b"")
}

/// The profile in `file`, decoded.
fn read_profile(file: &Path) -> ProfileData {
    let bytes = std::fs::read(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    ProfileData::decode(&bytes).unwrap_or_else(|error| panic!("{}: {error}", file.display()))
}

/// The wasm bytes of a text program, as kiln reads them (for their hash).
fn wasm_of(wat: &Path) -> Vec<u8> {
    wat::parse_file(wat).unwrap()
}

/// Builds `call_counts.wat` with `--profile-generate=FILE` (and `flags`) into `scratch`,
/// runs it with `args`; returns the run's output and the profile file.
fn generate(scratch: &Path, flags: &[&str], args: &[&str]) -> (Output, PathBuf) {
    let input = wat_program("call_counts");
    let executable = scratch.join("counting");
    let file = scratch.join("counts.kilnprof");
    let generate = format!("--profile-generate={}", path_str(&file));
    let mut build_args = vec![path_str(&input), "-o", path_str(&executable), &generate];
    build_args.extend_from_slice(flags);
    build(&build_args);
    let _ = std::fs::remove_file(&file);
    (run_in(scratch, &executable, args, &[]), file)
}

#[test]
fn an_executable_writes_exact_entry_counts() {
    let scratch = scratch_dir("exact");
    let (output, file) = generate(&scratch, &[], &[]);
    assert_success(&output, "the counting executable");
    assert_eq!(output.stdout, CALL_COUNTS_STDOUT);
    let profile = read_profile(&file);
    assert_eq!(profile.counts, CALL_COUNTS);
    let wasm = wasm_of(&wat_program("call_counts"));
    assert_eq!(
        profile.module_sha256,
        <[u8; 32]>::from(Sha256::digest(&wasm))
    );
    // A second run adds its counts to those of the same module.
    let output = run_in(&scratch, &scratch.join("counting"), &[], &[]);
    assert_success(&output, "the second run");
    let doubled: Vec<u64> = CALL_COUNTS.iter().map(|count| count * 2).collect();
    assert_eq!(read_profile(&file).counts, doubled);
    // Anything else in the file is replaced.
    std::fs::write(&file, b"not a profile").unwrap();
    run_in(&scratch, &scratch.join("counting"), &[], &[]);
    assert_eq!(read_profile(&file).counts, CALL_COUNTS);
}

#[test]
fn inlined_calls_still_count() {
    let scratch = scratch_dir("inlined");
    let (output, file) = generate(&scratch, &["--inline"], &[]);
    assert_success(&output, "the counting executable with --inline");
    assert_eq!(read_profile(&file).counts, CALL_COUNTS);
}

#[test]
fn a_trap_or_proc_exit_still_writes_the_profile() {
    let scratch = scratch_dir("trap");
    let (output, file) = generate(&scratch, &[], &["trap"]);
    assert_eq!(output.code, Some(134), "{}", output.describe());
    assert!(
        output.stderr.contains("unreachable"),
        "{}",
        output.describe()
    );
    assert_eq!(read_profile(&file).counts, CALL_COUNTS);

    let scratch = scratch_dir("proc-exit");
    let (output, file) = generate(&scratch, &[], &["exit", "7"]);
    assert_eq!(output.code, Some(7), "{}", output.describe());
    assert_eq!(read_profile(&file).counts, CALL_COUNTS);
}

#[test]
fn the_default_file_is_the_output_with_kilnprof_and_the_environment_overrides_it() {
    let scratch = scratch_dir("default-file");
    let input = wat_program("call_counts");
    let executable = scratch.join("app");
    build(&[
        path_str(&input),
        "-o",
        path_str(&executable),
        "--profile-generate",
    ]);
    // Run from elsewhere: the path was made absolute at build time.
    let elsewhere = scratch_dir("default-file-cwd");
    let output = run_in(&elsewhere, &executable, &[], &[]);
    assert_success(&output, "the counting executable");
    assert_eq!(
        read_profile(&scratch.join("app.kilnprof")).counts,
        CALL_COUNTS
    );
    assert!(!elsewhere.join("app.kilnprof").exists());

    let chosen = elsewhere.join("chosen.kilnprof");
    let output = run_in(
        &elsewhere,
        &executable,
        &[],
        &[("KILN_PROFILE_FILE", path_str(&chosen))],
    );
    assert_success(&output, "with KILN_PROFILE_FILE");
    assert_eq!(read_profile(&chosen).counts, CALL_COUNTS);
    // The baked-in file was left alone: one run's counts.
    assert_eq!(
        read_profile(&scratch.join("app.kilnprof")).counts,
        CALL_COUNTS
    );
}

#[test]
fn a_profile_that_cannot_be_written_is_a_warning_only() {
    let scratch = scratch_dir("unwritable");
    let input = wat_program("call_counts");
    let executable = scratch.join("app");
    let missing = scratch.join("no-such-dir").join("p.kilnprof");
    let generate = format!("--profile-generate={}", path_str(&missing));
    build(&[path_str(&input), "-o", path_str(&executable), &generate]);
    let output = run_in(&scratch, &executable, &["exit", "7"], &[]);
    assert_eq!(output.code, Some(7), "{}", output.describe());
    assert_eq!(output.stdout, CALL_COUNTS_STDOUT);
    assert!(
        output.stderr.contains("warning: cannot write the profile")
            && output.stderr.contains("no-such-dir"),
        "{}",
        output.describe()
    );
}

#[test]
fn only_executables_that_count_link_the_profile_writer() {
    use object::{Object, ObjectSymbol};
    let scratch = scratch_dir("linked-part");
    let input = wat_program("call_counts");
    let has_writer = |executable: &Path| {
        let bytes = std::fs::read(executable).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let found = file
            .symbols()
            .any(|symbol| symbol.name() == Ok("kiln_profile_write"));
        found
    };
    let plain = scratch.join("plain");
    build(&[path_str(&input), "-o", path_str(&plain)]);
    assert!(
        !has_writer(&plain),
        "a plain executable links the profile writer"
    );
    let counting = scratch.join("counting");
    build(&[
        path_str(&input),
        "-o",
        path_str(&counting),
        "--profile-generate",
    ]);
    assert!(
        has_writer(&counting),
        "a counting executable lacks the profile writer"
    );
}

#[test]
fn a_profile_changes_placement_not_results() {
    let scratch = scratch_dir("use");
    let (output, file) = generate(&scratch, &[], &[]);
    assert_success(&output, "the training run");
    let input = wat_program("call_counts");
    let use_file = path_str(&file);
    for (name, flags) in [
        ("plain", vec![]),
        ("use", vec!["--profile-use", use_file]),
        ("use-inline", vec!["--profile-use", use_file, "--inline"]),
    ] {
        let executable = scratch.join(name);
        let mut args = vec![path_str(&input), "-o", path_str(&executable)];
        args.extend(flags);
        build(&args);
        let output = run_in(&scratch, &executable, &[], &[]);
        assert_success(&output, name);
        assert_eq!(output.stdout, CALL_COUNTS_STDOUT, "{name}");
    }
    // `kiln compile` takes it too.
    let object = scratch.join("module.o");
    let output = run_kiln(
        &[
            "compile",
            path_str(&input),
            "-o",
            path_str(&object),
            "--profile-use",
            use_file,
        ],
        b"",
    );
    assert_success(&output, "kiln compile --profile-use");
}

/// `kiln build` of `input` with `flags`, expected to fail with exit 1 and every one of
/// `messages` on stderr.
fn refused(input: &Path, flags: &[&str], messages: &[&str]) {
    let scratch = scratch_dir("refused");
    let executable = scratch.join("app");
    let mut args = vec!["build", path_str(input), "-o", path_str(&executable)];
    args.extend_from_slice(flags);
    kiln_refuses(&args, messages);
}

/// `kiln` with `args`, expected to fail with exit 1, every one of `messages` on stderr
/// and no panic.
fn kiln_refuses(args: &[&str], messages: &[&str]) {
    let output = run_kiln(args, b"");
    assert_eq!(output.code, Some(1), "{}", output.describe());
    for message in messages {
        assert!(
            output.stderr.contains(message),
            "{message:?}\n{}",
            output.describe()
        );
    }
    assert!(!output.stderr.contains("panicked"), "{}", output.describe());
}

#[test]
fn profiles_of_other_modules_and_corrupt_profiles_are_refused() {
    let scratch = scratch_dir("mismatch");
    let input = wat_program("call_counts");
    let other = wat_program("count_loop");
    let other_file = scratch.join("other.kilnprof");
    let generate = format!("--profile-generate={}", path_str(&other_file));
    build(&[
        path_str(&other),
        "-o",
        path_str(&scratch.join("other")),
        &generate,
    ]);
    let output = run_in(&scratch, &scratch.join("other"), &[], &[]);
    assert_success(&output, "count_loop");
    let other_name = path_str(&other_file);
    refused(
        &input,
        &["--profile-use", other_name],
        &[other_name, "the profile is of another module"],
    );

    // The right module's hash with the wrong number of functions.
    let wasm = wasm_of(&input);
    let forged = scratch.join("forged.kilnprof");
    let profile = ProfileData {
        module_sha256: Sha256::digest(&wasm).into(),
        counts: vec![1; 4],
    };
    std::fs::write(&forged, profile.encode()).unwrap();
    refused(
        &input,
        &["--profile-use", path_str(&forged)],
        &[
            path_str(&forged),
            "the profile counts 4 functions, the module defines 5",
        ],
    );

    // Truncated, past the header and within it, and not a profile at all.
    let good = ProfileData {
        module_sha256: Sha256::digest(&wasm).into(),
        counts: CALL_COUNTS.to_vec(),
    }
    .encode();
    let truncated = scratch.join("truncated.kilnprof");
    std::fs::write(&truncated, &good[..good.len() - 3]).unwrap();
    refused(
        &input,
        &["--profile-use", path_str(&truncated)],
        &[path_str(&truncated), "corrupt kiln profile"],
    );
    std::fs::write(&truncated, &good[..20]).unwrap();
    refused(
        &input,
        &["--profile-use", path_str(&truncated)],
        &[path_str(&truncated), "not a kiln profile"],
    );
    let missing = scratch.join("missing.kilnprof");
    refused(
        &input,
        &["--profile-use", path_str(&missing)],
        &[path_str(&missing), "cannot read the profile"],
    );
    // The good one is accepted.
    std::fs::write(&truncated, &good).unwrap();
    build(&[
        path_str(&input),
        "-o",
        path_str(&scratch.join("ok")),
        "--profile-use",
        path_str(&truncated),
    ]);
}

#[test]
fn components_static_libraries_and_images_refuse_the_flags() {
    let scratch = scratch_dir("components");
    let component = support::repository_root()
        .join("component")
        .join("tests")
        .join("components")
        .join("wasi-like.wat");
    let profile = scratch.join("p.kilnprof");
    std::fs::write(&profile, b"").unwrap();
    refused(
        &component,
        &["--profile-generate"],
        &["--profile-generate is not supported for components"],
    );
    refused(
        &component,
        &["--profile-use", path_str(&profile)],
        &["--profile-use is not supported for components"],
    );
    let input = wat_program("call_counts");
    kiln_refuses(
        &[
            "compile",
            path_str(&input),
            "--emit",
            "staticlib",
            "--header",
            path_str(&scratch.join("calc.h")),
            "-o",
            path_str(&scratch.join("libcalc.a")),
            "--profile-generate",
        ],
        &["--profile-generate is not supported for --emit staticlib"],
    );
    kiln_refuses(
        &[
            "build",
            path_str(&input),
            "--oci",
            path_str(&scratch.join("image")),
            "--profile-generate",
        ],
        &["--profile-generate is not supported for OCI images"],
    );
}

/// Builds `wasm` plain, with `--profile-generate` (run once in `dir` with `grants` as the
/// training run), with `--profile-use` and with `--profile-use --inline`, and checks that
/// every build prints what the plain one prints.
fn differential(name: &str, wasm: &Path, dir: &Path, grants: &[&str]) {
    let scratch = scratch_dir(&format!("differential-{name}"));
    let file = scratch.join("train.kilnprof");
    let generate = format!("--profile-generate={}", path_str(&file));
    let use_file = path_str(&file).to_string();
    let variants: [(&str, Vec<&str>); 4] = [
        ("plain", vec![]),
        ("generate", vec![&generate]),
        ("use", vec!["--profile-use", &use_file]),
        ("use-inline", vec!["--profile-use", &use_file, "--inline"]),
    ];
    let mut expected: Option<Output> = None;
    for (variant, flags) in variants {
        let executable = scratch.join(variant);
        let mut args = vec![path_str(wasm), "-o", path_str(&executable)];
        args.extend_from_slice(grants);
        args.extend(flags);
        build(&args);
        let output = run_in(dir, &executable, &[], &[]);
        assert_success(&output, &format!("{name} ({variant})"));
        match &expected {
            None => expected = Some(output),
            Some(plain) => {
                assert_eq!(output.stdout, plain.stdout, "{name} ({variant})");
                assert_eq!(output.code, plain.code, "{name} ({variant})");
            }
        }
        if variant == "generate" {
            let counts = read_profile(&file).counts;
            assert!(
                counts.iter().any(|&count| count > 0),
                "{name}: nothing counted"
            );
        }
    }
}

#[test]
fn programs_give_the_same_output_with_and_without_a_profile() {
    let programs =
        support::build_c_programs(&[("compute", false)]).unwrap_or_else(|error| panic!("{error}"));
    let compute = &programs["compute"];
    let scratch = scratch_dir("differential-c-cwd");
    differential("c-compute", &compute.wasm, &scratch, &[]);

    let corpus = support::repository_root()
        .parent()
        .unwrap()
        .join("shared/corpora/sightglass/benchmarks");
    for benchmark in [
        "shootout/shootout-heapsort",
        "shootout/shootout-fib2",
        "quicksort",
    ] {
        let (dir, wasm) = match benchmark.split_once('/') {
            Some((dir, name)) => (
                corpus.join(dir),
                corpus.join(dir).join(format!("{name}.wasm")),
            ),
            None => (
                corpus.join(benchmark),
                corpus.join(benchmark).join("benchmark.wasm"),
            ),
        };
        assert!(wasm.is_file(), "{} is missing", wasm.display());
        differential(benchmark, &wasm, &dir, &["--dir", ".::."]);
    }
}
