//! WASI `poll_oneoff`: waits for clocks (relative or absolute timeouts) and descriptor
//! readiness (read / write). Files and directories are always ready; stdio connected to
//! the host is polled with `poll(2)`, so non-blocking descriptors and pipes work.
//!
//! The subscription layout differs in `wasi_unstable`, whose clock subscription has an
//! extra `identifier` field; [`SubscriptionLayout`] carries the offsets.

use super::clock::host_clock;
use super::table::Descriptor;
use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};
use std::os::fd::AsRawFd;
use std::time::Duration;

pub(super) const DEFINITIONS: &[&Definition] = &[errno_fn!(poll_oneoff)];

/// Where the fields of a subscription are.
pub(super) struct SubscriptionLayout {
    pub size: u32,
    pub clock_id: u32,
    pub clock_timeout: u32,
    pub clock_flags: u32,
}

/// Preview 1: userdata u64 @0, tag u8 @8; clock: id u32 @16, timeout u64 @24,
/// precision u64 @32, flags u16 @40; fd_readwrite: fd u32 @16. 48 bytes.
pub(super) const PREVIEW1: SubscriptionLayout = SubscriptionLayout {
    size: 48,
    clock_id: 16,
    clock_timeout: 24,
    clock_flags: 40,
};

/// `subclockflags::subscription_clock_abstime`.
const ABSTIME: u16 = 1;
/// `eventrwflags::fd_readwrite_hangup`.
const HANGUP: u16 = 1;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;

/// An event to report: userdata, error, type, nbytes, flags.
struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    /// userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24; 32
    /// bytes (the same in both module versions).
    fn encode(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        bytes[8..10].copy_from_slice(&self.error.0.to_le_bytes());
        bytes[10] = self.kind;
        bytes[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        bytes[24..26].copy_from_slice(&self.flags.to_le_bytes());
        bytes
    }
}

/// A descriptor subscription that must be polled on the host.
struct Pending {
    userdata: u64,
    kind: u8,
    fd: libc::c_int,
}

fn poll_oneoff(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    subscriptions: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> Result<(), Errno> {
    poll(
        state,
        memory,
        subscriptions,
        events,
        count,
        nevents,
        &PREVIEW1,
    )
}

/// The number of bytes ready to read from host fd `fd` (0 when unknown).
fn readable_bytes(fd: libc::c_int) -> u64 {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes an int.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut count) } == 0 {
        count.max(0) as u64
    } else {
        0
    }
}

/// `poll_oneoff` with the subscription layout `layout`.
pub(super) fn poll(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    subscriptions: u32,
    events: u32,
    count: u32,
    nevents: u32,
    layout: &SubscriptionLayout,
) -> Result<(), Errno> {
    if count == 0 {
        return Err(Errno::INVAL);
    }
    memory.check_array(subscriptions, count, layout.size)?;
    memory.check_array(events, count, 32)?;
    memory.check(nevents, 4)?;
    let clocks = &state.clocks;
    let started = clocks.start();
    let mut ready: Vec<Event> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    // Clock subscriptions: userdata and how long after `started` they expire.
    let mut timers: Vec<(u64, Duration)> = Vec::new();
    {
        let table = state.table.borrow();
        for index in 0..count {
            let at = subscriptions + index * layout.size;
            let userdata = memory.read_u64(at)?;
            let kind = memory.slice(at + 8, 1)?[0];
            match kind {
                EVENTTYPE_CLOCK => {
                    let id = memory.read_u32(at + layout.clock_id)?;
                    let timeout = memory.read_u64(at + layout.clock_timeout)?;
                    let flags = memory.read_u16(at + layout.clock_flags)?;
                    let wait = if flags & ABSTIME != 0 {
                        clocks.now(id).map(|now| timeout.saturating_sub(now))
                    } else {
                        host_clock(id).map(|_| timeout)
                    };
                    match wait {
                        Ok(wait) => timers.push((userdata, Duration::from_nanos(wait))),
                        Err(error) => ready.push(Event {
                            userdata,
                            error,
                            kind,
                            nbytes: 0,
                            flags: 0,
                        }),
                    }
                }
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                    let fd = memory.read_u32(at + 16)?;
                    let mut event = Event {
                        userdata,
                        error: Errno(0),
                        kind,
                        nbytes: 0,
                        flags: 0,
                    };
                    match table.get(fd) {
                        Err(error) => event.error = error,
                        Ok(Descriptor::Stdio {
                            host_fd: Some(host_fd),
                            ..
                        }) => {
                            pending.push(Pending {
                                userdata,
                                kind,
                                fd: *host_fd,
                            });
                            continue;
                        }
                        Ok(Descriptor::Stdio { host_fd: None, .. }) => {}
                        Ok(Descriptor::Dir { .. }) if kind == EVENTTYPE_FD_WRITE => {
                            event.error = Errno::BADF;
                        }
                        Ok(Descriptor::Dir { .. }) => {}
                        Ok(Descriptor::File { file, .. }) => {
                            if kind == EVENTTYPE_FD_READ {
                                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                                // SAFETY: lseek on an fd the table owns.
                                let position =
                                    unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_CUR) };
                                event.nbytes = size.saturating_sub(position.max(0) as u64);
                            }
                        }
                    }
                    ready.push(event);
                }
                _ => return Err(Errno::INVAL),
            }
        }
    }
    // Wait for the first of: a descriptor, the earliest timer; not at all when
    // something is ready already.
    let earliest = timers.iter().map(|(_, wait)| *wait).min();
    let wait = if ready.is_empty() {
        earliest
    } else {
        Some(Duration::ZERO)
    };
    // A time limit cuts every wait short: the host waits until it runs out at most, then
    // returns `INTR`, and the guest traps at its next check.
    let time_left = (!clocks.is_virtual()).then(|| state.time_left()).flatten();
    let cut_short = match (wait, time_left) {
        (Some(wait), Some(left)) => left < wait,
        (None, Some(_)) => true,
        _ => false,
    };
    let wait = if cut_short { time_left } else { wait };
    if pending.is_empty() {
        if let Some(wait) = wait {
            clocks.wait(wait);
        }
        if cut_short {
            return Err(Errno::INTR);
        }
    } else {
        let mut pollfds: Vec<libc::pollfd> = pending
            .iter()
            .map(|pending| libc::pollfd {
                fd: pending.fd,
                events: if pending.kind == EVENTTYPE_FD_READ {
                    libc::POLLIN
                } else {
                    libc::POLLOUT
                },
                revents: 0,
            })
            .collect();
        loop {
            let timeout = match wait {
                None => -1,
                // Virtual time does not pass while the host waits: only look.
                Some(_) if clocks.is_virtual() => 0,
                Some(wait) => {
                    let left = wait.saturating_sub(clocks.elapsed(&started));
                    left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int
                }
            };
            // SAFETY: `pollfds` is a valid array of `pollfds.len()` entries.
            let result =
                unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, timeout) };
            if result == 0 && cut_short {
                return Err(Errno::INTR);
            }
            if result >= 0 {
                break;
            }
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINTR) {
                return Err(error.into());
            }
        }
        for (pending, pollfd) in pending.iter().zip(&pollfds) {
            if pollfd.revents == 0 {
                continue;
            }
            let hangup = pollfd.revents & libc::POLLHUP != 0;
            let error = if pollfd.revents & libc::POLLNVAL != 0 {
                Errno::BADF
            } else {
                Errno(0)
            };
            ready.push(Event {
                userdata: pending.userdata,
                error,
                kind: pending.kind,
                nbytes: if pending.kind == EVENTTYPE_FD_READ {
                    readable_bytes(pending.fd)
                } else {
                    0
                },
                flags: if hangup { HANGUP } else { 0 },
            });
        }
    }
    if ready.is_empty() {
        if let (true, Some(earliest)) = (clocks.is_virtual() && !pending.is_empty(), earliest) {
            // No descriptor was ready: virtual time jumps to the earliest timer.
            clocks.wait(earliest.saturating_sub(clocks.elapsed(&started)));
        }
        let elapsed = clocks.elapsed(&started);
        for (userdata, wait) in timers {
            if wait <= elapsed || Some(wait) == earliest {
                ready.push(Event {
                    userdata,
                    error: Errno(0),
                    kind: EVENTTYPE_CLOCK,
                    nbytes: 0,
                    flags: 0,
                });
            }
        }
    }
    for (index, event) in ready.iter().enumerate() {
        memory.write_bytes(events + 32 * index as u32, &event.encode())?;
    }
    memory.write_u32(nevents, ready.len() as u32)
}
