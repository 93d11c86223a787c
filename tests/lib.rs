//! Shared machinery of kiln's conformance tests: a `.wast` script runner that compiles every
//! module through the same AOT path as `kiln compile` (object file, then the runtime's
//! loader), the expected-failure lists, and how the corpus harnesses run programs through
//! the `kiln` binary.

pub mod expected;
pub mod process;
pub mod wast_runner;
