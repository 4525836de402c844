//! Terminal attributes: the kernel's `struct termios` (36 bytes, what
//! TCGETS/TCSETS carry), `struct termios2` (TCGETS2, with speeds) and the
//! old `struct termio` (TCGETA), with Linux's defaults for a new terminal.

/// Indexes into `cc`.
#[allow(missing_docs)]
pub mod cc {
    pub const VINTR: usize = 0;
    pub const VQUIT: usize = 1;
    pub const VERASE: usize = 2;
    pub const VKILL: usize = 3;
    pub const VEOF: usize = 4;
    pub const VTIME: usize = 5;
    pub const VMIN: usize = 6;
    pub const VSTART: usize = 8;
    pub const VSTOP: usize = 9;
    pub const VSUSP: usize = 10;
    pub const VEOL: usize = 11;
    pub const VREPRINT: usize = 12;
    pub const VDISCARD: usize = 13;
    pub const VWERASE: usize = 14;
    pub const VLNEXT: usize = 15;
    pub const VEOL2: usize = 16;
    /// Number of control characters in the kernel's termios.
    pub const NCCS: usize = 19;
}

/// c_iflag bits.
#[allow(missing_docs)]
pub mod iflag {
    pub const IGNBRK: u32 = 0o1;
    pub const ISTRIP: u32 = 0o40;
    pub const INLCR: u32 = 0o100;
    pub const IGNCR: u32 = 0o200;
    pub const ICRNL: u32 = 0o400;
    pub const IUCLC: u32 = 0o1000;
    pub const IXON: u32 = 0o2000;
    pub const IXANY: u32 = 0o4000;
    pub const IMAXBEL: u32 = 0o20000;
    pub const IUTF8: u32 = 0o40000;
}

/// c_oflag bits.
#[allow(missing_docs)]
pub mod oflag {
    pub const OPOST: u32 = 0o1;
    pub const OLCUC: u32 = 0o2;
    pub const ONLCR: u32 = 0o4;
    pub const OCRNL: u32 = 0o10;
    pub const ONOCR: u32 = 0o20;
    pub const ONLRET: u32 = 0o40;
    pub const TABDLY: u32 = 0o14000;
    pub const XTABS: u32 = 0o14000;
}

/// c_cflag bits.
#[allow(missing_docs)]
pub mod cflag {
    pub const B38400: u32 = 0o17;
    pub const CBAUD: u32 = 0o10017;
    pub const CS8: u32 = 0o60;
    pub const CREAD: u32 = 0o200;
    pub const BOTHER: u32 = 0o10000;
}

/// c_lflag bits.
#[allow(missing_docs)]
pub mod lflag {
    pub const ISIG: u32 = 0o1;
    pub const ICANON: u32 = 0o2;
    pub const ECHO: u32 = 0o10;
    pub const ECHOE: u32 = 0o20;
    pub const ECHOK: u32 = 0o40;
    pub const ECHONL: u32 = 0o100;
    pub const NOFLSH: u32 = 0o200;
    pub const TOSTOP: u32 = 0o400;
    pub const ECHOCTL: u32 = 0o1000;
    pub const ECHOPRT: u32 = 0o2000;
    pub const ECHOKE: u32 = 0o4000;
    pub const FLUSHO: u32 = 0o10000;
    pub const PENDIN: u32 = 0o40000;
    pub const IEXTEN: u32 = 0o100000;
    pub const EXTPROC: u32 = 0o200000;
}

/// Size of the kernel's struct termios.
pub const TERMIOS_SIZE: usize = 36;
/// Size of struct termios2.
pub const TERMIOS2_SIZE: usize = 44;
/// Size of struct termio.
pub const TERMIO_SIZE: usize = 18;

/// The attributes of one terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; cc::NCCS],
    pub ispeed: u32,
    pub ospeed: u32,
}

impl Default for Termios {
    /// Linux's `tty_std_termios` as a new pty replica starts (no HUPCL).
    fn default() -> Self {
        use cc::*;
        let mut c = [0u8; NCCS];
        c[VINTR] = 0o3;
        c[VQUIT] = 0o34;
        c[VERASE] = 0o177;
        c[VKILL] = 0o25;
        c[VEOF] = 0o4;
        c[VMIN] = 1;
        c[VSTART] = 0o21;
        c[VSTOP] = 0o23;
        c[VSUSP] = 0o32;
        c[VREPRINT] = 0o22;
        c[VDISCARD] = 0o17;
        c[VWERASE] = 0o27;
        c[VLNEXT] = 0o26;
        Termios {
            iflag: iflag::ICRNL | iflag::IXON,
            oflag: oflag::OPOST | oflag::ONLCR,
            cflag: cflag::B38400 | cflag::CS8 | cflag::CREAD,
            lflag: lflag::ISIG
                | lflag::ICANON
                | lflag::ECHO
                | lflag::ECHOE
                | lflag::ECHOK
                | lflag::ECHOCTL
                | lflag::ECHOKE
                | lflag::IEXTEN,
            line: 0,
            cc: c,
            ispeed: 38400,
            ospeed: 38400,
        }
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u16_at(b: &[u8], i: usize) -> u32 {
    u32::from(u16::from_ne_bytes([b[i], b[i + 1]]))
}

impl Termios {
    /// Has `lflag` bit.
    pub fn l(&self, f: u32) -> bool {
        self.lflag & f != 0
    }
    /// Has `iflag` bit.
    pub fn i(&self, f: u32) -> bool {
        self.iflag & f != 0
    }
    /// Has `oflag` bit.
    pub fn o(&self, f: u32) -> bool {
        self.oflag & f != 0
    }
    /// Canonical mode.
    pub fn canon(&self) -> bool {
        self.l(lflag::ICANON)
    }
    /// Control character `i`, or None when disabled (_POSIX_VDISABLE, 0).
    pub fn ch(&self, i: usize) -> Option<u8> {
        match self.cc[i] {
            0 => None,
            c => Some(c),
        }
    }

    /// struct termios (TCGETS) or struct termios2 (TCGETS2, `two`).
    pub fn to_bytes(&self, two: bool) -> Vec<u8> {
        let mut b = Vec::with_capacity(TERMIOS2_SIZE);
        for v in [self.iflag, self.oflag, self.cflag, self.lflag] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        b.push(self.line);
        b.extend_from_slice(&self.cc);
        if two {
            b.extend_from_slice(&self.ispeed.to_ne_bytes());
            b.extend_from_slice(&self.ospeed.to_ne_bytes());
        }
        b
    }

    /// Parse struct termios or termios2. Like Linux, TCSETS keeps the
    /// speeds that the baud bits of c_cflag name.
    pub fn from_bytes(b: &[u8], two: bool) -> Termios {
        let mut cc = [0u8; cc::NCCS];
        cc.copy_from_slice(&b[17..17 + cc::NCCS]);
        let mut t = Termios {
            iflag: u32_at(b, 0),
            oflag: u32_at(b, 4),
            cflag: u32_at(b, 8),
            lflag: u32_at(b, 12),
            line: b[16],
            cc,
            ispeed: 0,
            ospeed: 0,
        };
        if two && t.cflag & cflag::CBAUD == cflag::BOTHER {
            t.ispeed = u32_at(b, 36);
            t.ospeed = u32_at(b, 40);
        } else {
            let s = baud_of(t.cflag);
            t.ispeed = s;
            t.ospeed = s;
        }
        t
    }

    /// struct termio (TCGETA): 16-bit flags and the first 8 control
    /// characters.
    pub fn to_termio(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(TERMIO_SIZE);
        for v in [self.iflag, self.oflag, self.cflag, self.lflag] {
            b.extend_from_slice(&(v as u16).to_ne_bytes());
        }
        b.push(self.line);
        b.extend_from_slice(&self.cc[..8]);
        b.push(0);
        b
    }

    /// Apply struct termio (TCSETA): the low 16 bits of each flag word
    /// change, the high bits are kept (Linux's user_termio_to_kernel_termios).
    pub fn set_termio(&mut self, b: &[u8]) {
        let merge = |old: u32, new: u32| (old & 0xffff_0000) | new;
        self.iflag = merge(self.iflag, u16_at(b, 0));
        self.oflag = merge(self.oflag, u16_at(b, 2));
        self.cflag = merge(self.cflag, u16_at(b, 4));
        self.lflag = merge(self.lflag, u16_at(b, 6));
        self.line = b[8];
        self.cc[..8].copy_from_slice(&b[9..17]);
        let s = baud_of(self.cflag);
        self.ispeed = s;
        self.ospeed = s;
    }
}

/// The speed a Bnnn code in c_cflag stands for.
fn baud_of(cflag: u32) -> u32 {
    const TABLE: [u32; 16] = [0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400];
    const HIGH: [u32; 15] = [
        57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000,
        3500000, 4000000,
    ];
    let code = cflag & cflag::CBAUD;
    if code & cflag::BOTHER == 0 {
        TABLE[code as usize]
    } else {
        let i = (code & 0o17) as usize;
        if i == 0 {
            0
        } else {
            HIGH.get(i - 1).copied().unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termios_round_trips() {
        let t = Termios::default();
        let b = t.to_bytes(false);
        assert_eq!(b.len(), TERMIOS_SIZE);
        assert_eq!(Termios::from_bytes(&b, false), t);
        let b2 = t.to_bytes(true);
        assert_eq!(b2.len(), TERMIOS2_SIZE);
        assert_eq!(Termios::from_bytes(&b2, true), t);
        let mut u = t;
        u.set_termio(&t.to_termio());
        assert_eq!(u, t);
        assert_eq!(t.to_termio().len(), TERMIO_SIZE);
    }
}
