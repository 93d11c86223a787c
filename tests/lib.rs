//! Shared machinery of kiln's conformance tests: a `.wast` script runner that compiles every
//! module through the same AOT path as `kiln compile` (object file, then the runtime's
//! loader), and the expected-failure lists.

pub mod expected;
pub mod wast_runner;
