//! `kiln build --oci`: OCI images read by real tools (skopeo, umoci: Debian packages that
//! `.ci/run` installs), their entrypoint run in a chroot of the unpacked root file system
//! (and under qemu for arm64), reproducibility, the grants' mapping into the image config,
//! and the refusals.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{
    assert_success, build_c_wasm, path_str, repository_root, run_kiln, scratch_dir, Output, KILN,
};

const INSTALL_HINT: &str =
    "install skopeo and umoci (`apt-get install skopeo umoci`, as .ci/run does)";

fn run(command: &mut Command) -> Output {
    support::run(command, b"")
}

fn hello() -> PathBuf {
    repository_root().join("examples").join("hello.wat")
}

/// Runs a tool of the test, failing with what to install when it is missing.
fn tool(program: &str, args: &[&str]) -> Output {
    if Command::new(program).arg("--version").output().is_err() {
        panic!("{program} is missing: {INSTALL_HINT}");
    }
    let output = run(Command::new(program).args(args));
    assert_success(&output, program);
    output
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn kiln_build(args: &[&str], envs: &[(&str, &str)]) -> Output {
    run(Command::new(KILN)
        .arg("build")
        .args(args)
        .envs(envs.iter().copied()))
}

/// Unpacks image `reference` (`DIR:TAG`) with umoci into `bundle` and returns the root
/// file system's path and the runtime configuration umoci derived from the image.
fn unpack(reference: &str, bundle: &Path) -> (PathBuf, serde_json::Value) {
    tool("umoci", &["unpack", "--image", reference, path_str(bundle)]);
    let config = std::fs::read_to_string(bundle.join("config.json")).unwrap();
    (bundle.join("rootfs"), json(&config))
}

/// The files (not directories) under `root`, relative to it.
fn files_under(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// Every file of a directory tree with its bytes, for comparing two layouts.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(root)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(root.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn an_image_holds_only_the_executable_and_runs_it_in_a_chroot() {
    let scratch = scratch_dir("chroot");
    let layout = scratch.join("image");
    let built = kiln_build(
        &[
            path_str(&hello()),
            "--oci",
            path_str(&layout),
            "--size-report",
        ],
        &[],
    );
    assert_success(&built, "kiln build --oci");
    // The size report names the platform's executable, then counts the blobs as written:
    // issue 20's goal is a hello image of at most 200 KiB in blobs.
    let blobs: Vec<u64> = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .collect();
    let blob_bytes: u64 = blobs.iter().sum();
    assert!(
        built.stdout.starts_with("linux/amd64 executable: ")
            && built.stdout.contains("runtime and libc")
            && built.stdout.ends_with(&format!(
                "OCI image: {blob_bytes} bytes in {} blobs\n",
                blobs.len()
            )),
        "{}",
        built.stdout
    );
    assert!(blob_bytes <= 200 * 1024, "{blob_bytes} bytes in blobs");

    let inspected = tool(
        "skopeo",
        &["inspect", &format!("oci:{}:latest", layout.display())],
    );
    let inspected = json(&inspected.stdout);
    assert_eq!(inspected["Architecture"], "amd64", "{inspected}");
    assert_eq!(inspected["Os"], "linux", "{inspected}");
    assert_eq!(
        inspected["Layers"].as_array().unwrap().len(),
        1,
        "{inspected}"
    );
    let labels = &inspected["Labels"];
    assert_eq!(
        labels["dev.kiln.version"],
        env!("CARGO_PKG_VERSION"),
        "{inspected}"
    );
    // The label is the SHA-256 of the module's binary form (a .wat file's, once converted).
    let wasm = wat::parse_file(hello()).unwrap();
    let digest: String = {
        use sha2::Digest;
        let bytes = sha2::Sha256::digest(&wasm);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(
        labels["dev.kiln.module.digest"],
        format!("sha256:{digest}"),
        "{inspected}"
    );
    // No creation time unless SOURCE_DATE_EPOCH asks for one.
    assert!(inspected["Created"].is_null(), "{inspected}");

    let (rootfs, config) = unpack(
        &format!("{}:latest", layout.display()),
        &scratch.join("bundle"),
    );
    assert_eq!(files_under(&rootfs), vec!["hello".to_string()]);
    assert_eq!(
        config["process"]["args"],
        serde_json::json!(["/hello"]),
        "{config}"
    );
    assert_eq!(config["process"]["cwd"], "/", "{config}");
    let output = run(Command::new("chroot").arg(&rootfs).arg("/hello"));
    assert_success(&output, "the image's entrypoint in a chroot");
    assert_eq!(output.stdout, "hello from kiln\n");

    // Under a real OCI runtime when the machine has one (not installed by CI).
    for runtime in ["crun", "runc"] {
        if Command::new(runtime).arg("--version").output().is_ok() {
            let bundle = scratch.join("bundle");
            let output = run(Command::new(runtime)
                .args(["run", "--bundle"])
                .arg(&bundle)
                .arg(format!("kiln-oci-test-{}", std::process::id())));
            assert_success(&output, runtime);
            assert_eq!(output.stdout, "hello from kiln\n");
        }
    }
}

#[test]
fn images_are_reproducible_and_honour_source_date_epoch() {
    let scratch = scratch_dir("reproducible");
    let build = |name: &str, envs: &[(&str, &str)]| {
        let layout = scratch.join(name);
        let archive = scratch.join(format!("{name}.tar"));
        let built = kiln_build(
            &[
                path_str(&hello()),
                "--oci",
                path_str(&layout),
                "--oci-archive",
                path_str(&archive),
            ],
            envs,
        );
        assert_success(&built, "kiln build --oci");
        (tree(&layout), std::fs::read(&archive).unwrap())
    };
    let first = build("first", &[]);
    let second = build("second", &[]);
    assert_eq!(first, second, "two builds of the same inputs differ");

    let dated = build("dated", &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_ne!(first.0, dated.0, "SOURCE_DATE_EPOCH changed nothing");
    let again = build("dated-again", &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(dated, again);
    let reference = format!("oci:{}:latest", scratch.join("dated").display());
    let inspected = json(&tool("skopeo", &["inspect", &reference]).stdout);
    assert_eq!(inspected["Created"], "2023-11-14T22:13:20Z", "{inspected}");

    // The archive is the same layout: skopeo reads it as `oci-archive:`.
    let reference = format!("oci-archive:{}:latest", scratch.join("dated.tar").display());
    let from_archive = json(&tool("skopeo", &["inspect", &reference]).stdout);
    assert_eq!(from_archive["Digest"], inspected["Digest"]);
}

#[test]
fn a_multi_platform_image_runs_on_amd64_and_arm64() {
    let scratch = scratch_dir("multi-platform");
    let layout = scratch.join("image");
    let built = kiln_build(
        &[
            path_str(&hello()),
            "--oci",
            path_str(&layout),
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "aarch64-unknown-linux-musl",
        ],
        &[],
    );
    assert_success(&built, "kiln build --oci for two targets");
    let reference = format!("oci:{}:latest", layout.display());
    let raw = json(&tool("skopeo", &["inspect", "--raw", &reference]).stdout);
    assert_eq!(
        raw["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{raw}"
    );
    let platforms: Vec<String> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}/{}", m["platform"]["os"], m["platform"]["architecture"]))
        .collect();
    assert_eq!(
        platforms,
        ["\"linux\"/\"amd64\"", "\"linux\"/\"arm64\""],
        "{raw}"
    );

    for (architecture, runner) in [("amd64", None), ("arm64", Some("qemu-aarch64"))] {
        let inspected = json(
            &tool(
                "skopeo",
                &["inspect", "--override-arch", architecture, &reference],
            )
            .stdout,
        );
        assert_eq!(inspected["Architecture"], architecture, "{inspected}");
        // One platform's image, copied out of the index, unpacked and run.
        let single = scratch.join(architecture);
        tool(
            "skopeo",
            &[
                "copy",
                "--override-arch",
                architecture,
                &reference,
                &format!("oci:{}:latest", single.display()),
            ],
        );
        let (rootfs, _) = unpack(
            &format!("{}:latest", single.display()),
            &scratch.join(format!("{architecture}-bundle")),
        );
        let mut command = match runner {
            None => Command::new(rootfs.join("hello")),
            Some(qemu) => {
                let mut command = Command::new(qemu);
                command.arg(rootfs.join("hello"));
                command
            }
        };
        let output = run(&mut command);
        assert_success(&output, &format!("the {architecture} entrypoint"));
        assert_eq!(output.stdout, "hello from kiln\n");
    }
}

#[test]
fn preopened_directories_become_volumes_and_env_is_listed() {
    let scratch = scratch_dir("volumes");
    let source = scratch.join("greet.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\n#include <stdlib.h>\n\
         int main(void) {\n\
           FILE *f = fopen(\"/data/greeting.txt\", \"r\");\n\
           if (!f) { perror(\"/data/greeting.txt\"); return 2; }\n\
           char line[64] = {0};\n\
           fgets(line, sizeof line, f);\n\
           printf(\"%s, %s\", getenv(\"WHO\"), line);\n\
           return 0;\n\
         }\n",
    )
    .unwrap();
    let wasm = scratch.join("greet.wasm");
    build_c_wasm(&source, &wasm).unwrap_or_else(|e| panic!("{e}"));
    let layout = scratch.join("image");
    let built = kiln_build(
        &[
            path_str(&wasm),
            "--oci",
            path_str(&layout),
            "--dir",
            "/data",
            "--dir",
            "cache::/cache",
            "--dir-read-only",
            "/config",
            "--env",
            "WHO=kiln",
            "--allow-tcp-connect",
            "10.0.0.0/8:443",
            "--allow-ip-name-lookup",
            "--cwd",
            "/data",
        ],
        &[],
    );
    assert_success(&built, "kiln build --oci with grants");
    let reference = format!("oci:{}:latest", layout.display());
    let config = json(&tool("skopeo", &["inspect", "--config", &reference]).stdout);
    let volumes: Vec<&String> = config["config"]["Volumes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    // A read-only preopen is a volume too: the mount decides whether the container may
    // write there, the executable refuses the guest's changes anyway.
    assert_eq!(volumes, ["/cache", "/config", "/data"], "{config}");
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["WHO=kiln"]),
        "{config}"
    );
    assert_eq!(config["config"]["WorkingDir"], "/", "{config}");
    // Grants a container runtime has no equivalent for are labels.
    let labels = &config["config"]["Labels"];
    assert_eq!(
        labels["dev.kiln.wasi.allow-tcp-connect"], "10.0.0.0/8:443",
        "{config}"
    );
    assert_eq!(
        labels["dev.kiln.wasi.allow-ip-name-lookup"], "true",
        "{config}"
    );
    assert_eq!(labels["dev.kiln.wasi.cwd"], "/data", "{config}");
    assert!(labels["dev.kiln.wasi.allow-udp"].is_null(), "{config}");

    let (rootfs, _) = unpack(
        &format!("{}:latest", layout.display()),
        &scratch.join("bundle"),
    );
    // What an orchestrator does: mount storage at the volumes.
    for volume in ["data", "cache", "config"] {
        std::fs::create_dir_all(rootfs.join(volume)).unwrap();
    }
    std::fs::write(rootfs.join("data/greeting.txt"), "hello from a volume\n").unwrap();
    let output = run(Command::new("chroot").arg(&rootfs).arg("/greet"));
    assert_success(&output, "the entrypoint with its volumes");
    assert_eq!(output.stdout, "kiln, hello from a volume\n");
}

#[test]
fn what_cannot_make_an_image_is_refused() {
    let scratch = scratch_dir("refused");
    let layout = scratch.join("image");
    let input = hello();
    let executable = scratch.join("exe");
    // (arguments after the input, environment, what the error says)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (
            &[
                "--oci",
                path_str(&layout),
                "--target",
                "x86_64-unknown-linux-gnu",
            ],
            &[],
            "--target x86_64-unknown-linux-musl",
        ),
        (
            &["--oci", path_str(&layout)],
            &[("SOURCE_DATE_EPOCH", "yesterday")],
            "SOURCE_DATE_EPOCH",
        ),
        (
            &["--oci", path_str(&layout), "-o", path_str(&executable)],
            &[],
            "-o and --oci",
        ),
        (
            &[
                "--oci",
                path_str(&layout),
                "--target",
                "x86_64-unknown-linux-musl",
                "--target",
                "x86_64-unknown-linux-musl",
            ],
            &[],
            "two targets for linux/amd64",
        ),
    ];
    for (args, envs, message) in cases {
        let mut all = vec![path_str(&input)];
        all.extend_from_slice(args);
        let output = kiln_build(&all, envs);
        let context = output.describe();
        assert_eq!(output.code, Some(1), "{context}");
        assert!(output.stderr.contains(message), "{context}");
        assert!(!output.stderr.contains("panicked"), "{context}");
    }
    // A directory that holds something else is never written into.
    let occupied = scratch.join("occupied");
    std::fs::create_dir_all(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    let output = kiln_build(&[path_str(&input), "--oci", path_str(&occupied)], &[]);
    assert_eq!(output.code, Some(1), "{}", output.describe());
    assert!(output
        .stderr
        .contains("neither empty nor an OCI image layout"));
    assert_eq!(files_under(&occupied), ["notes.txt"]);
    // Several targets are for images only.
    let output = run_kiln(
        &[
            "compile",
            path_str(&input),
            "-o",
            path_str(&scratch.join("x.o")),
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target",
            "aarch64-unknown-linux-gnu",
        ],
        b"",
    );
    assert_eq!(output.code, Some(1), "{}", output.describe());
    assert!(output.stderr.contains("only `kiln build --oci`"));
}
