//! The runtime's error values: [`Error`] for misuse and resource failures, [`Trap`] for a
//! guest that stopped, and the outcomes of instantiating ([`InstantiateError`]) and calling
//! ([`CallError`]). A trap is a value, not a bug; messages are lowercase.

use kiln_abi::TrapCode;
use std::fmt;

/// A runtime error: a module that cannot be loaded, a limit, a type mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// An `io::Error` as its `Display` shows it (`No such file or directory (os error 2)`, or
/// the message it carries), for the errors of the runtime's own system calls: mappings,
/// the timer thread, preopened directories.
///
/// In executables it is written here rather than by std's `Display`, which carries the
/// descriptions of every `ErrorKind` and their tables (about 1.3 KB of every static
/// executable) for errors that have neither a code nor a message, which the runtime of
/// executables never reports: its mappings and timer fail with a code or a message of
/// their own (`BadRange`, `TimerNotLinked`), and the part that opens preopens gives every
/// error one (`wasi::open_ambient_dir`). Elsewhere it is std's `Display`.
pub(crate) struct IoMessage<'a>(pub &'a std::io::Error);

impl fmt::Display for IoMessage<'_> {
    #[cfg(feature = "exe-main")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.0.raw_os_error() {
            // As std words it: the C library's description, then the code.
            let mut buffer = [0 as std::ffi::c_char; 128];
            // SAFETY: `strerror_r` writes at most `buffer.len()` bytes, NUL-terminated, into
            // the zeroed buffer (which stays an empty string if it writes nothing).
            let detail = unsafe {
                libc::strerror_r(code, buffer.as_mut_ptr(), buffer.len());
                std::ffi::CStr::from_ptr(buffer.as_ptr())
            };
            return write!(
                f,
                "{} (os error {code})",
                String::from_utf8_lossy(detail.to_bytes())
            );
        }
        match self.0.get_ref() {
            Some(inner) => fmt::Display::fmt(inner, f),
            // Not reached (see above); says what little is known.
            None => f.write_str("an error without a code or a message"),
        }
    }

    #[cfg(not(feature = "exe-main"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// One frame of a trap's backtrace, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The module's name, from its name section.
    pub module: Option<String>,
    /// The function's index in its module (imported functions counted).
    pub func_index: u32,
    /// The function's name, from the name section (demangled by the compiler).
    pub func_name: Option<String>,
    /// Byte offset in the module's binary of the wasm instruction the frame is at: the
    /// trapping instruction in the innermost frame, the call in the others (`None` where
    /// the object records none).
    pub wasm_offset: Option<u32>,
}

/// A guest that trapped: why, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// The reason.
    pub code: TrapCode,
    /// The wasm frames at the trap, innermost first (host frames and trampolines omitted).
    pub backtrace: Vec<FrameInfo>,
    /// Whether outer frames were left out of `backtrace` (it keeps the innermost 64).
    pub backtrace_truncated: bool,
    /// For [`TrapCode::UncaughtException`]: the name of the exception's tag (the name the
    /// module gives it, else its export name, else `#<index>`).
    pub exception_tag: Option<String>,
    /// For [`TrapCode::Component`]: what the component did (`unknown handle index 7`).
    pub message: Option<String>,
}

impl fmt::Display for Trap {
    /// The report `kiln run` prints after `error: `:
    ///
    /// ```text
    /// wasm trap: integer divide by zero
    /// wasm backtrace:
    ///     0: divide (module, function 3, offset 0x5d)
    ///     1: compute (module, function 2, offset 0x4f)
    /// ```
    ///
    /// A frame shows the function's name (`wasm_function_<index>` without one), its
    /// module's (`module` without one), its index, and the module offset of the
    /// instruction it is at, like Wasmtime's and `wasm-objdump`'s.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "wasm trap: {message}")?,
            None => write!(f, "wasm trap: {}", self.code.message())?,
        }
        if let Some(tag) = &self.exception_tag {
            write!(f, ": tag {tag}")?;
        }
        f.write_str("\nwasm backtrace:")?;
        for (index, frame) in self.backtrace.iter().enumerate() {
            write!(f, "\n    {index}: ")?;
            match &frame.func_name {
                Some(name) => f.write_str(name)?,
                None => write!(f, "wasm_function_{}", frame.func_index)?,
            }
            let module = frame.module.as_deref().unwrap_or("module");
            write!(f, " ({module}, function {}", frame.func_index)?;
            if let Some(offset) = frame.wasm_offset {
                write!(f, ", offset {offset:#x}")?;
            }
            f.write_str(")")?;
        }
        if self.backtrace_truncated {
            write!(f, "\n    ... outer frames not shown")?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// Why a host function stopped the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The guest asked to exit with this code (WASI `proc_exit`).
    Exit(i32),
    /// The host function failed.
    Message(String),
    /// The host stops the guest with this trap, as if the calling instruction had
    /// trapped (a blocking WASI call whose time limit ran out: `TimeLimit`).
    Trap(TrapCode),
    /// The host stops the guest with a [`TrapCode::Component`] trap that this message
    /// explains: a rule of the component model or of a WASI 0.2 interface the guest broke.
    TrapMessage(String),
}

/// Why a call did not return results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The guest trapped.
    Trap(Trap),
    /// A host function asked to exit with this code.
    Exit(i32),
    /// A host function failed with this message.
    Host(String),
    /// The arguments do not match the function's type.
    BadArguments(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Trap(trap) => trap.fmt(f),
            CallError::Exit(code) => write!(f, "exited with code {code}"),
            CallError::Host(message) => write!(f, "host function error: {message}"),
            CallError::BadArguments(message) => write!(f, "bad arguments: {message}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Why instantiation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstantiateError {
    /// An import is missing or has the wrong type; the message says which.
    Unlinkable(String),
    /// A segment was out of bounds or the start function trapped.
    Trap(Trap),
    /// The start function called a host function that asked to exit.
    Exit(i32),
    /// The start function called a host function that failed, or a resource ran out.
    Host(String),
}

impl fmt::Display for InstantiateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiateError::Unlinkable(message) => f.write_str(message),
            InstantiateError::Trap(trap) => trap.fmt(f),
            InstantiateError::Exit(code) => write!(f, "exited with code {code}"),
            InstantiateError::Host(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for InstantiateError {}

impl From<CallError> for InstantiateError {
    fn from(error: CallError) -> InstantiateError {
        match error {
            CallError::Trap(trap) => InstantiateError::Trap(trap),
            CallError::Exit(code) => InstantiateError::Exit(code),
            CallError::Host(message) => InstantiateError::Host(message),
            CallError::BadArguments(message) => InstantiateError::Host(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_report_format() {
        let trap = Trap {
            code: TrapCode::IntegerDivisionByZero,
            backtrace: vec![
                FrameInfo {
                    module: None,
                    func_index: 3,
                    func_name: Some("divide".into()),
                    wasm_offset: Some(0x5d),
                },
                FrameInfo {
                    module: Some("m".into()),
                    func_index: 0,
                    func_name: None,
                    wasm_offset: Some(0x1a2),
                },
                FrameInfo {
                    module: Some("m".into()),
                    func_index: 1,
                    func_name: Some("outer".into()),
                    wasm_offset: None,
                },
            ],
            backtrace_truncated: false,
            exception_tag: None,
            message: None,
        };
        assert_eq!(
            trap.to_string(),
            "wasm trap: integer divide by zero\nwasm backtrace:\n    0: divide (module, function 3, offset 0x5d)\n    1: wasm_function_0 (m, function 0, offset 0x1a2)\n    2: outer (m, function 1)"
        );
    }

    #[test]
    fn an_uncaught_exception_names_its_tag() {
        let trap = Trap {
            code: TrapCode::UncaughtException,
            backtrace: vec![FrameInfo {
                module: None,
                func_index: 1,
                func_name: Some("fail".into()),
                wasm_offset: Some(0x30),
            }],
            backtrace_truncated: false,
            exception_tag: Some("oops".into()),
            message: None,
        };
        assert_eq!(
            trap.to_string(),
            "wasm trap: uncaught exception: tag oops\nwasm backtrace:\n    0: fail (module, function 1, offset 0x30)"
        );
    }

    #[test]
    fn a_truncated_backtrace_says_so() {
        let trap = Trap {
            code: TrapCode::StackOverflow,
            backtrace: vec![FrameInfo {
                module: None,
                func_index: 0,
                func_name: Some("recurse".into()),
                wasm_offset: Some(0x21),
            }],
            backtrace_truncated: true,
            exception_tag: None,
            message: None,
        };
        assert_eq!(
            trap.to_string(),
            "wasm trap: call stack exhausted\nwasm backtrace:\n    0: recurse (module, function 0, offset 0x21)\n    ... outer frames not shown"
        );
    }
}
