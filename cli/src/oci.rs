//! `kiln build --oci DIR` / `--oci-archive FILE.tar`: an OCI image whose only file is the
//! module's static musl executable, one image per `--target`, joined in a multi-platform
//! index when there are several. The image runs on any container runtime, with no Wasm
//! runtime on the node.
//!
//! Layout (OCI image-spec 1.0): `oci-layout`, `index.json`, and `blobs/sha256/<digest>`
//! for each layer (a gzip-compressed tar holding `/<name>`, mode 0755, owned by root),
//! config and manifest, plus the image index when there are several platforms.
//! `index.json` names the image (or the index) `org.opencontainers.image.ref.name` =
//! `--oci-tag` (default `latest`).
//!
//! Reproducible: the same module, flags and kiln give byte-identical blobs and digests.
//! Nothing depends on the clock or the machine: file times in the layer are
//! `SOURCE_DATE_EPOCH` (0 when unset), the config's `created` is written only when
//! `SOURCE_DATE_EPOCH` is set, JSON objects have sorted keys, gzip headers carry no time
//! or name.
//!
//! Baked WASI grants map into the image config where they have an equivalent: the
//! working directory is `/`; each preopened host directory (`--dir` and `--dir-read-only`
//! alike) becomes a volume at its absolute path (a relative one is taken from `/`), so an
//! orchestrator can mount storage there: the container runtime's mount decides whether the
//! container can write to it, and the executable refuses changes beneath a read-only
//! preopen whatever the mount allows;
//! `--env` pairs are listed in `Env` as well as baked (the guest sees the baked values
//! whatever the container's environment; with `--inherit-env` it also sees the
//! container's). Labels: `dev.kiln.version` and `dev.kiln.module.digest` (the SHA-256 of
//! the module's binary form: a `.wat` file's once converted).
//!
//! Grants a container runtime has no equivalent for are baked in as ever, and recorded as
//! labels so that whoever deploys the image sees what it may do (the container's network
//! is the orchestrator's to restrict; the executable reaches no more than these whatever
//! it allows): `dev.kiln.wasi.allow-tcp-listen`, `dev.kiln.wasi.allow-tcp-connect`,
//! `dev.kiln.wasi.allow-udp` (the flag's address patterns in canonical form, joined by
//! `,`), `dev.kiln.wasi.allow-ip-name-lookup` and `dev.kiln.wasi.inherit-network`
//! (`true`), each present only when granted. `--cwd` is a guest path, not a path of the
//! container (`WorkingDir` stays `/`, which relative preopens are taken from), so it is
//! the label `dev.kiln.wasi.cwd`.

use crate::emit::BuildArgs;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use target_lexicon::{Architecture, Environment, Triple};

const MEDIA_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A content-addressed blob of the layout.
struct Blob {
    digest: String,
    bytes: Vec<u8>,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Blob {
        Blob {
            digest: sha256(&bytes),
            bytes,
        }
    }

    /// The blob as an OCI descriptor of `media_type`.
    fn descriptor(&self, media_type: &str) -> Value {
        json!({
            "mediaType": media_type,
            "digest": self.digest,
            "size": self.bytes.len(),
        })
    }
}

fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// JSON as the layout stores it: compact, keys sorted (serde_json's default map).
fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values always serialize")
}

/// The image's reproducibility epoch: `SOURCE_DATE_EPOCH`, if set.
fn source_date_epoch() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("SOURCE_DATE_EPOCH must be a number of seconds since 1970")
        }
        Ok(text) => text.trim().parse::<u64>().map(Some).map_err(|_| {
            anyhow::anyhow!("SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970")
        }),
    }
}

/// The OCI architecture name of a target, which must be a static (musl) Linux target.
fn platform_architecture(target: &Triple) -> Result<&'static str> {
    if target.environment != Environment::Musl {
        bail!(
            "--oci needs static executables, so a musl target: use --target {}-unknown-linux-musl instead of {target}",
            target.architecture
        );
    }
    match target.architecture {
        Architecture::X86_64 => Ok("amd64"),
        Architecture::Aarch64(_) => Ok("arm64"),
        other => bail!("--oci: no OCI platform for architecture {other}"),
    }
}

/// The executable's name in the image: the module's file stem, limited to characters that
/// need no quoting anywhere, or `app`.
fn entry_name(input: &Path) -> String {
    let stem = input
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean = !stem.is_empty()
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if clean {
        stem
    } else {
        "app".into()
    }
}

/// A gzip-compressed tar with one executable file at `/name`.
fn layer(name: &str, executable: &[u8], mtime: u64) -> Result<(Blob, String)> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_path(name)?;
    header.set_size(executable.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, executable)?;
    let tar = tar.into_inner()?;
    let diff_id = sha256(&tar);
    // No time, no file name, fixed OS byte: the same tar gives the same bytes.
    let mut gzip = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::best());
    gzip.write_all(&tar)?;
    Ok((Blob::new(gzip.finish()?), diff_id))
}

/// The image config's `config` object from the baked grants.
fn runtime_config(args: &BuildArgs, entry: &str, module_digest: &str) -> Result<Value> {
    let grants = args.grants.grants()?;
    let mut volumes = serde_json::Map::new();
    for (host, _guest) in grants.dirs.iter().chain(&grants.read_only_dirs) {
        let absolute = Path::new("/").join(host);
        // `.` (the working directory, here the root) is the whole file system: no volume.
        let normalized: std::path::PathBuf = absolute.components().collect();
        if normalized != Path::new("/") {
            volumes.insert(normalized.display().to_string(), json!({}));
        }
    }
    let env: Vec<String> = grants
        .env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let mut labels = serde_json::Map::new();
    labels.insert("dev.kiln.version".into(), json!(env!("CARGO_PKG_VERSION")));
    labels.insert("dev.kiln.module.digest".into(), json!(module_digest));
    labels.extend(grant_labels(&grants));
    Ok(json!({
        "Entrypoint": [format!("/{entry}")],
        "Env": env,
        "WorkingDir": "/",
        "Volumes": volumes,
        "Labels": labels,
    }))
}

/// The labels that record the baked grants a container runtime has no equivalent for:
/// the network grants and the guest's initial directory.
fn grant_labels(grants: &kiln_runtime::wasi::Grants) -> Vec<(String, Value)> {
    let network = &grants.network;
    let mut labels = Vec::new();
    for (name, patterns) in [
        ("allow-tcp-listen", &network.tcp_listen),
        ("allow-tcp-connect", &network.tcp_connect),
        ("allow-udp", &network.udp),
    ] {
        if !patterns.is_empty() {
            let joined: Vec<String> = patterns.iter().map(ToString::to_string).collect();
            labels.push((format!("dev.kiln.wasi.{name}"), json!(joined.join(","))));
        }
    }
    for (name, granted) in [
        ("allow-ip-name-lookup", network.ip_name_lookup),
        ("inherit-network", network.inherit),
    ] {
        if granted {
            labels.push((format!("dev.kiln.wasi.{name}"), json!("true")));
        }
    }
    if let Some(cwd) = &grants.cwd {
        labels.push(("dev.kiln.wasi.cwd".into(), json!(cwd)));
    }
    labels
}

/// One platform's image: its blobs and its manifest's descriptor (with the platform).
struct Image {
    blobs: Vec<Blob>,
    manifest: Blob,
    architecture: &'static str,
}

fn image(
    args: &BuildArgs,
    executable: &[u8],
    architecture: &'static str,
    module_digest: &str,
    epoch: Option<u64>,
) -> Result<Image> {
    let entry = entry_name(&args.input);
    let (layer, diff_id) = layer(&entry, executable, epoch.unwrap_or(0))?;
    let mut config = json!({
        "architecture": architecture,
        "os": "linux",
        "config": runtime_config(args, &entry, module_digest)?,
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created_by": "kiln build --oci" }],
    });
    if let Some(epoch) = epoch {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
        let created = humantime::format_rfc3339_seconds(time).to_string();
        config["created"] = json!(created);
        config["history"][0]["created"] = json!(created);
    }
    let config = Blob::new(json_bytes(&config));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config.descriptor(MEDIA_CONFIG),
        "layers": [layer.descriptor(MEDIA_LAYER)],
    });
    let manifest = Blob::new(json_bytes(&manifest));
    Ok(Image {
        blobs: vec![layer, config],
        manifest,
        architecture,
    })
}

/// The layout's files (path → bytes), in a fixed order, for the images `images`.
fn layout(images: Vec<Image>, tag: &str) -> Vec<(String, Vec<u8>)> {
    let platform = |image: &Image| json!({ "architecture": image.architecture, "os": "linux" });
    let mut blobs: Vec<Blob> = Vec::new();
    let top = if images.len() == 1 {
        let image = &images[0];
        let mut descriptor = image.manifest.descriptor(MEDIA_MANIFEST);
        descriptor["platform"] = platform(image);
        descriptor
    } else {
        let manifests: Vec<Value> = images
            .iter()
            .map(|image| {
                let mut descriptor = image.manifest.descriptor(MEDIA_MANIFEST);
                descriptor["platform"] = platform(image);
                descriptor
            })
            .collect();
        let index = Blob::new(json_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": manifests,
        })));
        let descriptor = index.descriptor(MEDIA_INDEX);
        blobs.push(index);
        descriptor
    };
    for image in images {
        blobs.extend(image.blobs);
        blobs.push(image.manifest);
    }
    let mut top = top;
    top["annotations"] = json!({ REF_NAME: tag });
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [top],
    });
    let mut files = vec![
        (
            "oci-layout".to_string(),
            json_bytes(&json!({ "imageLayoutVersion": "1.0.0" })),
        ),
        ("index.json".to_string(), json_bytes(&index)),
    ];
    blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
    blobs.dedup_by(|a, b| a.digest == b.digest);
    for blob in blobs {
        let hex = blob.digest.trim_start_matches("sha256:").to_string();
        files.push((format!("blobs/sha256/{hex}"), blob.bytes));
    }
    files
}

/// Writes the layout into directory `dir`, which must be missing, empty or an OCI layout
/// (whose `index.json` is then replaced; its other blobs stay).
fn write_directory(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join("oci-layout").is_file() {
            bail!(
                "{}: exists and is neither empty nor an OCI image layout",
                dir.display()
            );
        }
    }
    for (path, bytes) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        std::fs::write(&path, bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

/// Writes the layout as a tar archive (`oci-archive:` in skopeo's terms).
fn write_archive(path: &Path, files: &[(String, Vec<u8>)], mtime: u64) -> Result<()> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut directories = std::collections::BTreeSet::new();
    for (name, _) in files {
        let mut prefix = Path::new(name).parent();
        while let Some(dir) = prefix.filter(|dir| !dir.as_os_str().is_empty()) {
            directories.insert(dir.to_path_buf());
            prefix = dir.parent();
        }
    }
    for dir in &directories {
        let mut header = tar::Header::new_ustar();
        header.set_path(dir)?;
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append(&header, std::io::empty())?;
    }
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_path(name)?;
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(bytes.len() as u64);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append(&header, bytes.as_slice())?;
    }
    std::fs::write(path, tar.into_inner()?)
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Runs `kiln build --oci DIR` / `--oci-archive FILE`: builds the executable for each
/// target and writes the image.
pub fn build_image(args: &BuildArgs, wasm: &[u8]) -> Result<()> {
    let epoch = source_date_epoch()?;
    let targets = match args.codegen.targets()? {
        targets if targets.is_empty() => {
            let host = Triple::host();
            vec![format!("{}-unknown-linux-musl", host.architecture)
                .parse::<Triple>()
                .map_err(|e| anyhow::anyhow!("no musl target for this host: {e}"))?]
        }
        targets => targets,
    };
    let mut architectures = Vec::new();
    for target in &targets {
        let architecture = platform_architecture(target)?;
        if architectures.contains(&architecture) {
            bail!("--oci: two targets for linux/{architecture}");
        }
        architectures.push(architecture);
    }
    let module_digest = sha256(wasm);
    let scratch = crate::emit::ScratchDir::new()?;
    let mut images = Vec::new();
    for (target, architecture) in targets.iter().zip(architectures) {
        let options = args.codegen.compile_options_for(target.clone())?;
        let executable_path = scratch.0.join(format!("{architecture}.exe"));
        let name = format!("linux/{architecture} executable");
        crate::emit::build_executable(args, wasm, &options, &executable_path, &name)?;
        let executable = std::fs::read(&executable_path)
            .with_context(|| format!("{}: cannot read", executable_path.display()))?;
        images.push(image(
            args,
            &executable,
            architecture,
            &module_digest,
            epoch,
        )?);
    }
    let files = layout(images, &args.oci_tag);
    if args.size_report {
        let blobs: Vec<usize> = files
            .iter()
            .filter(|(path, _)| path.starts_with("blobs/"))
            .map(|(_, bytes)| bytes.len())
            .collect();
        println!(
            "OCI image: {} bytes in {} blobs",
            blobs.iter().sum::<usize>(),
            blobs.len()
        );
    }
    if let Some(dir) = &args.oci {
        write_directory(dir, &files)?;
    }
    if let Some(archive) = &args.oci_archive {
        write_archive(archive, &files, epoch.unwrap_or(0))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_without_a_container_equivalent_are_labels() {
        let grants = kiln_runtime::wasi::Grants {
            network: kiln_runtime::wasi::NetworkGrants {
                tcp_listen: vec![
                    "0.0.0.0:8080".parse().unwrap(),
                    "[::]:8080".parse().unwrap(),
                ],
                tcp_connect: vec!["10.0.0.0/8:443".parse().unwrap()],
                udp: Vec::new(),
                ip_name_lookup: true,
                inherit: false,
            },
            cwd: Some("/srv".into()),
            ..Default::default()
        };
        let labels: std::collections::BTreeMap<String, Value> =
            grant_labels(&grants).into_iter().collect();
        assert_eq!(
            serde_json::to_value(&labels).unwrap(),
            json!({
                "dev.kiln.wasi.allow-tcp-listen": "0.0.0.0:8080,[::]:8080",
                "dev.kiln.wasi.allow-tcp-connect": "10.0.0.0/8:443",
                "dev.kiln.wasi.allow-ip-name-lookup": "true",
                "dev.kiln.wasi.cwd": "/srv",
            })
        );
        assert!(grant_labels(&Default::default()).is_empty());
    }

    #[test]
    fn entry_names_need_no_quoting() {
        assert_eq!(entry_name(Path::new("dir/hello.wasm")), "hello");
        assert_eq!(entry_name(Path::new("my-app_1.2.wat")), "my-app_1.2");
        assert_eq!(entry_name(Path::new("with space.wasm")), "app");
        assert_eq!(entry_name(Path::new(".hidden.wasm")), "app");
        assert_eq!(entry_name(Path::new("ünï.wasm")), "app");
    }

    #[test]
    fn only_static_linux_targets_have_a_platform() {
        let triple = |s: &str| s.parse::<Triple>().unwrap();
        assert_eq!(
            platform_architecture(&triple("x86_64-unknown-linux-musl")).unwrap(),
            "amd64"
        );
        assert_eq!(
            platform_architecture(&triple("aarch64-unknown-linux-musl")).unwrap(),
            "arm64"
        );
        let error = platform_architecture(&triple("x86_64-unknown-linux-gnu")).unwrap_err();
        assert!(error
            .to_string()
            .contains("--target x86_64-unknown-linux-musl"));
    }

    #[test]
    fn layers_are_reproducible_and_hold_one_executable() {
        let (a, diff_a) = layer("hello", b"\x7fELF...", 0).unwrap();
        let (b, diff_b) = layer("hello", b"\x7fELF...", 0).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(diff_a, diff_b);
        let (c, _) = layer("hello", b"\x7fELF...", 1_700_000_000).unwrap();
        assert_ne!(a.digest, c.digest, "the epoch is the files' time");
        let tar = flate2::read::GzDecoder::new(a.bytes.as_slice());
        let mut archive = tar::Archive::new(tar);
        let entries: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                (
                    entry.path().unwrap().display().to_string(),
                    header.mode().unwrap(),
                    header.uid().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries, vec![("hello".to_string(), 0o755, 0)]);
    }
}
