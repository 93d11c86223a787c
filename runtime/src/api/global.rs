//! Globals: [`Global`], created by the host (to import it) or by an instance, read and
//! written from the host.

use super::store::{handle, Store};
use super::values::{check_value, raw_from_val, val_from_raw, Val};
use crate::vm::store::{GlobalData, OwnedPtr, Storage};
use crate::Error;
use kiln_abi::metadata::GlobalType;
use kiln_abi::vmctx::VMGlobal;

handle!(
    /// A global in a [`Store`].
    Global
);

impl Global {
    /// A global of type `ty` holding `value`, owned by the store.
    pub fn new(store: &mut Store, ty: GlobalType, value: Val) -> Result<Global, Error> {
        let inner = &mut *store.inner;
        check_value(inner, &value, ty.ty).map_err(Error::new)?;
        let raw = raw_from_val(inner, value);
        let index = inner.push_global(GlobalData {
            ty,
            definition: Storage::Owned(OwnedPtr::new(VMGlobal(raw.0))),
        });
        Ok(Global {
            store: inner.id,
            index,
        })
    }

    /// The current value.
    pub fn get(&self, store: &Store) -> Val {
        store.check(self.store);
        let ty = store.inner.globals[self.index as usize].ty.ty;
        val_from_raw(&store.inner, store.inner.global_value(self.index), ty)
    }

    /// Sets the value; fails for an immutable global or a value of another type.
    pub fn set(&self, store: &mut Store, value: Val) -> Result<(), Error> {
        store.check(self.store);
        let inner = &mut *store.inner;
        let ty = inner.globals[self.index as usize].ty;
        if !ty.mutable {
            return Err(Error::new("cannot set an immutable global"));
        }
        check_value(inner, &value, ty.ty).map_err(Error::new)?;
        let raw = raw_from_val(inner, value);
        inner.globals[self.index as usize].set(raw);
        Ok(())
    }

    /// The global's type.
    pub fn ty(&self, store: &Store) -> GlobalType {
        store.check(self.store);
        store.inner.globals[self.index as usize].ty
    }
}
