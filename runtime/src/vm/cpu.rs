//! Whether this CPU has the features a module's code was compiled for
//! (`ModuleMetadata::cpu_features`, Cranelift's ISA flag names without `has_`). Code that
//! uses an instruction the CPU lacks would die with an illegal instruction; the runtime
//! refuses to load it instead and names what is missing.

/// The features in `required` this CPU lacks (unknown names count as lacking), as a list
/// separated by ", " (empty when none is missing). The target's baseline (x86_64:
/// x86-64-v2) is assumed, not asked: asking means `cpuid`, which traps to the hypervisor in
/// a virtual machine and costs a hello-world a tenth of its start-up. (Written into one
/// string, not collected and joined: the vector and `join` were 500 bytes of every
/// executable.)
pub(crate) fn missing_features(required: &[&str]) -> String {
    let mut missing = String::new();
    for feature in required {
        if !BASELINE.contains(feature) && !cpu_has(feature) {
            if !missing.is_empty() {
                missing.push_str(", ");
            }
            missing.push_str(feature);
        }
    }
    missing
}

#[cfg(not(feature = "exe-main"))]
use has_feature as cpu_has;

#[cfg(feature = "exe-main")]
super::linked::linked_part!(
    kiln_linked_cpu_check,
    fn linked_cpu_check() -> Option<fn(&str) -> bool>
);

/// Whether the CPU has `feature`, in an executable: asking the CPU is a part linked on
/// demand (`vm/linked.rs`), which `kiln build` links when the code needs a feature past
/// the baseline; without it every such feature counts as missing.
#[cfg(feature = "exe-main")]
fn cpu_has(feature: &str) -> bool {
    linked_cpu_check().is_some_and(|has| has(feature))
}

/// What every CPU kiln compiles for has.
#[cfg(target_arch = "x86_64")]
const BASELINE: [&str; 5] = kiln_abi::X86_64_BASELINE_FEATURES;
#[cfg(not(target_arch = "x86_64"))]
const BASELINE: [&str; 0] = [];

/// Whether the CPU has `feature` (exported for executables, see `cpu_has`).
#[cfg(target_arch = "x86_64")]
#[cfg_attr(feature = "exe-main", export_name = "kiln_cpu_has_feature")]
fn has_feature(feature: &str) -> bool {
    use std::arch::is_x86_feature_detected as detected;
    match feature {
        "sse3" => detected!("sse3"),
        "ssse3" => detected!("ssse3"),
        "sse41" => detected!("sse4.1"),
        "sse42" => detected!("sse4.2"),
        "popcnt" => detected!("popcnt"),
        "avx" => detected!("avx"),
        "avx2" => detected!("avx2"),
        "fma" => detected!("fma"),
        "bmi1" => detected!("bmi1"),
        "bmi2" => detected!("bmi2"),
        "lzcnt" => detected!("lzcnt"),
        "cmpxchg16b" => detected!("cmpxchg16b"),
        "avx512f" => detected!("avx512f"),
        "avx512vl" => detected!("avx512vl"),
        "avx512dq" => detected!("avx512dq"),
        "avx512bitalg" => detected!("avx512bitalg"),
        "avx512vbmi" => detected!("avx512vbmi"),
        "avx512vnni" => detected!("avx512vnni"),
        "avx_vnni" => detected!("avxvnni"),
        _ => false,
    }
}

#[cfg(target_arch = "aarch64")]
#[cfg_attr(feature = "exe-main", export_name = "kiln_cpu_has_feature")]
fn has_feature(feature: &str) -> bool {
    use std::arch::is_aarch64_feature_detected as detected;
    match feature {
        "lse" => detected!("lse"),
        "pauth" => detected!("paca"),
        "fp16" => detected!("fp16"),
        "dotprod" => detected!("dotprod"),
        "i8mm" => detected!("i8mm"),
        _ => false,
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[cfg_attr(feature = "exe-main", export_name = "kiln_cpu_has_feature")]
fn has_feature(_feature: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_features_are_missing() {
        assert_eq!(missing_features(&["no_such_feature"]), "no_such_feature");
        assert_eq!(
            missing_features(&["no_such_feature", "nor_this_one"]),
            "no_such_feature, nor_this_one"
        );
    }

    #[test]
    fn nothing_required_nothing_missing() {
        assert!(missing_features(&[]).is_empty());
    }

    #[test]
    fn this_cpu_has_the_assumed_baseline() {
        // Asked of the CPU, not assumed: every baseline name maps to a detection, and the
        // machines kiln is tested on are at least x86-64-v2.
        for feature in BASELINE {
            assert!(has_feature(feature), "{feature}");
        }
    }
}
