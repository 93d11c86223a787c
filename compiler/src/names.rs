//! Function names for people: the name section's names demangled (Rust legacy and v0,
//! C++ Itanium) when the compiler writes the module metadata, so that backtraces and perf
//! maps read `core::panicking::panic` instead of `_ZN4core9panicking5panic17h…E`.
//!
//! Demangling happens here, at compile time, so that neither the runtime nor a built
//! executable links a demangler. The object's function symbols keep the raw names
//! (`pipeline.rs`), so native tools, which demangle themselves, still see them.

use std::borrow::Cow;

/// The readable form of a function name: a Rust symbol (legacy `_ZN…E`, without its
/// hash, or v0 `_R…`) or a C++ Itanium symbol (`_Z…`) demangled; any other name, and a
/// name that fails to demangle, as it is.
pub fn demangle(name: &str) -> Cow<'_, str> {
    // Rust first: a Rust legacy symbol is also a valid Itanium one, which would keep the
    // hash as a last path segment.
    if let Ok(symbol) = rustc_demangle::try_demangle(name) {
        // `{:#}` leaves out the legacy hash suffix.
        return Cow::Owned(format!("{symbol:#}"));
    }
    if name.starts_with("_Z") {
        let symbol = cpp_demangle::Symbol::new(name).ok();
        if let Some(demangled) = symbol.and_then(|symbol| symbol.demangle().ok()) {
            return Cow::Owned(demangled);
        }
    }
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: &str) {
        assert_eq!(demangle(name), expected, "{name}");
    }

    #[test]
    fn rust_legacy_names_lose_their_hash() {
        check(
            "_ZN4core9panicking5panic17h0123456789abcdefE",
            "core::panicking::panic",
        );
        check(
            "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h9f8e7d6c5b4a3210E",
            "std::rt::lang_start::{{closure}}",
        );
    }

    #[test]
    fn rust_v0_names() {
        check("_RNvCs1234_7mycrate3foo", "mycrate::foo");
        check(
            "_RNvNtCs1234_7mycrate6module8function",
            "mycrate::module::function",
        );
    }

    #[test]
    fn cpp_itanium_names() {
        check("_Z3fooi", "foo(int)");
        check("_ZN2ns3barEv", "ns::bar()");
    }

    #[test]
    fn other_names_stay_as_they_are() {
        check("main", "main");
        check("__original_main", "__original_main");
        check("_Znot a symbol", "_Znot a symbol");
        check("", "");
    }
}
