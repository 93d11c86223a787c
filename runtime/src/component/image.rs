//! [`LinkedComponent`]: a component compiled ahead of time and linked into this binary, read
//! back from its image (`<prefix>kiln_component`, which `kiln compile`, `kiln build` and
//! kiln-build write; layout in kiln-abi's `symbols::COMPONENT_IMAGE`): the plan, decoded,
//! and each core module from its relocated descriptor.

use crate::api::Store;
use crate::error::{Error, InstantiateError};
use crate::vm::module::Module;
use kiln_abi::component::ComponentPlan;
use kiln_abi::descriptor::ModuleDescriptor;
use kiln_abi::symbols::COMPONENT_IMAGE_HEADER_WORDS;

use super::host::ComponentHost;
use super::instance::ComponentInstance;

/// A component linked into this binary: its plan and its core modules, checked and
/// registered, ready to instantiate any number of times.
#[derive(Clone, Debug)]
pub struct LinkedComponent {
    plan: ComponentPlan,
    modules: Vec<Module>,
}

impl LinkedComponent {
    /// Reads the component image at `image`: decodes its plan and wraps each module's
    /// descriptor ([`Module::from_descriptor`], which checks the ABI version).
    ///
    /// # Safety
    /// `image` must be the address of a `<prefix>kiln_component` image linked into this
    /// process by the system linker (so that its pointers are relocated), whose modules'
    /// code stays mapped for the life of the process.
    pub unsafe fn from_image(image: *const u64) -> Result<LinkedComponent, Error> {
        // SAFETY: the image is `COMPONENT_IMAGE_HEADER_WORDS` words, then one descriptor
        // pointer per module (the count is its first word), in one read-only section,
        // relocated by the linker; the plan pointer covers `plan_len` bytes of the same
        // binary (the caller's contract).
        let (plan, descriptors) = unsafe {
            let count = image.read();
            let plan_len = image.add(1).read();
            let plan_ptr = image.add(2).read() as usize as *const u8;
            let (Ok(count), Ok(plan_len)) = (usize::try_from(count), usize::try_from(plan_len))
            else {
                return Err(Error::new(format!(
                    "component image with {count} modules and a plan of {plan_len} bytes"
                )));
            };
            if count > 1 << 16 || plan_ptr.is_null() {
                return Err(Error::new(format!(
                    "component image with {count} modules and a plan at {plan_ptr:?}: not an \
                     image kiln wrote"
                )));
            }
            let plan = std::slice::from_raw_parts(plan_ptr, plan_len);
            let descriptors = std::slice::from_raw_parts(
                image
                    .add(COMPONENT_IMAGE_HEADER_WORDS)
                    .cast::<&'static ModuleDescriptor>(),
                count,
            );
            (plan, descriptors)
        };
        let plan = ComponentPlan::decode(plan)
            .map_err(|error| Error::new(format!("the component's plan: {error}")))?;
        if plan.modules.len() != descriptors.len() {
            return Err(Error::new(format!(
                "the component's plan has {} core modules, its image {}",
                plan.modules.len(),
                descriptors.len()
            )));
        }
        let modules = descriptors
            .iter()
            // SAFETY: each pointer is a compiled module's relocated descriptor, whose code
            // is part of this binary (the caller's contract).
            .map(|descriptor| unsafe { Module::from_descriptor(descriptor) })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LinkedComponent { plan, modules })
    }

    /// The component's plan.
    pub fn plan(&self) -> &ComponentPlan {
        &self.plan
    }

    /// Its core modules, in the plan's order.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Instantiates the component in `store` with its imports bound to `host`.
    pub fn instantiate(
        &self,
        store: &mut Store,
        host: Box<dyn ComponentHost>,
    ) -> Result<ComponentInstance, InstantiateError> {
        ComponentInstance::new(store, self.plan.clone(), &self.modules, host)
    }

    /// The plan and the modules, for a runner that takes them apart.
    pub fn into_parts(self) -> (ComponentPlan, Vec<Module>) {
        (self.plan, self.modules)
    }
}
