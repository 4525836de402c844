//! The sandbox's network interfaces: lo only (index 1, 127.0.0.1/8 and
//! ::1, MTU 65536), as the interface ioctls of any socket report it.
//! Changing an interface is not served; AF_NETLINK is not either, so
//! `ip` and `ifconfig` cannot list it.

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;

/// lo's MTU.
pub const LO_MTU: i32 = 65536;
/// lo's index.
pub const LO_INDEX: i32 = 1;

const SIOCGIFNAME: u64 = 0x8910;
const SIOCGIFCONF: u64 = 0x8912;
const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCGIFADDR: u64 = 0x8915;
const SIOCGIFDSTADDR: u64 = 0x8917;
const SIOCGIFBRDADDR: u64 = 0x8919;
const SIOCGIFNETMASK: u64 = 0x891b;
const SIOCGIFMETRIC: u64 = 0x891d;
const SIOCGIFMTU: u64 = 0x8921;
const SIOCGIFHWADDR: u64 = 0x8927;
const SIOCGIFINDEX: u64 = 0x8933;
const SIOCGIFTXQLEN: u64 = 0x8942;

/// IFF_UP | IFF_LOOPBACK | IFF_RUNNING.
const LO_FLAGS: u16 = 0x1 | 0x8 | 0x40;
/// ARPHRD_LOOPBACK.
const ARPHRD_LOOPBACK: u16 = 772;
/// sizeof(struct ifreq).
const IFREQ: usize = 40;

/// An IPv4 sockaddr in an ifreq's union.
fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&2u16.to_ne_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

/// The interface ioctls (`inet`: the socket is an internet one, which
/// alone answers the address requests). ENOTTY for anything else.
pub fn ioctl(task: &Task, cmd: u64, arg: u64, inet: bool) -> KResult<u64> {
    if cmd == SIOCGIFCONF {
        return ifconf(task, arg);
    }
    let inet_only = matches!(cmd, SIOCGIFADDR | SIOCGIFDSTADDR | SIOCGIFBRDADDR | SIOCGIFNETMASK);
    let known = inet_only || matches!(cmd, SIOCGIFNAME | SIOCGIFFLAGS | SIOCGIFMETRIC | SIOCGIFMTU | SIOCGIFHWADDR | SIOCGIFINDEX | SIOCGIFTXQLEN);
    if !known || (inet_only && !inet) {
        return Err(Errno::ENOTTY);
    }
    let mut req = [0u8; IFREQ];
    task.mm().copy_in(arg, &mut req)?;
    if cmd == SIOCGIFNAME {
        let index = i32::from_ne_bytes([req[16], req[17], req[18], req[19]]);
        if index != LO_INDEX {
            return Err(Errno::ENODEV);
        }
        req[..16].fill(0);
        req[..2].copy_from_slice(b"lo");
        task.mm().copy_out(arg, &req)?;
        return Ok(0);
    }
    let end = req[..16].iter().position(|&c| c == 0).unwrap_or(16);
    if &req[..end] != b"lo" {
        return Err(Errno::ENODEV);
    }
    let u = &mut req[16..];
    match cmd {
        SIOCGIFFLAGS => u[..2].copy_from_slice(&LO_FLAGS.to_ne_bytes()),
        SIOCGIFADDR | SIOCGIFDSTADDR => u[..16].copy_from_slice(&sockaddr_in([127, 0, 0, 1])),
        SIOCGIFBRDADDR => u[..16].copy_from_slice(&sockaddr_in([0, 0, 0, 0])),
        SIOCGIFNETMASK => u[..16].copy_from_slice(&sockaddr_in([255, 0, 0, 0])),
        SIOCGIFMETRIC => u[..4].copy_from_slice(&0i32.to_ne_bytes()),
        SIOCGIFMTU => u[..4].copy_from_slice(&LO_MTU.to_ne_bytes()),
        SIOCGIFINDEX => u[..4].copy_from_slice(&LO_INDEX.to_ne_bytes()),
        SIOCGIFTXQLEN => u[..4].copy_from_slice(&1000i32.to_ne_bytes()),
        _ => {
            // SIOCGIFHWADDR: a loopback device has no hardware address.
            u[..16].fill(0);
            u[..2].copy_from_slice(&ARPHRD_LOOPBACK.to_ne_bytes());
        }
    }
    task.mm().copy_out(arg, &req)?;
    Ok(0)
}

/// SIOCGIFCONF: one ifreq per interface with an IPv4 address (lo's); a
/// NULL buffer asks for the length needed.
fn ifconf(task: &Task, arg: u64) -> KResult<u64> {
    let (len, buf): (i32, u64) = {
        let raw: [u64; 2] = task.mm().read_val(arg)?;
        (raw[0] as u32 as i32, raw[1])
    };
    let n = if buf == 0 {
        IFREQ
    } else if len >= IFREQ as i32 {
        let mut req = [0u8; IFREQ];
        req[..2].copy_from_slice(b"lo");
        req[16..32].copy_from_slice(&sockaddr_in([127, 0, 0, 1]));
        task.mm().copy_out(buf, &req)?;
        IFREQ
    } else {
        0
    };
    task.mm().write_val(arg, &(n as i32))?;
    Ok(0)
}
