//! What goes wrong when values cross a component's boundary: [`ComponentTrap`], a rule of
//! the canonical ABI or of resource handles that the guest broke (each with a message
//! saying what it did), and [`AbiError`], which adds a failure of the guest's own code
//! (`cabi_realloc` trapping) and a host value that does not match its type.

use crate::error::CallError;
use std::fmt;

/// A rule of the component model that the guest broke; the guest traps with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentTrap {
    /// `what` (`string`, `list<u32>`, `parameters`...) of `size` bytes at `ptr` does not lie
    /// inside the memory of `memory_size` bytes (the end computed without wrapping).
    OutOfBounds {
        /// What was read or written.
        what: String,
        /// Its address.
        ptr: u32,
        /// Its size in bytes (64 bits: a length times an element size may not fit in 32).
        size: u64,
        /// The memory's size in bytes.
        memory_size: usize,
    },
    /// `what` at `ptr` is not aligned to `align` bytes.
    Misaligned {
        /// What was read or written.
        what: String,
        /// Its address.
        ptr: u32,
        /// The alignment its type needs.
        align: u32,
    },
    /// A string's bytes are not UTF-8; the first bad byte is at `ptr + valid_up_to`.
    InvalidUtf8 {
        /// The string's address.
        ptr: u32,
        /// Its length in bytes.
        len: u32,
        /// Bytes of valid UTF-8 before the first bad one.
        valid_up_to: usize,
    },
    /// A `char` past U+10FFFF or a surrogate.
    InvalidChar(u32),
    /// A variant's (enum's, option's, result's) discriminant names no case.
    Discriminant {
        /// `variant`, `enum`, `option` or `result`.
        kind: &'static str,
        /// The discriminant read.
        value: u32,
        /// How many cases the type has.
        cases: usize,
    },
    /// A list's or string's byte length past the canonical ABI's limit (2^28 - 1 bytes),
    /// or a list of zero-sized elements longer than the memory (which kiln refuses rather
    /// than build billions of empty values).
    TooLong {
        /// What was read.
        what: String,
        /// The length (in elements for lists, bytes for strings).
        length: u32,
    },
    /// `cabi_realloc` returned a pointer outside the memory for the bytes it was asked for.
    ReallocOutOfBounds {
        /// The pointer it returned.
        ptr: u32,
        /// The bytes asked for.
        size: u32,
        /// The memory's size in bytes.
        memory_size: usize,
    },
    /// `cabi_realloc` returned a pointer not aligned as asked.
    ReallocMisaligned {
        /// The pointer it returned.
        ptr: u32,
        /// The alignment asked for.
        align: u32,
    },
    /// A list or string to be passed needs memory, and the canonical options name none
    /// (or no `cabi_realloc`).
    NoMemory(&'static str),
    /// A handle index that names nothing in the instance's table.
    UnknownHandle(u32),
    /// A handle used where an `own` handle is needed (`resource.drop` of an own, passing
    /// `own<T>`) is a borrow.
    NotOwn(u32),
    /// A handle of one resource type used as another.
    WrongResourceType {
        /// The handle.
        handle: u32,
        /// The resource type it holds.
        found: String,
        /// The resource type the operation expected.
        expected: String,
    },
    /// An own handle dropped or passed on while borrows of it are still out.
    LentOut {
        /// The handle.
        handle: u32,
        /// How many loans are out.
        lends: u32,
    },
    /// A call returned while handles borrowed for it were still in its instance's table.
    BorrowNotDropped {
        /// How many were left.
        count: u32,
    },
    /// A borrow lent or created with no call in progress (a runtime bug: every import and
    /// export call runs between `begin_call` and `end_call`).
    BorrowOutsideCall,
    /// A component instance's table of handles is full: it holds `max` handles, the
    /// canonical ABI's limit of 2^28 - 1 or the lower one the embedder set
    /// (`ComponentLimits::max_handles`).
    TableFull {
        /// The most handles the table may hold.
        max: u32,
    },
    /// Lifting the guest's values for one call would make the host copy or allocate more
    /// than the call's hostcall fuel
    /// (`ComponentLimits::hostcall_fuel`).
    HostcallFuel {
        /// The bytes the next string or list needs.
        needed: u64,
        /// The bytes left of the call's fuel.
        left: u64,
    },
}

impl fmt::Display for ComponentTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentTrap::OutOfBounds {
                what,
                ptr,
                size,
                memory_size,
            } => write!(
                f,
                "{what} of {size} bytes at {ptr:#x} is out of bounds of memory of {memory_size} bytes"
            ),
            ComponentTrap::Misaligned { what, ptr, align } => {
                write!(f, "{what} at {ptr:#x} is not aligned to {align} bytes")
            }
            ComponentTrap::InvalidUtf8 {
                ptr,
                len,
                valid_up_to,
            } => write!(
                f,
                "string of {len} bytes at {ptr:#x} is not valid UTF-8 (bad byte at {:#x})",
                u64::from(*ptr) + *valid_up_to as u64
            ),
            ComponentTrap::InvalidChar(value) if (0xd800..=0xdfff).contains(value) => {
                write!(f, "char {value:#x} is a surrogate")
            }
            ComponentTrap::InvalidChar(value) => {
                write!(f, "char {value:#x} is out of range (past 0x10ffff)")
            }
            ComponentTrap::Discriminant { kind, value, cases } => {
                write!(f, "{kind} discriminant {value} is out of range ({cases} cases)")
            }
            ComponentTrap::TooLong { what, length } => {
                write!(f, "{what} of length {length} is too long")
            }
            ComponentTrap::ReallocOutOfBounds {
                ptr,
                size,
                memory_size,
            } => write!(
                f,
                "cabi_realloc returned {ptr:#x} for {size} bytes, out of bounds of memory of {memory_size} bytes"
            ),
            ComponentTrap::ReallocMisaligned { ptr, align } => write!(
                f,
                "cabi_realloc returned {ptr:#x}, not aligned to {align} bytes"
            ),
            ComponentTrap::NoMemory(what) => {
                write!(f, "passing a {what} needs a memory and cabi_realloc, and the canonical options name none")
            }
            ComponentTrap::UnknownHandle(handle) => write!(f, "unknown handle index {handle}"),
            ComponentTrap::NotOwn(handle) => write!(f, "handle {handle} is a borrow, not an own"),
            ComponentTrap::WrongResourceType {
                handle,
                found,
                expected,
            } => write!(
                f,
                "handle {handle} is of another resource type ({found}, expected {expected})"
            ),
            ComponentTrap::LentOut { handle, lends } => write!(
                f,
                "resource handle {handle} dropped while lent out ({lends} borrows)"
            ),
            ComponentTrap::BorrowNotDropped { count } => write!(
                f,
                "borrowed handle not dropped before the call returned ({count} left)"
            ),
            ComponentTrap::BorrowOutsideCall => f.write_str("a borrow outside of any call"),
            ComponentTrap::TableFull { max } => {
                write!(f, "resource table full: the instance holds {max} handles, the most it may")
            }
            ComponentTrap::HostcallFuel { needed, left } => write!(
                f,
                "hostcall fuel exhausted: the guest's values need {needed} more bytes copied \
                 into the host, {left} left of the call's fuel"
            ),
        }
    }
}

impl std::error::Error for ComponentTrap {}

/// Why lifting, lowering or a resource operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbiError {
    /// The guest broke a rule: it traps with this reason.
    Trap(ComponentTrap),
    /// The guest's own code called on the way (`cabi_realloc`) trapped, exited or failed.
    Guest(CallError),
    /// A value the host gave, or a count of core values, does not match the component type
    /// (a bug in the host implementation or the plan, not the guest's doing).
    Mismatch(String),
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::Trap(trap) => trap.fmt(f),
            AbiError::Guest(error) => error.fmt(f),
            AbiError::Mismatch(message) => write!(f, "value does not match its type: {message}"),
        }
    }
}

impl std::error::Error for AbiError {}

impl From<ComponentTrap> for AbiError {
    fn from(trap: ComponentTrap) -> AbiError {
        AbiError::Trap(trap)
    }
}
