//! [`InstanceMemory`]: the [`GuestMemory`] of an instance, as the host sees it through the
//! public API: a [`Memory`] and the instance's `cabi_realloc` [`Func`], called through the
//! store like any export. This is how the host calls a lifted export; a host import's
//! trampoline, which runs inside a call, will reach the caller's memory through its
//! `Caller` instead.

use super::abi::GuestMemory;
use super::trap::{AbiError, ComponentTrap};
use crate::api::{Func, Memory, Store, Val};

/// An instance's memory and allocator, borrowed with its store.
pub struct InstanceMemory<'a> {
    store: &'a mut Store,
    memory: Memory,
    realloc: Option<Func>,
}

impl<'a> InstanceMemory<'a> {
    /// `memory` of `store`, allocating with `realloc` (the canonical options' `realloc`,
    /// of type `(i32, i32, i32, i32) -> i32`), if any.
    pub fn new(store: &'a mut Store, memory: Memory, realloc: Option<Func>) -> InstanceMemory<'a> {
        InstanceMemory {
            store,
            memory,
            realloc,
        }
    }

    /// The store, for calls between lowering and lifting.
    pub fn store(&mut self) -> &mut Store {
        self.store
    }
}

impl GuestMemory for InstanceMemory<'_> {
    fn bytes(&self) -> &[u8] {
        self.memory.data(self.store)
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(self.store)
    }

    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, AbiError> {
        let Some(realloc) = self.realloc else {
            return Err(ComponentTrap::NoMemory("string or list").into());
        };
        let args = [old_ptr, old_size, align, new_size].map(|v| Val::I32(v as i32));
        match realloc.call(self.store, &args).map_err(AbiError::Guest)?[..] {
            [Val::I32(ptr)] => Ok(ptr as u32),
            ref other => Err(AbiError::Mismatch(format!(
                "cabi_realloc returned {other:?}, not one i32"
            ))),
        }
    }
}
