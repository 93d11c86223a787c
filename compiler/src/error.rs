//! The compiler's one error type.

/// Why a module could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The bytes are not a valid WebAssembly module.
    #[error("invalid wasm at offset {offset:#x}: {message}")]
    Invalid {
        /// What is wrong, in wasmparser's words.
        message: String,
        /// Byte offset in the input.
        offset: u64,
    },
    /// The module is valid but uses something kiln does not support yet.
    #[error("unsupported: {feature}, at offset {offset:#x}")]
    Unsupported {
        /// The feature or operator.
        feature: String,
        /// Byte offset in the input.
        offset: u64,
    },
    /// The module exceeds one of kiln's implementation limits.
    #[error("implementation limit exceeded: {0}")]
    Limit(String),
    /// The target triple or a codegen setting cannot be used.
    #[error("target {0}")]
    Target(String),
    /// A compile option cannot be used (the memory layout, for example).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The profile of `CompileOptions::profile_use` was not recorded for this module.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileMismatch),
    /// Cranelift rejected a function; a compiler bug.
    #[error("code generation failed in function {func_index} ({name}): {message}")]
    Codegen {
        /// Index of the function (imports included).
        func_index: u32,
        /// Its name, or empty.
        name: String,
        /// Cranelift's message.
        message: String,
    },
    /// Writing the object file failed.
    #[error("writing the object failed: {0}")]
    Emit(String),
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        // Some wasmparser messages embed pretty-printed lists; keep every message on one line.
        let message = error
            .message()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        CompileError::Invalid {
            message,
            offset: error.offset(),
        }
    }
}

/// Shorthand for results of compilation steps.
pub type Result<T, E = CompileError> = std::result::Result<T, E>;

/// An `Unsupported` error for `feature` at `offset`.
pub fn unsupported(feature: impl Into<String>, offset: u64) -> CompileError {
    CompileError::Unsupported {
        feature: feature.into(),
        offset,
    }
}
