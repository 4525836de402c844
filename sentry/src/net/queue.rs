//! The receive queue every socket keeps: messages of bytes, each with
//! something of the protocol's beside it (AF_UNIX: passed files and the
//! sender's credentials; UDP: the source address; TCP: nothing). Stream
//! sockets read bytes across messages, datagram sockets one message at a
//! time. No lock of its own: the socket that owns it locks it.

use std::collections::VecDeque;

/// One message in a queue.
pub struct Msg<A> {
    /// Payload.
    pub data: Vec<u8>,
    /// What travels with it.
    pub anc: A,
}

/// Messages waiting to be read.
pub struct MsgQueue<A> {
    msgs: VecDeque<Msg<A>>,
    /// Bytes of the front message already read by a stream reader.
    head: usize,
    /// Unread bytes in all messages.
    bytes: usize,
}

impl<A> Default for MsgQueue<A> {
    fn default() -> Self {
        MsgQueue { msgs: VecDeque::new(), head: 0, bytes: 0 }
    }
}

/// Small stream writes are appended to the last message up to this size,
/// so that a stream of tiny writes does not cost an allocation each.
const MERGE_LIMIT: usize = 64 * 1024;

impl<A> MsgQueue<A> {
    /// Unread bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Nothing to read (not even an empty datagram).
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    /// Queue a message.
    pub fn push(&mut self, data: Vec<u8>, anc: A) {
        self.bytes += data.len();
        self.msgs.push_back(Msg { data, anc });
    }

    /// Append small stream bytes to the last message when `merge` says the
    /// two may be one (same ancillary content) and it stays small.
    fn try_merge(&mut self, data: &[u8], anc: &A, merge: impl FnOnce(&A, &A) -> bool) -> bool {
        if data.len() > 4096 {
            return false;
        }
        match self.msgs.back_mut() {
            Some(last) if last.data.len() + data.len() <= MERGE_LIMIT && merge(&last.anc, anc) => {
                last.data.extend_from_slice(data);
                self.bytes += data.len();
                true
            }
            _ => false,
        }
    }

    /// Queue stream bytes (merged with the last message when small).
    pub fn push_stream(&mut self, data: &[u8], anc: A, merge: impl FnOnce(&A, &A) -> bool) {
        if !self.try_merge(data, &anc, merge) {
            self.push(data.to_vec(), anc);
        }
    }

    /// Queue stream bytes already in a buffer of their own (kept as the
    /// message unless merged).
    pub fn push_stream_vec(&mut self, data: Vec<u8>, anc: A, merge: impl FnOnce(&A, &A) -> bool) {
        if !self.try_merge(&data, &anc, merge) {
            self.push(data, anc);
        }
    }

    /// The front message (datagram queues: never partly read).
    pub fn front(&self) -> Option<&Msg<A>> {
        self.msgs.front()
    }

    /// Take the front message whole (datagram sockets).
    pub fn pop(&mut self) -> Option<Msg<A>> {
        let mut m = self.msgs.pop_front()?;
        if self.head > 0 {
            m.data.drain(..self.head);
            self.head = 0;
        }
        self.bytes -= m.data.len();
        Some(m)
    }

    /// Drop everything; returns what was dropped (files in flight are
    /// released with it).
    pub fn clear(&mut self) -> Vec<Msg<A>> {
        self.head = 0;
        self.bytes = 0;
        self.msgs.drain(..).collect()
    }

    /// Read up to `max` bytes across messages (a stream). `visit` sees each
    /// message before bytes are taken from it, with whether bytes were
    /// already gathered, and returns false to stop there (AF_UNIX stops
    /// before a message that carries files). `peek` leaves the bytes; with
    /// `discard` they are consumed but not returned (MSG_TRUNC on TCP),
    /// and the count is the length of the returned vector either way.
    pub fn read_stream(&mut self, max: usize, peek: bool, discard: bool, mut visit: impl FnMut(&mut A, bool) -> bool) -> (Vec<u8>, usize) {
        // The common case, reading from the start of the front message:
        // a whole message hands its buffer over, a prefix is one copy.
        if !peek && !discard && self.head == 0 {
            if let Some(m) = self.msgs.front_mut() {
                if !visit(&mut m.anc, false) {
                    return (Vec::new(), 0);
                }
                if m.data.len() > max {
                    let out = m.data[..max].to_vec();
                    self.head = max;
                    self.bytes -= max;
                    return (out, max);
                }
                let m = self.msgs.pop_front().map(|m| m.data).unwrap_or_default();
                self.bytes -= m.len();
                let n = m.len();
                if n < max && !self.msgs.is_empty() {
                    return self.gather(m, max, peek, discard, visit);
                }
                return (m, n);
            }
        }
        self.gather(Vec::new(), max, peek, discard, visit)
    }

    fn gather(&mut self, mut out: Vec<u8>, max: usize, peek: bool, discard: bool, mut visit: impl FnMut(&mut A, bool) -> bool) -> (Vec<u8>, usize) {
        let mut n = out.len();
        let mut i = 0;
        let mut head = self.head;
        while n < max && i < self.msgs.len() {
            let started = n > 0;
            let m = &mut self.msgs[i];
            if !visit(&mut m.anc, started) {
                break;
            }
            let avail = m.data.len() - head;
            let take = (max - n).min(avail);
            if !discard {
                out.extend_from_slice(&m.data[head..head + take]);
            }
            n += take;
            if peek {
                i += 1;
                head = 0;
                continue;
            }
            self.bytes -= take;
            if take == avail {
                self.msgs.pop_front();
                head = 0;
            } else {
                head += take;
            }
        }
        if !peek {
            self.head = head;
        }
        (out, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(parts: &[&[u8]]) -> MsgQueue<()> {
        let mut q = MsgQueue::default();
        for p in parts {
            q.push(p.to_vec(), ());
        }
        q
    }

    #[test]
    fn stream_read_gathers_across_messages() {
        let mut q = q(&[b"ab", b"cde", b"f"]);
        let (v, n) = q.read_stream(4, false, false, |_, _| true);
        assert_eq!((v.as_slice(), n), (&b"abcd"[..], 4));
        assert_eq!(q.bytes(), 2);
        let (v, _) = q.read_stream(10, false, false, |_, _| true);
        assert_eq!(v, b"ef");
        assert!(q.is_empty());
    }

    #[test]
    fn stream_peek_leaves_bytes() {
        let mut q = q(&[b"ab", b"cd"]);
        q.read_stream(1, false, false, |_, _| true);
        let (v, _) = q.read_stream(10, true, false, |_, _| true);
        assert_eq!(v, b"bcd");
        assert_eq!(q.bytes(), 3);
    }

    #[test]
    fn stream_discard_counts_without_copying() {
        let mut q = q(&[b"abc"]);
        let (v, n) = q.read_stream(2, false, true, |_, _| true);
        assert!(v.is_empty());
        assert_eq!(n, 2);
        assert_eq!(q.read_stream(9, false, false, |_, _| true).0, b"c");
    }

    #[test]
    fn visit_can_stop_before_a_message() {
        let mut q: MsgQueue<bool> = MsgQueue::default();
        q.push(b"ab".to_vec(), false);
        q.push(b"cd".to_vec(), true);
        let (v, _) = q.read_stream(10, false, false, |barrier, started| !(*barrier && started));
        assert_eq!(v, b"ab");
        assert_eq!(q.read_stream(10, false, false, |b, s| !(*b && s)).0, b"cd");
    }

    #[test]
    fn pop_after_partial_stream_read_returns_the_rest() {
        let mut q = q(&[b"abc"]);
        q.read_stream(1, false, false, |_, _| true);
        assert_eq!(q.pop().map(|m| m.data), Some(b"bc".to_vec()));
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn small_stream_writes_merge() {
        let mut q: MsgQueue<()> = MsgQueue::default();
        q.push_stream(b"a", (), |_, _| true);
        q.push_stream(b"b", (), |_, _| true);
        assert_eq!(q.len(), 1);
        assert_eq!(q.read_stream(5, false, false, |_, _| true).0, b"ab");
    }
}
