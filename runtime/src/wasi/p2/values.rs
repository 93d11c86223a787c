//! Lifted arguments decoded for a WASI 0.2 function, and its results built: one place
//! that knows how each WIT type a function takes or gives is a [`ComponentVal`].
//!
//! A guest may import a WASI name under another type than the WIT's; the component
//! layer lifts by the guest's type, so an argument of the wrong shape is that guest's
//! mistake and traps, naming the function and the argument.

use super::HostFunction;
use crate::component::{ComponentVal, HostCallError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// An `outgoing-datagram`: its data and remote address.
pub(crate) type OutgoingDatagram = (Vec<u8>, Option<SocketAddr>);

/// The arguments of one call, taken in order.
pub(crate) struct Args {
    function: &'static HostFunction,
    values: std::vec::IntoIter<ComponentVal>,
    index: usize,
}

impl Args {
    pub fn new(function: &'static HostFunction, values: Vec<ComponentVal>) -> Args {
        Args {
            function,
            values: values.into_iter(),
            index: 0,
        }
    }

    /// The trap for an argument that is not what the WIT says.
    fn mismatch(&self, expected: &str, found: Option<&ComponentVal>) -> HostCallError {
        HostCallError::Trap(format!(
            "wasi: argument {} of {}#{} is {}, expected {expected}",
            self.index,
            self.function.interface,
            self.function.name,
            found.map_or("missing", ComponentVal::kind),
        ))
    }

    fn next(&mut self) -> Option<ComponentVal> {
        self.index += 1;
        self.values.next()
    }

    /// Takes the next argument through `decode`, or traps saying `expected`.
    fn take<T>(
        &mut self,
        expected: &str,
        decode: impl FnOnce(&ComponentVal) -> Option<T>,
    ) -> Result<T, HostCallError> {
        let value = self.next();
        match value.as_ref().and_then(decode) {
            Some(decoded) => Ok(decoded),
            None => Err(self.mismatch(expected, value.as_ref())),
        }
    }

    /// A `borrow<T>` (a method's `self`, or another borrowed handle).
    pub fn borrow(&mut self) -> Result<u32, HostCallError> {
        self.take("borrow", |value| match value {
            ComponentVal::Borrow(rep) => Some(*rep),
            _ => None,
        })
    }

    pub fn u8(&mut self) -> Result<u8, HostCallError> {
        self.take("u8", |value| match value {
            ComponentVal::U8(value) => Some(*value),
            _ => None,
        })
    }

    pub fn u32(&mut self) -> Result<u32, HostCallError> {
        self.take("u32", |value| match value {
            ComponentVal::U32(value) => Some(*value),
            _ => None,
        })
    }

    pub fn bool(&mut self) -> Result<bool, HostCallError> {
        self.take("bool", |value| match value {
            ComponentVal::Bool(value) => Some(*value),
            _ => None,
        })
    }

    /// An `ip-socket-address` (`wasi:sockets/network`).
    pub fn socket_address(&mut self) -> Result<SocketAddr, HostCallError> {
        self.take("ip-socket-address", decode_socket_address)
    }

    /// An `option<ip-socket-address>`.
    pub fn option_socket_address(&mut self) -> Result<Option<SocketAddr>, HostCallError> {
        self.take("option<ip-socket-address>", |value| match value {
            ComponentVal::Option(None) => Some(None),
            ComponentVal::Option(Some(address)) => decode_socket_address(address).map(Some),
            _ => None,
        })
    }

    /// A `list<outgoing-datagram>` (`wasi:sockets/udp`): each datagram's data and remote
    /// address.
    pub fn outgoing_datagrams(&mut self) -> Result<Vec<OutgoingDatagram>, HostCallError> {
        self.take("list<outgoing-datagram>", |value| match value {
            ComponentVal::List(items) => items
                .iter()
                .map(|item| match item {
                    ComponentVal::Record(fields) => match fields.as_slice() {
                        [data, ComponentVal::Option(address)] => {
                            let data = match data {
                                ComponentVal::Bytes(bytes) => bytes.clone(),
                                ComponentVal::List(bytes) => bytes
                                    .iter()
                                    .map(|byte| match byte {
                                        ComponentVal::U8(byte) => Some(*byte),
                                        _ => None,
                                    })
                                    .collect::<Option<_>>()?,
                                _ => return None,
                            };
                            let address = match address {
                                None => None,
                                Some(address) => Some(decode_socket_address(address)?),
                            };
                            Some((data, address))
                        }
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
            _ => None,
        })
    }

    pub fn u64(&mut self) -> Result<u64, HostCallError> {
        self.take("u64", |value| match value {
            ComponentVal::U64(value) => Some(*value),
            _ => None,
        })
    }

    pub fn string(&mut self) -> Result<String, HostCallError> {
        self.take("string", |value| match value {
            ComponentVal::String(value) => Some(value.clone()),
            _ => None,
        })
    }

    /// A `list<u8>`.
    pub fn bytes(&mut self) -> Result<Vec<u8>, HostCallError> {
        self.take("list<u8>", |value| match value {
            ComponentVal::Bytes(bytes) => Some(bytes.clone()),
            ComponentVal::List(items) => items
                .iter()
                .map(|item| match item {
                    ComponentVal::U8(byte) => Some(*byte),
                    _ => None,
                })
                .collect(),
            _ => None,
        })
    }

    /// A `list<borrow<T>>`.
    pub fn borrows(&mut self) -> Result<Vec<u32>, HostCallError> {
        self.take("list<borrow>", |value| match value {
            ComponentVal::List(items) => items
                .iter()
                .map(|item| match item {
                    ComponentVal::Borrow(rep) => Some(*rep),
                    _ => None,
                })
                .collect(),
            _ => None,
        })
    }

    /// A `flags` type of at most 32 flags, as its bits.
    pub fn flags(&mut self) -> Result<u32, HostCallError> {
        self.take("flags", |value| match value {
            ComponentVal::Flags(words) => match words.as_slice() {
                [] => Some(0),
                [word] => Some(*word),
                _ => None,
            },
            _ => None,
        })
    }

    /// An `enum`'s case index.
    pub fn enum_case(&mut self) -> Result<u32, HostCallError> {
        self.take("enum", |value| match value {
            ComponentVal::Enum(case) => Some(*case),
            _ => None,
        })
    }

    /// A `variant`'s case index and payload.
    pub fn variant(&mut self) -> Result<(u32, Option<ComponentVal>), HostCallError> {
        self.take("variant", |value| match value {
            ComponentVal::Variant { case, payload } => Some((*case, payload.as_deref().cloned())),
            _ => None,
        })
    }

    /// A `result` without payloads: whether it is `ok`.
    pub fn result_is_ok(&mut self) -> Result<bool, HostCallError> {
        self.take("result", |value| match value {
            ComponentVal::Result(result) => Some(result.is_ok()),
            _ => None,
        })
    }

    /// A `record { seconds: u64, nanoseconds: u32 }` (`datetime`).
    pub fn datetime_of(&self, value: &ComponentVal) -> Result<(u64, u32), HostCallError> {
        match value {
            ComponentVal::Record(fields) => match fields.as_slice() {
                [ComponentVal::U64(seconds), ComponentVal::U32(nanoseconds)] => {
                    Ok((*seconds, *nanoseconds))
                }
                _ => Err(self.mismatch("datetime", Some(value))),
            },
            _ => Err(self.mismatch("datetime", Some(value))),
        }
    }

    /// Checks that no argument is left over.
    pub fn end(mut self) -> Result<(), HostCallError> {
        match self.next() {
            None => Ok(()),
            Some(extra) => Err(self.mismatch("no more arguments", Some(&extra))),
        }
    }
}

/// One result.
pub(crate) fn one(value: ComponentVal) -> Vec<ComponentVal> {
    vec![value]
}

/// `result<T, E>`'s `ok` with payload `value` (`None` for `result<_, E>`).
pub(crate) fn ok(value: Option<ComponentVal>) -> ComponentVal {
    ComponentVal::Result(Ok(value.map(Box::new)))
}

/// `result<T, E>`'s `error` with payload `value`.
pub(crate) fn err(value: ComponentVal) -> ComponentVal {
    ComponentVal::Result(Err(Some(Box::new(value))))
}

/// `option<T>`.
pub(crate) fn option(value: Option<ComponentVal>) -> ComponentVal {
    ComponentVal::Option(value.map(Box::new))
}

/// A `datetime` record from nanoseconds.
pub(crate) fn datetime(nanoseconds: u64) -> ComponentVal {
    ComponentVal::Record(vec![
        ComponentVal::U64(nanoseconds / 1_000_000_000),
        ComponentVal::U32((nanoseconds % 1_000_000_000) as u32),
    ])
}

/// An `ip-socket-address`: `ipv4(record { port, address: tuple<u8 x 4> })` or
/// `ipv6(record { port, flow-info, address: tuple<u16 x 8>, scope-id })`.
fn decode_socket_address(value: &ComponentVal) -> Option<SocketAddr> {
    let ComponentVal::Variant {
        case,
        payload: Some(payload),
    } = value
    else {
        return None;
    };
    let ComponentVal::Record(fields) = &**payload else {
        return None;
    };
    match (case, fields.as_slice()) {
        (0, [ComponentVal::U16(port), ComponentVal::Tuple(octets)]) => {
            let octets: Vec<u8> = octets
                .iter()
                .map(|octet| match octet {
                    ComponentVal::U8(octet) => Some(*octet),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let octets: [u8; 4] = octets.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(octets),
                *port,
            )))
        }
        (
            1,
            [ComponentVal::U16(port), ComponentVal::U32(flow_info), ComponentVal::Tuple(segments), ComponentVal::U32(scope_id)],
        ) => {
            let segments: Vec<u16> = segments
                .iter()
                .map(|segment| match segment {
                    ComponentVal::U16(segment) => Some(*segment),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let segments: [u16; 8] = segments.try_into().ok()?;
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(segments),
                *port,
                *flow_info,
                *scope_id,
            )))
        }
        _ => None,
    }
}

/// An `ip-address`: `ipv4(tuple<u8 x 4>)` or `ipv6(tuple<u16 x 8>)`.
pub(crate) fn ip_address(ip: IpAddr) -> ComponentVal {
    match ip {
        IpAddr::V4(ip) => ComponentVal::variant(
            0,
            Some(ComponentVal::Tuple(
                ip.octets().into_iter().map(ComponentVal::U8).collect(),
            )),
        ),
        IpAddr::V6(ip) => ComponentVal::variant(
            1,
            Some(ComponentVal::Tuple(
                ip.segments().into_iter().map(ComponentVal::U16).collect(),
            )),
        ),
    }
}

/// An `ip-socket-address`.
pub(crate) fn socket_address(address: SocketAddr) -> ComponentVal {
    match address {
        SocketAddr::V4(address) => ComponentVal::variant(
            0,
            Some(ComponentVal::Record(vec![
                ComponentVal::U16(address.port()),
                ComponentVal::Tuple(
                    address
                        .ip()
                        .octets()
                        .into_iter()
                        .map(ComponentVal::U8)
                        .collect(),
                ),
            ])),
        ),
        SocketAddr::V6(address) => ComponentVal::variant(
            1,
            Some(ComponentVal::Record(vec![
                ComponentVal::U16(address.port()),
                ComponentVal::U32(address.flowinfo()),
                ComponentVal::Tuple(
                    address
                        .ip()
                        .segments()
                        .into_iter()
                        .map(ComponentVal::U16)
                        .collect(),
                ),
                ComponentVal::U32(address.scope_id()),
            ])),
        ),
    }
}
