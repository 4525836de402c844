//! The gofer wire protocol: one bincode-encoded message per SOCK_SEQPACKET
//! datagram, strictly one reply per request.
//!
//! Replies that carry a host fd (`Open`, `Create`) send it as SCM_RIGHTS
//! ancillary data on the same datagram. No message may exceed
//! [`MAX_MESSAGE`] bytes; directory listings are paginated with a cookie.
//!
//! Decoding never panics and never allocates more than the datagram it is
//! given could describe: bincode is configured with the same byte limit.

use bincode::Options;
use serde::{Deserialize, Serialize};

/// Server-side handle for a file, returned by `Attach`, `Walk` and the
/// creating operations, released by `Close`.
pub type Fid = u64;

/// Largest datagram either side sends or accepts.
pub const MAX_MESSAGE: usize = 128 * 1024;

/// Longest path component (Linux NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Longest symlink target, not counting the terminating NUL (PATH_MAX - 1).
pub const SYMLINK_MAX: usize = 4095;

/// Longest extended attribute name (Linux XATTR_NAME_MAX).
pub const XATTR_NAME_MAX: usize = 255;

/// Largest extended attribute value (Linux XATTR_SIZE_MAX).
pub const XATTR_SIZE_MAX: usize = 65536;

/// File attributes, as `stat(2)` reports them for the file itself (symlinks
/// are never followed).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub dev: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime_sec: i64,
    pub atime_nsec: i64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub ctime_sec: i64,
    pub ctime_nsec: i64,
}

/// One directory entry (never "." or "..").
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// One of the `DT_*` constants (`DT_UNKNOWN` when the host did not say).
    pub kind: u8,
}

/// Filesystem statistics, as `statfs(2)` reports them.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

/// Attribute changes; `None` leaves the attribute alone.
///
/// Times are `(seconds, nanoseconds)` with `utimensat(2)` semantics: a
/// nanosecond value of `libc::UTIME_NOW` sets the current time and
/// `libc::UTIME_OMIT` leaves the time unchanged.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<(i64, i64)>,
    pub mtime: Option<(i64, i64)>,
}

/// A request from the sentry to the gofer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Request {
    /// Get a fid for the root of the served tree. Reply: `Node`.
    Attach,
    /// Look up one component in a directory. Reply: `Node`.
    Walk { dir: Fid, name: Vec<u8> },
    /// Reply: `Attr`.
    Stat { fid: Fid },
    /// Reply: `StatFs`.
    StatFs { fid: Fid },
    /// Reply: `Bytes` (the link target).
    Readlink { fid: Fid },
    /// Open the file with `O_*` flags. Reply: `Opened` plus one fd.
    Open { fid: Fid, flags: i32 },
    /// One page of a directory listing; cookie 0 starts a fresh listing, a
    /// later page passes the `next` cookie of the previous reply.
    /// Reply: `Dirents`.
    Getdents { fid: Fid, cookie: u64 },
    /// Create and open a regular file (always exclusive). Reply: `Created`
    /// plus one fd.
    Create { dir: Fid, name: Vec<u8>, flags: i32, mode: u32, uid: u32, gid: u32 },
    /// Reply: `Node`.
    Mkdir { dir: Fid, name: Vec<u8>, mode: u32, uid: u32, gid: u32 },
    /// Reply: `Node`.
    Mknod { dir: Fid, name: Vec<u8>, mode: u32, rdev: u64, uid: u32, gid: u32 },
    /// Reply: `Node`.
    Symlink { dir: Fid, name: Vec<u8>, target: Vec<u8>, uid: u32, gid: u32 },
    /// Make `dir/name` a hard link to `target`. Reply: `Node`.
    Link { dir: Fid, name: Vec<u8>, target: Fid },
    /// `flags` is 0 or `AT_REMOVEDIR`. Reply: `Ok`.
    Unlink { dir: Fid, name: Vec<u8>, flags: i32 },
    /// Reply: `Ok`.
    Rename { old_dir: Fid, old_name: Vec<u8>, new_dir: Fid, new_name: Vec<u8> },
    /// Reply: `Ok`.
    SetAttr { fid: Fid, attr: SetAttr },
    /// Reply: `Bytes`.
    GetXattr { fid: Fid, name: Vec<u8> },
    /// `flags` is 0, `XATTR_CREATE` or `XATTR_REPLACE`. Reply: `Ok`.
    SetXattr { fid: Fid, name: Vec<u8>, value: Vec<u8>, flags: i32 },
    /// Reply: `Names`.
    ListXattr { fid: Fid },
    /// Reply: `Ok`.
    RemoveXattr { fid: Fid, name: Vec<u8> },
    /// Release a fid. Reply: `Ok`.
    Close { fid: Fid },
}

/// A reply from the gofer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Response {
    /// The operation failed with this (positive) errno.
    Error(i32),
    /// The operation succeeded and has nothing to return.
    Ok,
    /// A new fid and its attributes.
    Node { fid: Fid, attr: Attr },
    Attr(Attr),
    StatFs(StatFs),
    /// Raw bytes: a link target or an xattr value.
    Bytes(Vec<u8>),
    /// The opened host fd rides along as SCM_RIGHTS.
    Opened,
    /// A new fid, its attributes, and (as SCM_RIGHTS) its opened host fd.
    Created { fid: Fid, attr: Attr },
    /// One page of directory entries; `next` is the cookie of the next page,
    /// `None` at the end of the directory.
    Dirents { entries: Vec<DirEntry>, next: Option<u64> },
    /// Extended attribute names.
    Names(Vec<Vec<u8>>),
}

/// A message that cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// message is empty
    #[error("message is empty")]
    Empty,
    /// message of {0} bytes exceeds the datagram limit
    #[error("message of {0} bytes exceeds the datagram limit")]
    Oversized(usize),
    /// message is truncated
    #[error("message is truncated")]
    Truncated,
    /// message is malformed
    #[error("message is malformed: {0}")]
    Malformed(#[source] bincode::Error),
    /// reply does not match the request
    #[error("reply does not match the request")]
    UnexpectedReply,
    /// reply should carry a file descriptor but does not
    #[error("reply should carry a file descriptor but does not")]
    MissingFd,
    /// reply carries an invalid errno {0}
    #[error("reply carries an invalid errno {0}")]
    BadErrno(i32),
}

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_limit(MAX_MESSAGE as u64)
        .reject_trailing_bytes()
}

fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, ProtocolError> {
    match options().serialize(msg) {
        Ok(bytes) if bytes.len() > MAX_MESSAGE => Err(ProtocolError::Oversized(bytes.len())),
        Ok(bytes) => Ok(bytes),
        Err(e) => match *e {
            bincode::ErrorKind::SizeLimit => Err(ProtocolError::Oversized(MAX_MESSAGE + 1)),
            _ => Err(ProtocolError::Malformed(e)),
        },
    }
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ProtocolError> {
    if bytes.is_empty() {
        return Err(ProtocolError::Empty);
    }
    if bytes.len() > MAX_MESSAGE {
        return Err(ProtocolError::Oversized(bytes.len()));
    }
    options().deserialize(bytes).map_err(|e| match *e {
        bincode::ErrorKind::Io(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ProtocolError::Truncated
        }
        bincode::ErrorKind::SizeLimit => ProtocolError::Oversized(bytes.len()),
        _ => ProtocolError::Malformed(e),
    })
}

/// Encodes a request into one datagram.
pub fn encode_request(req: &Request) -> Result<Vec<u8>, ProtocolError> {
    encode(req)
}

/// Decodes one datagram into a request.
pub fn decode_request(bytes: &[u8]) -> Result<Request, ProtocolError> {
    decode(bytes)
}

/// Encodes a response into one datagram.
pub fn encode_response(resp: &Response) -> Result<Vec<u8>, ProtocolError> {
    encode(resp)
}

/// Decodes one datagram into a response.
pub fn decode_response(bytes: &[u8]) -> Result<Response, ProtocolError> {
    decode(bytes)
}

/// Bytes a directory entry may take in an encoded `Dirents` reply (an upper
/// bound: varint lengths and inode numbers take at most 9 bytes each).
pub(crate) fn dirent_encoded_bound(e: &DirEntry) -> usize {
    e.name.len() + 9 + 9 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_attr() -> Attr {
        Attr {
            ino: 42,
            dev: 7,
            mode: libc::S_IFREG | 0o644,
            nlink: 1,
            uid: 1000,
            gid: 1000,
            size: u64::MAX,
            atime_nsec: libc::UTIME_NOW,
            ctime_sec: -1,
            ..Attr::default()
        }
    }

    #[test]
    fn every_request_round_trips() {
        let reqs = vec![
            Request::Attach,
            Request::Walk { dir: 1, name: b"a\xffb".to_vec() },
            Request::Stat { fid: u64::MAX },
            Request::StatFs { fid: 0 },
            Request::Readlink { fid: 3 },
            Request::Open { fid: 3, flags: libc::O_RDWR | libc::O_APPEND },
            Request::Getdents { fid: 3, cookie: 17 },
            Request::Create { dir: 1, name: b"f".to_vec(), flags: -1, mode: 0o600, uid: 0, gid: 0 },
            Request::Mkdir { dir: 1, name: b"d".to_vec(), mode: 0o755, uid: 1, gid: 2 },
            Request::Mknod { dir: 1, name: b"p".to_vec(), mode: libc::S_IFIFO, rdev: 5, uid: 1, gid: 2 },
            Request::Symlink { dir: 1, name: b"l".to_vec(), target: b"/x/y".to_vec(), uid: 1, gid: 2 },
            Request::Link { dir: 1, name: b"h".to_vec(), target: 9 },
            Request::Unlink { dir: 1, name: b"d".to_vec(), flags: libc::AT_REMOVEDIR },
            Request::Rename { old_dir: 1, old_name: b"a".to_vec(), new_dir: 2, new_name: b"b".to_vec() },
            Request::SetAttr {
                fid: 1,
                attr: SetAttr { mode: Some(0o700), atime: Some((1, libc::UTIME_OMIT)), ..SetAttr::default() },
            },
            Request::GetXattr { fid: 1, name: b"user.x".to_vec() },
            Request::SetXattr { fid: 1, name: b"user.x".to_vec(), value: vec![0; 100], flags: 1 },
            Request::ListXattr { fid: 1 },
            Request::RemoveXattr { fid: 1, name: b"user.x".to_vec() },
            Request::Close { fid: 1 },
        ];
        for req in reqs {
            let bytes = encode_request(&req).unwrap();
            assert_eq!(decode_request(&bytes).unwrap(), req);
        }
    }

    #[test]
    fn every_response_round_trips() {
        let resps = vec![
            Response::Error(libc::ENOENT),
            Response::Ok,
            Response::Node { fid: 5, attr: sample_attr() },
            Response::Attr(sample_attr()),
            Response::StatFs(StatFs { fs_type: 0xEF53, bsize: 4096, namelen: 255, ..StatFs::default() }),
            Response::Bytes(b"target".to_vec()),
            Response::Opened,
            Response::Created { fid: 6, attr: sample_attr() },
            Response::Dirents {
                entries: vec![DirEntry { name: b"x".to_vec(), ino: 3, kind: libc::DT_REG }],
                next: Some(1),
            },
            Response::Names(vec![b"user.a".to_vec(), b"user.b".to_vec()]),
        ];
        for resp in resps {
            let bytes = encode_response(&resp).unwrap();
            assert_eq!(decode_response(&bytes).unwrap(), resp);
        }
    }

    #[test]
    fn empty_message_is_rejected() {
        assert!(matches!(decode_request(&[]), Err(ProtocolError::Empty)));
        assert!(matches!(decode_response(&[]), Err(ProtocolError::Empty)));
    }

    #[test]
    fn truncated_message_is_rejected() {
        let bytes = encode_request(&Request::Walk { dir: 1, name: b"hello".to_vec() }).unwrap();
        for len in 1..bytes.len() {
            assert!(decode_request(&bytes[..len]).is_err(), "prefix of {len} bytes decoded");
        }
        assert!(matches!(decode_request(&bytes[..bytes.len() - 1]), Err(ProtocolError::Truncated)));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode_request(&Request::Attach).unwrap();
        bytes.push(0);
        assert!(matches!(decode_request(&bytes), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn unknown_variant_is_rejected() {
        // Variant indices are varints; 200 is far past the last variant.
        assert!(matches!(decode_request(&[200]), Err(ProtocolError::Malformed(_))));
        assert!(matches!(decode_response(&[200]), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn oversized_message_is_rejected() {
        let bytes = vec![0u8; MAX_MESSAGE + 1];
        assert!(matches!(decode_request(&bytes), Err(ProtocolError::Oversized(_))));
        let req = Request::SetXattr { fid: 1, name: b"user.x".to_vec(), value: vec![1; MAX_MESSAGE], flags: 0 };
        assert!(matches!(encode_request(&req), Err(ProtocolError::Oversized(_))));
    }

    #[test]
    fn huge_length_prefix_does_not_allocate_or_panic() {
        // Walk { dir: 1, name: <length u64::MAX> }: varint tag 253 = u64 follows.
        let mut bytes = vec![1u8, 1, 253];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_request(&bytes).is_err());
    }

    #[test]
    fn pseudo_random_garbage_never_panics() {
        // xorshift64*, deterministic so a failure can be replayed.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode_request(&bytes);
            let _ = decode_response(&bytes);
        }
    }

    #[test]
    fn dirent_bound_covers_encoding() {
        let e = DirEntry { name: vec![b'x'; 255], ino: u64::MAX, kind: 255 };
        let alone = encode_response(&Response::Dirents { entries: vec![], next: None }).unwrap();
        let with = encode_response(&Response::Dirents { entries: vec![e.clone()], next: None }).unwrap();
        assert!(with.len() - alone.len() <= dirent_encoded_bound(&e));
    }
}
