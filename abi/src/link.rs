//! What a native program that links a kiln runtime archive (a `kiln build` executable, a C
//! host of `kiln compile --emit staticlib`) needs from the system besides it, on glibc:
//! written once here for `kiln build`, the tests and the C examples.

/// The system libraries, in link order, before the unwinder: threads and thread-locals,
/// `dladdr` and `dl_iterate_phdr`, libm, clocks, and what the standard library uses of
/// `libutil`.
pub const GLIBC_LIBS: [&str; 5] = ["pthread", "dl", "m", "rt", "util"];

/// The `-l` flags to link after a runtime archive with `cc`: [`GLIBC_LIBS`], then
/// `unwinder` (`gcc_s`, or `gcc_eh` with `-static-libgcc`), then the C library.
pub fn glibc_link_flags(unwinder: &str) -> Vec<String> {
    GLIBC_LIBS
        .iter()
        .chain([&unwinder, &"c"])
        .map(|library| format!("-l{library}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_end_with_the_unwinder_and_libc() {
        assert_eq!(
            glibc_link_flags("gcc_s"),
            [
                "-lpthread",
                "-ldl",
                "-lm",
                "-lrt",
                "-lutil",
                "-lgcc_s",
                "-lc"
            ]
        );
    }
}
