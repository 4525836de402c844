//! The line discipline (Linux's n_tty): input processing (canonical line
//! editing, signal characters, CR/NL translation, flow control, echo) and
//! output processing (OPOST), between a terminal's two queues. It holds no
//! locks and knows no tasks: its owner locks it and delivers the signals
//! it asks for.

use std::collections::VecDeque;

use super::termios::{cc::*, iflag, lflag, oflag, Termios};
use crate::kernel::signal::sig;

/// Linux's N_TTY_BUF_SIZE: the read buffer of the line discipline.
pub const READ_BUF: usize = 4096;
/// Bytes written to a terminal that the line discipline has not taken in
/// yet (Linux's tty buffer limit): a writer blocks beyond it.
pub const PENDING_LIMIT: usize = 65536;
/// Output not yet read from a pty master: a replica writer blocks beyond it.
pub const OUTPUT_LIMIT: usize = 65536;

/// Marks an echoed control character (printed as ^X) in `echo_widths`.
const CTL_WIDTH: u8 = 2;

/// The state of one terminal's line discipline.
pub struct Ldisc {
    /// Attributes.
    pub t: Termios,
    /// Written to the terminal, not yet processed (input flip buffer).
    pending: VecDeque<u8>,
    /// Canonical mode: complete lines, each with its terminator (an EOF
    /// line has none; an empty EOF line makes read return 0).
    lines: VecDeque<Vec<u8>>,
    /// Canonical mode: the line being edited, with the echo width of
    /// each byte (for erase).
    edit: Vec<u8>,
    echo_widths: Vec<u8>,
    /// Non-canonical mode: bytes ready to read.
    raw: VecDeque<u8>,
    /// Processed output waiting to be read (by the pty master).
    pub out: VecDeque<u8>,
    /// Output column (tabs, ONOCR).
    column: usize,
    /// The next input byte is literal (VLNEXT).
    lnext: bool,
    /// Output stopped by VSTOP (IXON).
    pub stopped: bool,
}

impl Ldisc {
    /// A fresh discipline with Linux's default attributes.
    pub fn new(t: Termios) -> Ldisc {
        Ldisc {
            t,
            pending: VecDeque::new(),
            lines: VecDeque::new(),
            edit: Vec::new(),
            echo_widths: Vec::new(),
            raw: VecDeque::new(),
            out: VecDeque::new(),
            column: 0,
            lnext: false,
            stopped: false,
        }
    }

    /// Bytes held by the read side.
    fn held(&self) -> usize {
        self.raw.len() + self.edit.len() + self.lines.iter().map(Vec::len).sum::<usize>()
    }

    /// Room for more written bytes before a writer blocks.
    pub fn input_room(&self) -> usize {
        PENDING_LIMIT.saturating_sub(self.pending.len())
    }

    /// Room for output before a writer blocks.
    pub fn output_room(&self) -> usize {
        OUTPUT_LIMIT.saturating_sub(self.out.len())
    }

    /// Bytes a read would find (FIONREAD): whole lines in canonical mode.
    pub fn readable(&self) -> usize {
        if self.t.canon() {
            self.lines.iter().map(Vec::len).sum()
        } else {
            self.raw.len()
        }
    }

    /// A read would not block: a line (canonical) or at least `min` bytes.
    pub fn read_ready(&self, min: usize) -> bool {
        if self.t.canon() {
            !self.lines.is_empty()
        } else {
            self.raw.len() >= min.max(1)
        }
    }

    /// Accept written bytes (up to the room left) and process what fits;
    /// returns how many were accepted and the signals to send to the
    /// foreground group.
    pub fn write_input(&mut self, b: &[u8]) -> (usize, Vec<i32>) {
        let n = b.len().min(self.input_room());
        self.pending.extend(&b[..n]);
        (n, self.process_pending())
    }

    /// Move pending input into the read buffer while it has room.
    pub fn process_pending(&mut self) -> Vec<i32> {
        let mut sigs = Vec::new();
        while let Some(&c) = self.pending.front() {
            let full = self.held() >= READ_BUF - 1;
            if full && !(self.t.canon() && self.lines.is_empty()) {
                break;
            }
            self.pending.pop_front();
            if let Some(s) = self.receive(c, full) {
                sigs.push(s);
            }
        }
        sigs
    }

    /// Process one input byte. `full`: canonical mode with a full buffer
    /// and no complete line, where Linux keeps only line terminators.
    fn receive(&mut self, mut c: u8, full: bool) -> Option<i32> {
        let t = self.t;
        if t.i(iflag::ISTRIP) {
            c &= 0x7f;
        }
        if t.i(iflag::IUCLC) && t.l(lflag::IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        if self.lnext {
            self.lnext = false;
            self.put_literal(c, full);
            return None;
        }
        if t.i(iflag::IXON) {
            if t.ch(VSTART) == Some(c) {
                self.stopped = false;
                return None;
            }
            if t.ch(VSTOP) == Some(c) {
                self.stopped = true;
                return None;
            }
            if self.stopped && t.i(iflag::IXANY) {
                self.stopped = false;
            }
        }
        if t.l(lflag::ISIG) {
            let s = if t.ch(VINTR) == Some(c) {
                Some(sig::SIGINT)
            } else if t.ch(VQUIT) == Some(c) {
                Some(sig::SIGQUIT)
            } else if t.ch(VSUSP) == Some(c) {
                Some(sig::SIGTSTP)
            } else {
                None
            };
            if let Some(s) = s {
                if !t.l(lflag::NOFLSH) {
                    self.flush_input();
                    self.out.clear();
                }
                if t.i(iflag::IXON) {
                    self.stopped = false;
                }
                if t.l(lflag::ECHO) {
                    self.echo_char(c);
                }
                return Some(s);
            }
        }
        if c == b'\r' {
            if t.i(iflag::IGNCR) {
                return None;
            }
            if t.i(iflag::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.i(iflag::INLCR) {
            c = b'\r';
        }
        if !t.canon() {
            if t.l(lflag::ECHO) {
                if c == b'\n' {
                    self.output_byte(b'\n');
                } else {
                    self.echo_char(c);
                }
            }
            self.raw.push_back(c);
            return None;
        }
        let iexten = t.l(lflag::IEXTEN);
        if t.ch(VERASE) == Some(c) || t.ch(VKILL) == Some(c) || (iexten && t.ch(VWERASE) == Some(c)) {
            self.erase(c);
            return None;
        }
        if iexten && t.ch(VLNEXT) == Some(c) {
            self.lnext = true;
            if t.l(lflag::ECHO) && t.l(lflag::ECHOCTL) {
                self.output_byte(b'^');
                self.output_byte(b'\x08');
            }
            return None;
        }
        if iexten && t.ch(VREPRINT) == Some(c) && t.l(lflag::ECHO) {
            self.echo_char(c);
            self.output_byte(b'\n');
            for b in self.edit.clone() {
                self.echo_char(b);
            }
            return None;
        }
        if c == b'\n' {
            if t.l(lflag::ECHO) || t.l(lflag::ECHONL) {
                self.output_byte(b'\n');
            }
            self.commit(Some(c));
            return None;
        }
        if t.ch(VEOF) == Some(c) {
            self.commit(None);
            return None;
        }
        if t.ch(VEOL) == Some(c) || t.ch(VEOL2) == Some(c) {
            if t.l(lflag::ECHO) {
                self.echo_char(c);
            }
            self.commit(Some(c));
            return None;
        }
        self.put_literal(c, full);
        None
    }

    /// An ordinary byte: echo it and add it to the line or the raw queue.
    fn put_literal(&mut self, c: u8, full: bool) {
        if self.t.canon() {
            if full {
                return;
            }
            let w = if self.t.l(lflag::ECHO) { self.echo_char(c) } else { 1 };
            self.edit.push(c);
            self.echo_widths.push(w);
        } else {
            if self.t.l(lflag::ECHO) {
                self.echo_char(c);
            }
            self.raw.push_back(c);
        }
    }

    fn commit(&mut self, term: Option<u8>) {
        let mut line = std::mem::take(&mut self.edit);
        self.echo_widths.clear();
        if let Some(c) = term {
            line.push(c);
        }
        self.lines.push_back(line);
    }

    /// VERASE, VWERASE or VKILL on the line being edited.
    fn erase(&mut self, c: u8) {
        let t = self.t;
        if self.edit.is_empty() {
            return;
        }
        let kill = t.ch(VKILL) == Some(c);
        let werase = !kill && t.ch(VERASE) != Some(c);
        let echo = t.l(lflag::ECHO);
        if kill && (!echo || !t.l(lflag::ECHOK) || !t.l(lflag::ECHOKE) || !t.l(lflag::ECHOE)) {
            self.edit.clear();
            self.echo_widths.clear();
            if echo {
                self.echo_char(c);
                if t.l(lflag::ECHOK) {
                    self.output_byte(b'\n');
                }
            }
            return;
        }
        let mut seen_word = false;
        while let Some(&last) = self.edit.last() {
            if werase {
                let word = last.is_ascii_alphanumeric() || last == b'_';
                if word {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            // A UTF-8 character goes as a whole.
            let mut n = 1;
            if t.i(iflag::IUTF8) {
                while n < self.edit.len() && self.edit[self.edit.len() - n] & 0xc0 == 0x80 {
                    n += 1;
                }
            }
            let mut width = 0;
            for _ in 0..n {
                self.edit.pop();
                width += self.echo_widths.pop().unwrap_or(1) as usize;
            }
            if echo {
                if !kill && !werase && !t.l(lflag::ECHOE) {
                    self.echo_char(c);
                } else {
                    let w = if t.i(iflag::IUTF8) && n > 1 { 1 } else { width };
                    for _ in 0..w {
                        self.output_bytes(b"\x08 \x08");
                    }
                }
            }
            if !kill && !werase {
                break;
            }
        }
    }

    /// Echo one input byte (as ^X for control characters with ECHOCTL);
    /// returns its width on screen.
    fn echo_char(&mut self, c: u8) -> u8 {
        if self.t.l(lflag::ECHOCTL) && (c < 0x20 || c == 0x7f) && c != b'\t' {
            self.output_byte(b'^');
            self.output_byte(c ^ 0o100);
            return CTL_WIDTH;
        }
        let before = self.column;
        self.output_byte(c);
        self.column.saturating_sub(before).max(1) as u8
    }

    fn output_bytes(&mut self, b: &[u8]) {
        for &c in b {
            self.output_byte(c);
        }
    }

    /// Output processing (Linux's do_output_char) of one byte.
    pub fn output_byte(&mut self, c: u8) {
        let t = self.t;
        if !t.o(oflag::OPOST) {
            self.out.push_back(c);
            return;
        }
        match c {
            b'\n' => {
                if t.o(oflag::ONLRET) {
                    self.column = 0;
                }
                if t.o(oflag::ONLCR) {
                    self.column = 0;
                    self.out.push_back(b'\r');
                }
                self.out.push_back(b'\n');
            }
            b'\r' => {
                if t.o(oflag::ONOCR) && self.column == 0 {
                    return;
                }
                if t.o(oflag::OCRNL) {
                    if t.o(oflag::ONLRET) {
                        self.column = 0;
                    }
                    self.out.push_back(b'\n');
                    return;
                }
                self.column = 0;
                self.out.push_back(b'\r');
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                self.column += spaces;
                if t.oflag & oflag::TABDLY == oflag::XTABS {
                    self.out.extend(std::iter::repeat_n(b' ', spaces));
                } else {
                    self.out.push_back(b'\t');
                }
            }
            0x08 => {
                self.column = self.column.saturating_sub(1);
                self.out.push_back(c);
            }
            _ => {
                let mut c = c;
                if !(c < 0x20 || c == 0x7f) {
                    if t.o(oflag::OLCUC) {
                        c = c.to_ascii_uppercase();
                    }
                    if !(t.i(iflag::IUTF8) && c & 0xc0 == 0x80) {
                        self.column += 1;
                    }
                }
                self.out.push_back(c);
            }
        }
    }

    /// Output written by a program, processed; returns how many input
    /// bytes were taken (stops when the output queue is full).
    pub fn write_output(&mut self, b: &[u8]) -> usize {
        let mut n = 0;
        for &c in b {
            if self.out.len() >= OUTPUT_LIMIT {
                break;
            }
            self.output_byte(c);
            n += 1;
        }
        n
    }

    /// Read processed input: one line at most in canonical mode.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.t.canon() {
            let Some(line) = self.lines.front_mut() else { return 0 };
            let n = buf.len().min(line.len());
            buf[..n].copy_from_slice(&line[..n]);
            if n == line.len() {
                self.lines.pop_front();
            } else {
                line.drain(..n);
            }
            n
        } else {
            let n = buf.len().min(self.raw.len());
            for (d, s) in buf.iter_mut().zip(self.raw.drain(..n)) {
                *d = s;
            }
            n
        }
    }

    /// Nothing left to read, and the last thing taken was not an EOF.
    pub fn has_eof_line(&self) -> bool {
        self.t.canon() && self.lines.front().is_some_and(Vec::is_empty)
    }

    /// Discard all input (TCIFLUSH, or a signal character).
    pub fn flush_input(&mut self) {
        self.pending.clear();
        self.lines.clear();
        self.edit.clear();
        self.echo_widths.clear();
        self.raw.clear();
        self.lnext = false;
    }

    /// New attributes. Leaving canonical mode makes the edited and
    /// completed lines readable as raw bytes; entering it turns the raw
    /// bytes into the start of a line.
    pub fn set_termios(&mut self, t: Termios) {
        let was = self.t.canon();
        self.t = t;
        if was && !t.canon() {
            for l in self.lines.drain(..) {
                self.raw.extend(l);
            }
            self.raw.extend(self.edit.drain(..));
            self.echo_widths.clear();
        } else if !was && t.canon() {
            self.edit.extend(self.raw.drain(..));
            self.echo_widths = vec![1; self.edit.len()];
        }
        if !t.i(iflag::IXON) {
            self.stopped = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld() -> Ldisc {
        Ldisc::new(Termios::default())
    }

    fn read_all(l: &mut Ldisc) -> Vec<u8> {
        let mut b = [0u8; 256];
        let n = l.read(&mut b);
        b[..n].to_vec()
    }

    #[test]
    fn canonical_line_editing_and_echo() {
        let mut l = ld();
        l.write_input(b"abc\x7fd\n");
        assert_eq!(read_all(&mut l), b"abd\n");
        assert_eq!(l.out.drain(..).collect::<Vec<_>>(), b"abc\x08 \x08d\r\n");
        l.write_input(b"xy\x15z\n");
        assert_eq!(read_all(&mut l), b"z\n");
        l.write_input(b"ab\ncd\n");
        assert_eq!(read_all(&mut l), b"ab\n");
        assert_eq!(read_all(&mut l), b"cd\n");
    }

    #[test]
    fn eof_and_signals() {
        let mut l = ld();
        l.write_input(b"\x04");
        assert!(l.read_ready(1));
        assert!(l.has_eof_line());
        assert_eq!(read_all(&mut l), b"");
        assert!(!l.read_ready(1));
        l.out.clear();
        let (_, sigs) = l.write_input(b"abc\x03");
        assert_eq!(sigs, vec![sig::SIGINT]);
        assert_eq!(l.out.drain(..).collect::<Vec<_>>(), b"^C");
        assert!(!l.read_ready(1));
    }

    #[test]
    fn output_processing() {
        let mut l = ld();
        l.write_output(b"a\n\tb");
        assert_eq!(l.out.drain(..).collect::<Vec<_>>(), b"a\r\n\tb");
        l.t.oflag = 0;
        l.write_output(b"a\n");
        assert_eq!(l.out.drain(..).collect::<Vec<_>>(), b"a\n");
    }

    #[test]
    fn raw_mode_and_mode_switch() {
        let mut l = ld();
        l.write_input(b"par");
        let mut t = l.t;
        t.lflag &= !(lflag::ICANON | lflag::ECHO);
        l.set_termios(t);
        assert_eq!(read_all(&mut l), b"par");
        l.write_input(b"\rx");
        assert_eq!(read_all(&mut l), b"\nx");
    }
}
