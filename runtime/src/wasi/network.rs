//! What network a WASI guest may reach: the grants of WASI 0.2's `wasi:sockets` (preview 1
//! has no way to open a socket, so nothing here concerns it). Nothing is granted by
//! default; each grant says what it allows:
//!
//! - `tcp_listen`: binding a TCP socket to a matching address and listening on it;
//! - `tcp_connect`: connecting a TCP socket to a matching address;
//! - `udp`: binding a UDP socket to a matching address and sending datagrams to one;
//! - `ip_name_lookup`: resolving names (`wasi:sockets/ip-name-lookup`);
//! - `inherit`: all of these, for every address.
//!
//! A socket can only be created with a grant of its protocol (`access-denied` otherwise, as
//! Wasmtime does with `-S tcp=n`). Binding to port 0 (an ephemeral port the system picks)
//! needs no address grant beyond that: a client may bind before it connects or sends. A
//! listener's address is checked when it starts listening, a connection's remote address
//! when it starts connecting, a datagram's destination when it is sent; connections are
//! accepted and datagrams received from anyone, as Wasmtime does.
//!
//! An [`AddressPattern`] is written `IP:PORT` or `[IPV6]:PORT`, with an optional prefix
//! length after the address (`10.0.0.0/8:80`, `[fd00::/8]:0`), port 0 meaning any port.
//! Addresses are compared in canonical form: a guest's IPv4-mapped IPv6 address
//! (`::ffff:127.0.0.1`) matches a grant of `127.0.0.1`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The network grants of a guest (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkGrants {
    /// Addresses TCP sockets may be bound to and listen on.
    pub tcp_listen: Vec<AddressPattern>,
    /// Addresses TCP sockets may connect to.
    pub tcp_connect: Vec<AddressPattern>,
    /// Addresses UDP sockets may be bound to and send datagrams to.
    pub udp: Vec<AddressPattern>,
    /// Whether names may be resolved.
    pub ip_name_lookup: bool,
    /// Everything, for every address (`--inherit-network`).
    pub inherit: bool,
}

/// What the guest wants to do with an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SocketUse {
    /// Bind a TCP socket to it.
    TcpBind,
    /// Listen on it (a bound TCP socket's local address).
    TcpListen,
    /// Connect a TCP socket to it.
    TcpConnect,
    /// Bind a UDP socket to it.
    UdpBind,
    /// Send datagrams to it (or connect a UDP socket to it).
    UdpSend,
}

impl NetworkGrants {
    /// Whether the guest may create TCP sockets: it has some TCP grant.
    pub(crate) fn tcp_allowed(&self) -> bool {
        self.inherit || !self.tcp_listen.is_empty() || !self.tcp_connect.is_empty()
    }

    /// Whether the guest may create UDP sockets: it has some UDP grant.
    pub(crate) fn udp_allowed(&self) -> bool {
        self.inherit || !self.udp.is_empty()
    }

    /// Whether the guest may resolve names.
    pub(crate) fn ip_name_lookup_allowed(&self) -> bool {
        self.inherit || self.ip_name_lookup
    }

    /// Whether the guest may use `address` as `usage` says.
    pub(crate) fn allows(&self, usage: SocketUse, address: SocketAddr) -> bool {
        if self.inherit {
            return true;
        }
        let matches =
            |patterns: &[AddressPattern]| patterns.iter().any(|pattern| pattern.matches(address));
        match usage {
            SocketUse::TcpBind => {
                (address.port() == 0 && self.tcp_allowed()) || matches(&self.tcp_listen)
            }
            SocketUse::TcpListen => matches(&self.tcp_listen),
            SocketUse::TcpConnect => matches(&self.tcp_connect),
            SocketUse::UdpBind => (address.port() == 0 && self.udp_allowed()) || matches(&self.udp),
            SocketUse::UdpSend => matches(&self.udp),
        }
    }
}

/// A set of socket addresses a grant names: an IP address with a prefix length (the
/// network), and a port (0: any port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressPattern {
    ip: IpAddr,
    prefix: u8,
    port: u16,
}

impl AddressPattern {
    /// Whether `address` is one of the pattern's.
    pub fn matches(&self, address: SocketAddr) -> bool {
        if self.port != 0 && self.port != address.port() {
            return false;
        }
        match (self.ip, address.ip().to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl AddressPattern {
    /// The pattern as baked into executables: 4 or 6, the prefix length, the port (little
    /// endian), the address's bytes.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let (family, address) = match self.ip {
            IpAddr::V4(ip) => (4, ip.octets().to_vec()),
            IpAddr::V6(ip) => (6, ip.octets().to_vec()),
        };
        let mut bytes = vec![family, self.prefix];
        bytes.extend_from_slice(&self.port.to_le_bytes());
        bytes.extend_from_slice(&address);
        bytes
    }

    /// The pattern [`to_bytes`](Self::to_bytes) gave; `None` if these are not such bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<AddressPattern> {
        let (&[family, prefix, port_low, port_high], address) = bytes.split_first_chunk::<4>()?;
        let ip = match family {
            4 => IpAddr::from(<[u8; 4]>::try_from(address).ok()?),
            6 => IpAddr::from(<[u8; 16]>::try_from(address).ok()?),
            _ => return None,
        };
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return None;
        }
        // A baked IPv4-mapped address would never match: patterns are canonical.
        if ip.to_canonical() != ip {
            return None;
        }
        let port = u16::from_le_bytes([port_low, port_high]);
        Some(AddressPattern { ip, prefix, port })
    }
}

/// Why an address pattern does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressPatternError(String);

impl fmt::Display for AddressPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AddressPatternError {}

impl FromStr for AddressPattern {
    type Err = AddressPatternError;

    /// `IP[/PREFIX]:PORT` or `[IPV6[/PREFIX]]:PORT`.
    fn from_str(text: &str) -> Result<AddressPattern, AddressPatternError> {
        let error = |why: &str| {
            AddressPatternError(format!(
                "`{text}`: {why} (expected IP:PORT, [IPV6]:PORT, or either with /PREFIX \
                 after the address; port 0 is any port)"
            ))
        };
        let (address, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (address, port) = rest.split_once("]:").ok_or_else(|| error("no ]:PORT"))?;
                (address, port)
            }
            None => text.rsplit_once(':').ok_or_else(|| error("no :PORT"))?,
        };
        let port: u16 = port.parse().map_err(|_| {
            error(&format!(
                "the port `{port}` is not a number from 0 to 65535"
            ))
        })?;
        let (ip, prefix) = match address.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (address, None),
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| error(&format!("`{ip}` is not an IP address")))?;
        if ip.is_ipv6() != text.starts_with('[') {
            return Err(error(if ip.is_ipv6() {
                "an IPv6 address goes in brackets"
            } else {
                "only an IPv6 address goes in brackets"
            }));
        }
        // A grant of an IPv4-mapped address is a grant of the IPv4 address, as the guest's
        // addresses are compared in canonical form.
        let (ip, mapped) = match ip.to_canonical() {
            canonical @ IpAddr::V4(_) if ip.is_ipv6() => (canonical, 96),
            canonical => (canonical, 0),
        };
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => {
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .and_then(|prefix: u8| prefix.checked_sub(mapped))
                    .filter(|prefix| *prefix <= bits)
                    .ok_or_else(|| {
                        error(&format!(
                            "the prefix length `{prefix}` is not a number from {mapped} to {}",
                            bits + mapped
                        ))
                    })?;
                prefix
            }
        };
        Ok(AddressPattern { ip, prefix, port })
    }
}

impl fmt::Display for AddressPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.ip.is_ipv4() { 32 } else { 128 };
        let prefix = if self.prefix == full {
            String::new()
        } else {
            format!("/{}", self.prefix)
        };
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}{prefix}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}{prefix}]:{}", self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> AddressPattern {
        text.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    fn address(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn patterns_parse_print_and_match() {
        for (text, printed) in [
            ("127.0.0.1:0", "127.0.0.1:0"),
            ("10.0.0.0/8:80", "10.0.0.0/8:80"),
            ("0.0.0.0/0:0", "0.0.0.0/0:0"),
            ("[::1]:8080", "[::1]:8080"),
            ("[fd00::/8]:0", "[fd00::/8]:0"),
            ("[::ffff:127.0.0.1]:7", "127.0.0.1:7"),
            ("[::ffff:10.0.0.0/104]:7", "10.0.0.0/8:7"),
        ] {
            assert_eq!(pattern(text).to_string(), printed, "{text}");
            assert_eq!(pattern(printed), pattern(text), "{text}");
            let baked = pattern(text).to_bytes();
            assert_eq!(
                AddressPattern::from_bytes(&baked),
                Some(pattern(text)),
                "{text}"
            );
        }
        let check = |pattern_text: &str, address_text: &str, expected: bool| {
            assert_eq!(
                pattern(pattern_text).matches(address(address_text)),
                expected,
                "{pattern_text} against {address_text}"
            );
        };
        check("127.0.0.1:0", "127.0.0.1:4000", true);
        check("127.0.0.1:0", "127.0.0.2:4000", false);
        check("127.0.0.1:80", "127.0.0.1:81", false);
        check("127.0.0.1:80", "[::ffff:127.0.0.1]:80", true);
        check("10.0.0.0/8:0", "10.200.3.4:9", true);
        check("10.0.0.0/8:0", "11.0.0.1:9", false);
        check("0.0.0.0/0:0", "192.168.1.1:1", true);
        check("0.0.0.0/0:0", "[::1]:1", false);
        check("[::1]:0", "[::1]:1", true);
        check("[::1]:0", "127.0.0.1:1", false);
        check("[fd00::/8]:0", "[fd12::1]:1", true);
        check("[fd00::/8]:0", "[fe80::1]:1", false);
    }

    #[test]
    fn malformed_patterns_say_why() {
        for (text, why) in [
            ("127.0.0.1", "no :PORT"),
            ("127.0.0.1:http", "the port `http`"),
            ("127.0.0.1:65536", "the port `65536`"),
            ("localhost:80", "`localhost` is not an IP address"),
            ("::1:80", "an IPv6 address goes in brackets"),
            ("[127.0.0.1]:80", "only an IPv6 address goes in brackets"),
            ("[::1:80", "no ]:PORT"),
            ("10.0.0.0/33:0", "prefix length `33`"),
            ("[::/129]:0", "prefix length `129`"),
            ("[::ffff:1.2.3.4/95]:0", "prefix length `95`"),
        ] {
            let error = text.parse::<AddressPattern>().unwrap_err().to_string();
            assert!(error.contains(why), "{text}: {error}");
            assert!(error.contains(text), "{text}: {error}");
        }
    }

    #[test]
    fn uses_need_their_grants() {
        let none = NetworkGrants::default();
        assert!(!none.tcp_allowed() && !none.udp_allowed() && !none.ip_name_lookup_allowed());
        let loopback = address("127.0.0.1:0");
        for usage in [
            SocketUse::TcpBind,
            SocketUse::TcpListen,
            SocketUse::TcpConnect,
            SocketUse::UdpBind,
            SocketUse::UdpSend,
        ] {
            assert!(!none.allows(usage, loopback), "{usage:?}");
        }
        let connect_only = NetworkGrants {
            tcp_connect: vec![pattern("127.0.0.1:7000")],
            ..NetworkGrants::default()
        };
        assert!(connect_only.tcp_allowed() && !connect_only.udp_allowed());
        assert!(connect_only.allows(SocketUse::TcpConnect, address("127.0.0.1:7000")));
        assert!(!connect_only.allows(SocketUse::TcpConnect, address("127.0.0.1:7001")));
        // An ephemeral bind before connecting needs no listen grant; listening does.
        assert!(connect_only.allows(SocketUse::TcpBind, address("0.0.0.0:0")));
        assert!(!connect_only.allows(SocketUse::TcpBind, address("127.0.0.1:7000")));
        assert!(!connect_only.allows(SocketUse::TcpListen, address("127.0.0.1:40000")));
        assert!(!connect_only.allows(SocketUse::UdpBind, address("0.0.0.0:0")));
        let everything = NetworkGrants {
            inherit: true,
            ..NetworkGrants::default()
        };
        assert!(everything.ip_name_lookup_allowed());
        assert!(everything.allows(SocketUse::UdpSend, address("[2001:db8::1]:53")));
    }
}
