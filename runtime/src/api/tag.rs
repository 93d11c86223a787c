//! Tags: [`Tag`], an exception tag created by the host (to import it) or by an instance.
//! A tag's identity is the tag itself: instances that import the same tag throw and
//! catch the same exceptions.

use super::store::{handle, Store};
use kiln_abi::metadata::FuncType;

handle!(
    /// An exception tag in a [`Store`].
    Tag
);

impl Tag {
    /// A new tag whose exceptions carry values of `ty`'s parameter types (its results must
    /// be empty), named `name` in the messages of exceptions that reach the host.
    pub fn new(store: &mut Store, ty: FuncType, name: &str) -> Tag {
        let inner = &mut *store.inner;
        let index = inner.push_tag(ty, name.to_string());
        Tag {
            store: inner.id,
            index,
        }
    }

    /// The payload types, as a function type's parameters.
    pub fn ty(&self, store: &Store) -> FuncType {
        store.check(self.store);
        store.inner.tags[self.index as usize].ty.clone()
    }

    /// The name uncaught exceptions of this tag are reported with.
    pub fn name<'a>(&self, store: &'a Store) -> &'a str {
        store.check(self.store);
        &store.inner.tags[self.index as usize].name
    }
}
