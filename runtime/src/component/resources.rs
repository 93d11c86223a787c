//! Resource handles (the component model's `own` and `borrow`), with the canonical ABI's
//! rules: [`ResourceTables`] holds the handles of every component instance of a plan.
//!
//! Each component instance has one handle space, as in the specification's
//! `ComponentInstance.handles`: indices start at 1 (0 is never a handle) and freed ones
//! are reused, last freed first. The plan's `ResourceTable`s (one per resource type per
//! component instance) name an instance and a resource type; an operation through table
//! `t` works in `t`'s instance and checks that the handle holds `t`'s resource type, so a
//! handle of another type traps instead of being taken for one. A representation is a
//! `u32`: the guest's own for resources it defines, a key into the host's own slab for
//! the host's resources.
//!
//! ```text
//!  own handle   { resource, rep, lends }          lends: borrows of it out in calls now
//!  borrow handle{ resource, rep, lends, call }    dropped before `call` returns
//!  calls: [ { borrows, lenders }, ... ]          innermost last (begin_call / end_call)
//! ```
//!
//! A call (a host import's, or the host's call of an export) runs between
//! [`ResourceTables::begin_call`] and [`ResourceTables::end_call`]: lifting a `borrow`
//! argument lends the caller's handle for the call (it cannot be dropped meanwhile), and
//! lowering one makes a borrow handle the callee must drop before the call returns.
//! Destructors are not run here: dropping an own handle returns the representation to
//! destroy ([`DroppedOwn`]), and the caller runs the resource's destructor (the guest's,
//! from `Step::DefineResource`) or frees the host's object.

use super::abi::Handles;
use super::trap::ComponentTrap;
use kiln_abi::component::ComponentPlan;

/// The canonical ABI's limit on a handle table's length (`Table.MAX_LENGTH`).
pub const MAX_HANDLES: u32 = (1 << 28) - 1;

/// One handle's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not in use (on the free list).
    Free,
    /// An own handle.
    Own {
        resource: u32,
        rep: u32,
        /// Borrows of this handle lent out to calls in progress.
        lends: u32,
    },
    /// A borrow handle, valid during call `call` (an index into the call stack).
    Borrow {
        resource: u32,
        rep: u32,
        lends: u32,
        call: usize,
    },
}

/// The handles of one component instance.
#[derive(Debug, Default)]
struct HandleSpace {
    /// By handle index; entry 0 is never used.
    slots: Vec<Slot>,
    /// Freed indices, reused last first.
    free: Vec<u32>,
}

/// A call in progress.
#[derive(Debug, Default)]
struct Call {
    /// Borrow handles made for the call and not yet dropped.
    borrows: u32,
    /// Handles lent for the call: (component instance, handle index).
    lenders: Vec<(u32, u32)>,
}

/// An own handle dropped: the destructor of `resource` (if it has one) must run with
/// `rep`, or the host free the object `rep` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedOwn {
    /// Index into the plan's `resources`.
    pub resource: u32,
    /// The representation.
    pub rep: u32,
}

/// The resource handles of a plan's component instances.
#[derive(Debug)]
pub struct ResourceTables {
    /// Per plan resource table: (resource, component instance).
    tables: Vec<(u32, u32)>,
    /// Per plan resource: its name, and the component instance that defines it (`None`
    /// for the host's resources).
    resources: Vec<(String, Option<u32>)>,
    /// Per component instance.
    spaces: Vec<HandleSpace>,
    /// The calls in progress, innermost last.
    calls: Vec<Call>,
    /// The most handles each component instance's table may hold at once.
    max_handles: u32,
}

impl ResourceTables {
    /// Empty tables for `plan`'s component instances and resource tables.
    pub fn new(plan: &ComponentPlan) -> ResourceTables {
        let tables: Vec<(u32, u32)> = plan
            .resource_tables
            .iter()
            .map(|table| (table.resource, table.component_instance))
            .collect();
        let n_spaces = tables
            .iter()
            .map(|&(_, instance)| instance + 1)
            .max()
            .unwrap_or(0)
            .max(plan.n_component_instances);
        ResourceTables {
            tables,
            resources: plan
                .resources
                .iter()
                .map(|resource| {
                    let defined_by = match resource.imported {
                        true => None,
                        false => resource.component_instance,
                    };
                    (resource.name.clone(), defined_by)
                })
                .collect(),
            spaces: (0..n_spaces).map(|_| HandleSpace::default()).collect(),
            calls: Vec::new(),
            max_handles: MAX_HANDLES,
        }
    }

    /// Sets the most handles each component instance's table may hold at once (at most
    /// [`MAX_HANDLES`]); one more traps with [`ComponentTrap::TableFull`].
    pub fn set_max_handles(&mut self, max: u32) {
        self.max_handles = max.min(MAX_HANDLES);
    }

    /// The (resource, component instance) of table `table`. A table index comes from the
    /// plan, never from the guest; an unknown one is a handle of no known type.
    fn table(&self, table: u32, handle: u32) -> Result<(u32, u32), ComponentTrap> {
        self.tables
            .get(table as usize)
            .copied()
            .ok_or(ComponentTrap::UnknownHandle(handle))
    }

    fn resource_name(&self, resource: u32) -> String {
        self.resources
            .get(resource as usize)
            .map_or_else(|| format!("resource{resource}"), |r| r.0.clone())
    }

    /// The slot of `handle` in table `table`'s instance, checked to hold its resource type.
    fn slot(&mut self, table: u32, handle: u32) -> Result<(u32, &mut Slot), ComponentTrap> {
        let (resource, instance) = self.table(table, handle)?;
        let found = match self
            .spaces
            .get(instance as usize)
            .and_then(|space| space.slots.get(handle as usize))
        {
            None | Some(Slot::Free) => return Err(ComponentTrap::UnknownHandle(handle)),
            Some(Slot::Own { resource, .. } | Slot::Borrow { resource, .. }) => *resource,
        };
        if found != resource {
            return Err(ComponentTrap::WrongResourceType {
                handle,
                found: self.resource_name(found),
                expected: self.resource_name(resource),
            });
        }
        let slot = &mut self.spaces[instance as usize].slots[handle as usize];
        Ok((instance, slot))
    }

    fn add(&mut self, instance: u32, slot: Slot) -> Result<u32, ComponentTrap> {
        let max = self.max_handles;
        let space = self
            .spaces
            .get_mut(instance as usize)
            .ok_or(ComponentTrap::TableFull { max })?;
        if let Some(index) = space.free.pop() {
            space.slots[index as usize] = slot;
            return Ok(index);
        }
        if space.slots.is_empty() {
            space.slots.push(Slot::Free);
        }
        // Freed slots are reused first, so a new one is needed only when every slot is
        // live: the table's length is the count of live handles.
        let index = space.slots.len() as u32;
        if index > max {
            return Err(ComponentTrap::TableFull { max });
        }
        space.slots.push(slot);
        Ok(index)
    }

    fn remove(&mut self, instance: u32, handle: u32) {
        let space = &mut self.spaces[instance as usize];
        space.slots[handle as usize] = Slot::Free;
        space.free.push(handle);
    }

    /// Starts a call: borrows lent or made from now on belong to it.
    pub fn begin_call(&mut self) {
        self.calls.push(Call::default());
    }

    /// Ends the innermost call: the handles lent for it can be dropped again, and it traps
    /// if a borrow handle made for it is still in its table.
    pub fn end_call(&mut self) -> Result<(), ComponentTrap> {
        let Some(call) = self.calls.pop() else {
            return Err(ComponentTrap::BorrowOutsideCall);
        };
        for (instance, handle) in call.lenders {
            if let Some(Slot::Own { lends, .. } | Slot::Borrow { lends, .. }) = self
                .spaces
                .get_mut(instance as usize)
                .and_then(|space| space.slots.get_mut(handle as usize))
            {
                *lends = lends.saturating_sub(1);
            }
        }
        match call.borrows {
            0 => Ok(()),
            count => Err(ComponentTrap::BorrowNotDropped { count }),
        }
    }

    /// `resource.new`: a new own handle in table `table` for `rep`.
    pub fn resource_new(&mut self, table: u32, rep: u32) -> Result<u32, ComponentTrap> {
        self.lower_own(table, rep)
    }

    /// `resource.rep`: the representation behind `handle`, own or borrow (the
    /// specification's `canon_resource_rep` accepts either, of the table's type).
    pub fn resource_rep(&mut self, table: u32, handle: u32) -> Result<u32, ComponentTrap> {
        match self.slot(table, handle)? {
            (_, Slot::Own { rep, .. } | Slot::Borrow { rep, .. }) => Ok(*rep),
            (_, Slot::Free) => Err(ComponentTrap::UnknownHandle(handle)),
        }
    }

    /// `resource.drop`: removes `handle`. An own handle must not be lent out; its
    /// representation is returned for the destructor. A borrow handle ends its borrow.
    pub fn resource_drop(
        &mut self,
        table: u32,
        handle: u32,
    ) -> Result<Option<DroppedOwn>, ComponentTrap> {
        let (instance, slot) = self.slot(table, handle)?;
        let slot = *slot;
        let dropped = match slot {
            Slot::Free => return Err(ComponentTrap::UnknownHandle(handle)),
            Slot::Own { lends, .. } | Slot::Borrow { lends, .. } if lends > 0 => {
                return Err(ComponentTrap::LentOut { handle, lends })
            }
            Slot::Own { resource, rep, .. } => Some(DroppedOwn { resource, rep }),
            Slot::Borrow { call, .. } => {
                if let Some(call) = self.calls.get_mut(call) {
                    call.borrows = call.borrows.saturating_sub(1);
                }
                None
            }
        };
        self.remove(instance, handle);
        Ok(dropped)
    }

    /// Moves an own handle from table `from` to a new handle in table `to` (the fused
    /// adapters' `resource.transfer-own`).
    pub fn transfer_own(&mut self, handle: u32, from: u32, to: u32) -> Result<u32, ComponentTrap> {
        let rep = self.lift_own(from, handle)?;
        self.lower_own(to, rep)
    }

    /// Lends `handle` of table `from` for the innermost call and makes the borrow in table
    /// `to` (the fused adapters' `resource.transfer-borrow`).
    pub fn transfer_borrow(
        &mut self,
        handle: u32,
        from: u32,
        to: u32,
    ) -> Result<u32, ComponentTrap> {
        let rep = self.lift_borrow(from, handle)?;
        self.lower_borrow(to, rep)
    }
}

impl Handles for ResourceTables {
    fn lift_own(&mut self, table: u32, handle: u32) -> Result<u32, ComponentTrap> {
        let (instance, slot) = self.slot(table, handle)?;
        let rep = match *slot {
            Slot::Free => return Err(ComponentTrap::UnknownHandle(handle)),
            Slot::Borrow { .. } => return Err(ComponentTrap::NotOwn(handle)),
            Slot::Own { lends, .. } if lends > 0 => {
                return Err(ComponentTrap::LentOut { handle, lends })
            }
            Slot::Own { rep, .. } => rep,
        };
        self.remove(instance, handle);
        Ok(rep)
    }

    fn lift_borrow(&mut self, table: u32, handle: u32) -> Result<u32, ComponentTrap> {
        if self.calls.is_empty() {
            return Err(ComponentTrap::BorrowOutsideCall);
        }
        let (instance, slot) = self.slot(table, handle)?;
        let rep = match slot {
            Slot::Free => return Err(ComponentTrap::UnknownHandle(handle)),
            Slot::Own { rep, lends, .. } | Slot::Borrow { rep, lends, .. } => {
                *lends += 1;
                *rep
            }
        };
        if let Some(call) = self.calls.last_mut() {
            call.lenders.push((instance, handle));
        }
        Ok(rep)
    }

    fn lower_own(&mut self, table: u32, rep: u32) -> Result<u32, ComponentTrap> {
        let (resource, instance) = self.table(table, 0)?;
        self.add(
            instance,
            Slot::Own {
                resource,
                rep,
                lends: 0,
            },
        )
    }

    fn lower_borrow(&mut self, table: u32, rep: u32) -> Result<u32, ComponentTrap> {
        let (resource, instance) = self.table(table, 0)?;
        // The instance that defines the resource gets the representation itself.
        if self.resources.get(resource as usize).and_then(|r| r.1) == Some(instance) {
            return Ok(rep);
        }
        let call = match self.calls.len() {
            0 => return Err(ComponentTrap::BorrowOutsideCall),
            depth => depth - 1,
        };
        let handle = self.add(
            instance,
            Slot::Borrow {
                resource,
                rep,
                lends: 0,
                call,
            },
        )?;
        self.calls[call].borrows += 1;
        Ok(handle)
    }
}
