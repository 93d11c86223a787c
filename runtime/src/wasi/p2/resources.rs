//! The WASI 0.2 host's resources by representation: every stream, pollable, descriptor,
//! error... the guest holds a handle to is one entry here, under a `u32` the host
//! chooses (the lowest free one). A rep the guest passes is checked: unknown, or of
//! another kind than the function expects, traps with a message naming both.
//!
//! Parents and children: an entry may have a parent (a pollable's stream, a TCP socket's
//! streams' socket, a UDP socket's datagram streams' socket) and counts its live
//! children; dropping an entry with children traps, as Wasmtime's table refuses to
//! delete a resource that has children.

use super::io::{InputStream, OutputStream, Pollable};
use super::tcp::TcpSocket;
use super::udp::{IncomingDatagramStream, OutgoingDatagramStream, UdpSocket};
use crate::component::HostCallError;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The resource types WASI 0.2 defines that kiln's host implements; the discriminant is
/// the index `resolve_resource` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    Error,
    Pollable,
    InputStream,
    OutputStream,
    Descriptor,
    DirectoryEntryStream,
    TerminalInput,
    TerminalOutput,
    Network,
    ResolveAddressStream,
    TcpSocket,
    UdpSocket,
    IncomingDatagramStream,
    OutgoingDatagramStream,
}

impl ResourceKind {
    /// Every kind, at the index of its discriminant.
    pub const ALL: [ResourceKind; 14] = [
        ResourceKind::Error,
        ResourceKind::Pollable,
        ResourceKind::InputStream,
        ResourceKind::OutputStream,
        ResourceKind::Descriptor,
        ResourceKind::DirectoryEntryStream,
        ResourceKind::TerminalInput,
        ResourceKind::TerminalOutput,
        ResourceKind::Network,
        ResourceKind::ResolveAddressStream,
        ResourceKind::TcpSocket,
        ResourceKind::UdpSocket,
        ResourceKind::IncomingDatagramStream,
        ResourceKind::OutgoingDatagramStream,
    ];

    /// The interface that defines the resource, without version.
    pub fn interface(self) -> &'static str {
        match self {
            ResourceKind::Error => "wasi:io/error",
            ResourceKind::Pollable => "wasi:io/poll",
            ResourceKind::InputStream | ResourceKind::OutputStream => "wasi:io/streams",
            ResourceKind::Descriptor | ResourceKind::DirectoryEntryStream => {
                "wasi:filesystem/types"
            }
            ResourceKind::TerminalInput => "wasi:cli/terminal-input",
            ResourceKind::TerminalOutput => "wasi:cli/terminal-output",
            ResourceKind::Network => "wasi:sockets/network",
            ResourceKind::ResolveAddressStream => "wasi:sockets/ip-name-lookup",
            ResourceKind::TcpSocket => "wasi:sockets/tcp",
            ResourceKind::UdpSocket
            | ResourceKind::IncomingDatagramStream
            | ResourceKind::OutgoingDatagramStream => "wasi:sockets/udp",
        }
    }

    /// The resource's WIT name.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Error => "error",
            ResourceKind::Pollable => "pollable",
            ResourceKind::InputStream => "input-stream",
            ResourceKind::OutputStream => "output-stream",
            ResourceKind::Descriptor => "descriptor",
            ResourceKind::DirectoryEntryStream => "directory-entry-stream",
            ResourceKind::TerminalInput => "terminal-input",
            ResourceKind::TerminalOutput => "terminal-output",
            ResourceKind::Network => "network",
            ResourceKind::ResolveAddressStream => "resolve-address-stream",
            ResourceKind::TcpSocket => "tcp-socket",
            ResourceKind::UdpSocket => "udp-socket",
            ResourceKind::IncomingDatagramStream => "incoming-datagram-stream",
            ResourceKind::OutgoingDatagramStream => "outgoing-datagram-stream",
        }
    }
}

/// An error resource: what `to-debug-string` says and, for filesystem errors, the
/// `error-code` case `filesystem-error-code` gives; `network-error-code` reads the errno.
pub(crate) struct ErrorResource {
    pub message: String,
    pub code: Option<u32>,
    pub errno: Option<crate::wasi::Errno>,
}

/// A descriptor: an open file or directory with what it was opened for. Copies share
/// the open file.
#[derive(Clone)]
pub(crate) enum Descriptor {
    File {
        file: Rc<std::fs::File>,
        read: bool,
        write: bool,
        /// Whether the file may be changed at all (written, its size or times set):
        /// false beneath a read-only preopen, whatever it was opened for.
        mutate: bool,
    },
    Dir {
        dir: Rc<cap_std::fs::Dir>,
        /// Whether paths may be created, removed or renamed beneath it
        /// (`mutate-directory`; preopens have it but read-only ones).
        mutate: bool,
    },
}

/// One host resource.
pub(crate) enum Resource {
    Error(ErrorResource),
    Pollable(Pollable),
    InputStream(InputStream),
    OutputStream(OutputStream),
    Descriptor(Descriptor),
    /// The entries of a directory, read at once, and the next to give.
    DirectoryEntryStream(std::vec::IntoIter<(u32, String)>),
    TerminalInput,
    TerminalOutput,
    /// The `network` of `instance-network`: a token, the grants are the host's.
    Network,
    /// The addresses a name resolved to, and the next to give.
    ResolveAddressStream(std::vec::IntoIter<std::net::IpAddr>),
    TcpSocket(TcpSocket),
    UdpSocket(UdpSocket),
    IncomingDatagramStream(IncomingDatagramStream),
    OutgoingDatagramStream(OutgoingDatagramStream),
}

impl Resource {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Error(_) => ResourceKind::Error,
            Resource::Pollable(_) => ResourceKind::Pollable,
            Resource::InputStream(_) => ResourceKind::InputStream,
            Resource::OutputStream(_) => ResourceKind::OutputStream,
            Resource::Descriptor(_) => ResourceKind::Descriptor,
            Resource::DirectoryEntryStream(_) => ResourceKind::DirectoryEntryStream,
            Resource::TerminalInput => ResourceKind::TerminalInput,
            Resource::TerminalOutput => ResourceKind::TerminalOutput,
            Resource::Network => ResourceKind::Network,
            Resource::ResolveAddressStream(_) => ResourceKind::ResolveAddressStream,
            Resource::TcpSocket(_) => ResourceKind::TcpSocket,
            Resource::UdpSocket(_) => ResourceKind::UdpSocket,
            Resource::IncomingDatagramStream(_) => ResourceKind::IncomingDatagramStream,
            Resource::OutgoingDatagramStream(_) => ResourceKind::OutgoingDatagramStream,
        }
    }
}

struct Entry {
    resource: Resource,
    parent: Option<u32>,
    children: u32,
}

/// The most resources a guest may hold at once unless told fewer
/// ([`WasiP2::set_max_resources`](super::WasiP2::set_max_resources)).
pub(crate) const MAX_RESOURCES: u32 = 1 << 20;

/// The host's resources by representation.
pub(crate) struct Resources {
    entries: BTreeMap<u32, Entry>,
    /// The most entries there may be at once; one more traps.
    max: u32,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources {
            entries: BTreeMap::new(),
            max: MAX_RESOURCES,
        }
    }
}

impl Resources {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sets the most resources the guest may hold at once (at most [`MAX_RESOURCES`]).
    pub fn set_max(&mut self, max: u32) {
        self.max = max.min(MAX_RESOURCES);
    }

    /// Adds `resource` (a child of `parent`, if given) under the lowest free rep.
    pub fn push(&mut self, resource: Resource, parent: Option<u32>) -> Result<u32, HostCallError> {
        if self.entries.len() >= self.max as usize {
            return Err(HostCallError::Trap(format!(
                "wasi: the guest holds {} host resources, the most it may",
                self.max
            )));
        }
        if let Some(parent) = parent {
            let entry = self
                .entries
                .get_mut(&parent)
                .ok_or_else(|| unknown(parent))?;
            entry.children += 1;
        }
        let rep = (0..)
            .zip(self.entries.keys())
            .find(|(expected, &rep)| *expected != rep)
            .map_or(self.entries.len() as u32, |(expected, _)| expected);
        self.entries.insert(
            rep,
            Entry {
                resource,
                parent,
                children: 0,
            },
        );
        Ok(rep)
    }

    /// The resource `rep`, which must be of kind `kind`.
    pub fn get(&self, kind: ResourceKind, rep: u32) -> Result<&Resource, HostCallError> {
        let entry = self.entries.get(&rep).ok_or_else(|| unknown(rep))?;
        check_kind(&entry.resource, kind, rep)?;
        Ok(&entry.resource)
    }

    /// The resource `rep`, whatever its kind.
    pub fn get_any(&self, rep: u32) -> Option<&Resource> {
        self.entries.get(&rep).map(|entry| &entry.resource)
    }

    /// The resource `rep`, which must be of kind `kind`, to change.
    pub fn get_mut(
        &mut self,
        kind: ResourceKind,
        rep: u32,
    ) -> Result<&mut Resource, HostCallError> {
        let entry = self.entries.get_mut(&rep).ok_or_else(|| unknown(rep))?;
        check_kind(&entry.resource, kind, rep)?;
        Ok(&mut entry.resource)
    }

    /// Frees `rep`, of kind `kind`: traps if it still has children.
    pub fn drop(&mut self, kind: ResourceKind, rep: u32) -> Result<(), HostCallError> {
        let entry = self.entries.get(&rep).ok_or_else(|| unknown(rep))?;
        check_kind(&entry.resource, kind, rep)?;
        if entry.children > 0 {
            return Err(HostCallError::Trap(format!(
                "wasi: {} {rep} dropped while {} resource(s) made from it (pollables) live: \
                 drop those first",
                kind.name(),
                entry.children
            )));
        }
        let entry = self.entries.remove(&rep).expect("checked");
        if let Some(parent) = entry
            .parent
            .and_then(|parent| self.entries.get_mut(&parent))
        {
            parent.children -= 1;
        }
        Ok(())
    }
}

fn unknown(rep: u32) -> HostCallError {
    HostCallError::Trap(format!("wasi: no host resource has representation {rep}"))
}

fn check_kind(resource: &Resource, kind: ResourceKind, rep: u32) -> Result<(), HostCallError> {
    if resource.kind() == kind {
        return Ok(());
    }
    Err(HostCallError::Trap(format!(
        "wasi: host resource {rep} is a {}, not a {}",
        resource.kind().name(),
        kind.name()
    )))
}
