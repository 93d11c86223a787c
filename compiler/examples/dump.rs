fn main() {
    let path = std::env::args().nth(1).unwrap();
    let wasm = wat::parse_file(&path).unwrap();
    let object = kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).unwrap();
    std::fs::write(std::env::args().nth(2).unwrap(), object).unwrap();
}
