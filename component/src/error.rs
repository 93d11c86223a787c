//! The component front end's one error type.

/// Why a component could not be validated, translated or printed.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// The bytes are not a valid component.
    #[error("invalid component at offset {offset:#x}: {message}")]
    Invalid {
        /// What is wrong, in wasmparser's words.
        message: String,
        /// Byte offset in the input.
        offset: u64,
    },
    /// The component is valid but uses something kiln does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The translator (wasmtime-environ) refused the component, or failed.
    #[error("translating the component failed: {0}")]
    Translation(String),
    /// kiln could not compile one of the component's core modules.
    #[error("{module}: {message}")]
    Compile {
        /// Which module (`core module kiln_m0_ at offset 0xca3`).
        module: String,
        /// The compiler's error.
        message: String,
    },
    /// The component's object could not be written (see `object.rs`).
    #[error("writing the component's object: {0}")]
    Emit(String),
}

impl From<wasmparser::BinaryReaderError> for ComponentError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        // Keep every message on one line, as the core-module errors do.
        let message = error
            .message()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        ComponentError::Invalid {
            message,
            offset: error.offset(),
        }
    }
}

/// An `Unsupported` error.
pub(crate) fn unsupported(what: impl Into<String>) -> ComponentError {
    ComponentError::Unsupported(what.into())
}

/// Shorthand for results of the component front end.
pub type Result<T, E = ComponentError> = std::result::Result<T, E>;
