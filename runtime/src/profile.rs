//! Writing profiles (`kiln build --profile-generate`, issue 18): the entry counts of a
//! module compiled to count (`ModuleDescriptor::profile`), with the module's hash from its
//! metadata, in the format of `kiln_abi::profile`.
//!
//! An executable writes its profile when the program ends (`command::exit_with`: after
//! `_start` returns, `proc_exit`, or a trap) to the file `kiln build` baked into the
//! metadata, or to `$KILN_PROFILE_FILE` when that is set. In executables the writer is a
//! part linked on demand (`vm/linked.rs`, [`crate::linked::PROFILE`]): only those of code
//! that counts carry it. When the file already holds a profile of the same module, the
//! counts are added to it, so that several training runs make one profile; anything else
//! there is replaced. The new file is written beside the old one and renamed over it, so
//! a reader never sees half a profile. A failure is a warning on stderr: the program's
//! exit code stays its own.

use crate::Module;
use kiln_abi::metadata::ProfileSettings;
use kiln_abi::profile::ProfileData;
use std::path::{Path, PathBuf};

/// The environment variable that, when set, names the file an executable writes its
/// profile to instead of the one baked in at build time.
pub const PROFILE_FILE_VAR: &str = "KILN_PROFILE_FILE";

/// How `module` writes its profile, decoded from its metadata (which holds the settings'
/// own encoding, see `ModuleMetadata::profile`); `None` when its code does not count.
fn settings(module: &Module) -> Option<std::io::Result<ProfileSettings<'static>>> {
    let bytes = module.metadata().profile?;
    Some(ProfileSettings::decode(bytes).map_err(std::io::Error::other))
}

/// The profile of `module` so far: how many times each defined function was entered, with
/// the module's hash; `None` when its code does not count.
pub fn profile(module: &Module) -> Option<std::io::Result<ProfileData>> {
    Some(settings(module)?.map(|settings| ProfileData {
        module_sha256: settings.module_sha256,
        counts: module.profile_counts(),
    }))
}

/// Writes `module`'s profile to `path`, added to the profile of the same module already
/// there if any (see the module documentation). Does nothing when the code does not count.
pub fn write_profile(module: &Module, path: &Path) -> std::io::Result<()> {
    let Some(profile) = profile(module) else {
        return Ok(());
    };
    let mut profile = profile?;
    if let Ok(existing) = std::fs::read(path) {
        if let Ok(existing) = ProfileData::decode(&existing) {
            profile.merge(&existing);
        }
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written = std::fs::write(&temporary, profile.encode())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The file `module`'s profile goes to at exit: `$KILN_PROFILE_FILE`, else the one baked
/// in; `None` when the code does not count.
fn exit_file(module: &Module) -> Option<Result<PathBuf, String>> {
    let settings = match settings(module)? {
        Ok(settings) => settings,
        Err(error) => return Some(Err(error.to_string())),
    };
    Some(match std::env::var_os(PROFILE_FILE_VAR) {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => settings
            .file
            .map(PathBuf::from)
            .ok_or_else(|| "the module names no profile file: set KILN_PROFILE_FILE".into()),
    })
}

/// Writes `module`'s profile as a program ends (see the module documentation); a failure
/// is a warning. In the runtime of executables this is a part linked on demand.
#[cfg_attr(feature = "exe-main", export_name = "kiln_profile_write")]
pub fn write_at_exit(module: &Module) {
    let result = match exit_file(module) {
        None => return,
        Some(Err(reason)) => Err(reason),
        Some(Ok(path)) => write_profile(module, &path)
            .map_err(|error| format!("cannot write the profile {}: {error}", path.display())),
    };
    if let Err(message) = result {
        eprintln!("warning: {message}");
    }
}

#[cfg(feature = "exe-main")]
crate::vm::linked::linked_part!(kiln_linked_profile, fn linked() -> Option<fn(&Module)>);

/// [`write_at_exit`], in executables only if `kiln build` linked it (the code counts).
pub(crate) fn write_linked_at_exit(module: &Module) {
    #[cfg(feature = "exe-main")]
    if let Some(write) = linked() {
        write(module);
    }
    #[cfg(not(feature = "exe-main"))]
    write_at_exit(module);
}
