//! The load-time half of the ABI-version check: a module whose descriptor carries another
//! ABI version is refused by `Module::from_descriptor` (here through the loader) with both
//! version numbers in the message. The link-time half is in `example.rs`.

#[test]
fn object_of_another_abi_version_is_refused_naming_both_versions() {
    let wasm = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
    let mut object =
        kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).unwrap();
    // The descriptor starts with its magic, followed by the ABI version (abi/descriptor.rs).
    let magic = kiln_abi::descriptor::DESCRIPTOR_MAGIC;
    let at = object
        .windows(magic.len())
        .position(|window| window == magic)
        .expect("the object holds a descriptor")
        + magic.len();
    let other_version = kiln_abi::ABI_VERSION + 1;
    object[at..at + 4].copy_from_slice(&other_version.to_le_bytes());
    let error = kiln_runtime::load_object(&object, "").expect_err("another ABI version loads");
    assert_eq!(
        error.message(),
        format!(
            "object built for kiln ABI version {other_version}, this runtime has version {}",
            kiln_abi::ABI_VERSION
        )
    );
}
