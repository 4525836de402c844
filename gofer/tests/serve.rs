//! End-to-end tests: a real server thread on a real SOCK_SEQPACKET
//! socketpair, serving a directory tree built for each test.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use gofer::{
    decode_response, encode_request, serve, Attr, Client, Error, Request, Response, ServerOptions, SetAttr,
    MAX_MESSAGE,
};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

struct Harness {
    client: Arc<Client>,
    /// A second handle on the client's socket, for hand-made datagrams.
    raw: OwnedFd,
    server: Option<JoinHandle<Result<(), Error>>>,
    /// Parent of `root`; also holds the `outside` directory.
    base: PathBuf,
    root: PathBuf,
}

/// Builds:
/// ```text
/// base/outside/secret
/// base/root/file.txt      "hello"
/// base/root/dir/inner     ""
/// base/root/link    ->    file.txt
/// base/root/escape  ->    base/outside (absolute)
/// base/root/up      ->    ../outside
/// ```
fn build_tree(name: &str) -> (PathBuf, PathBuf) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir().join(format!(
        "gofer-test-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        name
    ));
    let _ = fs::remove_dir_all(&base);
    let root = base.join("root");
    fs::create_dir_all(base.join("outside")).unwrap();
    fs::write(base.join("outside/secret"), b"secret").unwrap();
    fs::create_dir_all(root.join("dir")).unwrap();
    fs::write(root.join("file.txt"), b"hello").unwrap();
    fs::write(root.join("dir/inner"), b"").unwrap();
    symlink("file.txt", root.join("link")).unwrap();
    symlink(base.join("outside"), root.join("escape")).unwrap();
    symlink("../outside", root.join("up")).unwrap();
    (base, root)
}

impl Harness {
    fn new(name: &str, read_only: bool) -> Harness {
        let (base, root) = build_tree(name);
        let (c, s) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap();
        let served = root.clone();
        let server = std::thread::spawn(move || serve(s, &served, ServerOptions { read_only }));
        let raw = c.try_clone().unwrap();
        Harness { client: Arc::new(Client::new(c)), raw, server: Some(server), base, root }
    }

    /// Sends one hand-made datagram and decodes the reply.
    fn raw_exchange(&self, bytes: &[u8]) -> Response {
        use std::os::fd::AsRawFd;
        send(self.raw.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL).unwrap();
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        let n = recv(self.raw.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
        decode_response(&buf[..n]).unwrap()
    }

    /// Closes the connection and checks the server stopped cleanly.
    fn finish(mut self) {
        let server = self.server.take().unwrap();
        // Replace the client and raw handle so the socket is fully closed.
        let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap();
        drop(std::mem::replace(&mut self.client, Arc::new(Client::new(a))));
        drop(std::mem::replace(&mut self.raw, b));
        server.join().unwrap().unwrap();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn errno<T: std::fmt::Debug>(r: Result<T, Error>) -> i32 {
    r.unwrap_err().errno()
}

fn kind(a: &Attr) -> u32 {
    a.mode & libc::S_IFMT
}

fn read_all(fd: OwnedFd) -> Vec<u8> {
    let mut f = fs::File::from(fd);
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

fn ids() -> (u32, u32) {
    (nix::unistd::getuid().as_raw(), nix::unistd::getgid().as_raw())
}

#[test]
fn walk_stat_and_read_through_donated_fd() {
    let h = Harness::new("walk", false);
    let c = &h.client;
    let (root, rattr) = c.attach().unwrap();
    assert_eq!(kind(&rattr), libc::S_IFDIR);
    let (f, attr) = c.walk(root, b"file.txt").unwrap();
    assert_eq!(kind(&attr), libc::S_IFREG);
    assert_eq!(attr.size, 5);
    assert_eq!(c.stat(f).unwrap(), attr);
    let fd = c.open(f, libc::O_RDONLY).unwrap();
    assert_eq!(read_all(fd), b"hello");

    let (d, dattr) = c.walk(root, b"dir").unwrap();
    assert_eq!(kind(&dattr), libc::S_IFDIR);
    let (inner, _) = c.walk(d, b"inner").unwrap();
    assert_eq!(c.stat(inner).unwrap().size, 0);
    assert!(c.statfs(root).unwrap().bsize > 0);
    h.finish();
}

#[test]
fn bad_and_missing_names_are_rejected() {
    let h = Harness::new("names", false);
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    for bad in [&b".."[..], b".", b"a/b", b"", b"file.txt\0"] {
        assert_eq!(errno(c.walk(root, bad)), libc::EINVAL, "{bad:?}");
        // The server checks too, whatever the client does.
        let req = encode_request(&Request::Walk { dir: root, name: bad.to_vec() }).unwrap();
        assert_eq!(h.raw_exchange(&req), Response::Error(libc::EINVAL), "{bad:?}");
    }
    let long = vec![b'x'; 256];
    assert_eq!(errno(c.walk(root, &long)), libc::ENAMETOOLONG);
    let req = encode_request(&Request::Walk { dir: root, name: long }).unwrap();
    assert_eq!(h.raw_exchange(&req), Response::Error(libc::ENAMETOOLONG));
    assert_eq!(errno(c.walk(root, b"missing")), libc::ENOENT);
    let (f, _) = c.walk(root, b"file.txt").unwrap();
    assert_eq!(errno(c.walk(f, b"x")), libc::ENOTDIR);
    h.finish();
}

#[test]
fn symlinks_are_read_not_followed() {
    let h = Harness::new("symlink", false);
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    let (l, attr) = c.walk(root, b"link").unwrap();
    assert_eq!(kind(&attr), libc::S_IFLNK);
    assert_eq!(c.readlink(l).unwrap(), b"file.txt");
    assert_eq!(errno(c.open(l, libc::O_RDONLY)), libc::ELOOP);
    let (f, _) = c.walk(root, b"file.txt").unwrap();
    assert_eq!(errno(c.readlink(f)), libc::EINVAL);
    h.finish();
}

#[test]
fn symlinks_out_of_the_root_lead_nowhere() {
    let h = Harness::new("escape", false);
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    for name in [&b"escape"[..], b"up"] {
        let (e, attr) = c.walk(root, name).unwrap();
        assert_eq!(kind(&attr), libc::S_IFLNK);
        assert_eq!(errno(c.walk(e, b"secret")), libc::ENOTDIR);
        assert_eq!(errno(c.open(e, libc::O_RDONLY)), libc::ELOOP);
        assert_eq!(errno(c.open(e, libc::O_RDONLY | libc::O_DIRECTORY)), libc::ELOOP);
        assert_eq!(errno(c.getdents(e)), libc::ENOTDIR);
    }
    h.finish();
}

#[test]
fn getdents_lists_everything_but_dot_entries() {
    let h = Harness::new("getdents", false);
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    let entries = c.getdents(root).unwrap();
    let names: BTreeSet<Vec<u8>> = entries.iter().map(|e| e.name.clone()).collect();
    let want: BTreeSet<Vec<u8>> =
        [&b"dir"[..], b"escape", b"file.txt", b"link", b"up"].iter().map(|n| n.to_vec()).collect();
    assert_eq!(names, want);
    for e in &entries {
        let expect = match &e.name[..] {
            b"dir" => libc::DT_DIR,
            b"file.txt" => libc::DT_REG,
            _ => libc::DT_LNK,
        };
        assert_eq!(e.kind, expect, "{:?}", e.name);
    }
    let (f, fattr) = c.walk(root, b"file.txt").unwrap();
    let e = entries.iter().find(|e| e.name == b"file.txt").unwrap();
    assert_eq!(e.ino, fattr.ino);
    assert_eq!(errno(c.getdents(f)), libc::ENOTDIR);
    h.finish();
}

#[test]
fn getdents_paginates_large_directories() {
    let h = Harness::new("bigdir", false);
    let big = h.root.join("big");
    fs::create_dir(&big).unwrap();
    // 1000 names of ~200 bytes: well over one 128 KiB datagram.
    let mut want = BTreeSet::new();
    for i in 0..1000 {
        let name = format!("{i:04}-{}", "n".repeat(195));
        fs::write(big.join(&name), b"").unwrap();
        want.insert(name.into_bytes());
    }
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    let (d, _) = c.walk(root, b"big").unwrap();
    let got: Vec<Vec<u8>> = c.getdents(d).unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(got.len(), 1000);
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    // A second listing starts afresh.
    assert_eq!(c.getdents(d).unwrap().len(), 1000);
    h.finish();
}

#[test]
fn read_only_refuses_every_change() {
    let h = Harness::new("ro", true);
    let c = &h.client;
    let (uid, gid) = ids();
    let (root, _) = c.attach().unwrap();
    let (f, _) = c.walk(root, b"file.txt").unwrap();
    assert_eq!(errno(c.create(root, b"new", libc::O_RDWR, 0o644, uid, gid)), libc::EROFS);
    assert_eq!(errno(c.mkdir(root, b"newdir", 0o755, uid, gid)), libc::EROFS);
    assert_eq!(errno(c.mknod(root, b"fifo", libc::S_IFIFO | 0o644, 0, uid, gid)), libc::EROFS);
    assert_eq!(errno(c.symlink(root, b"sl", b"x", uid, gid)), libc::EROFS);
    assert_eq!(errno(c.link(root, b"hard", f)), libc::EROFS);
    assert_eq!(errno(c.unlink(root, b"file.txt", 0)), libc::EROFS);
    assert_eq!(errno(c.rename(root, b"file.txt", root, b"moved")), libc::EROFS);
    assert_eq!(errno(c.setattr(f, &SetAttr { size: Some(0), ..SetAttr::default() })), libc::EROFS);
    assert_eq!(errno(c.setxattr(f, b"user.x", b"v", 0)), libc::EROFS);
    assert_eq!(errno(c.removexattr(f, b"user.x")), libc::EROFS);
    assert_eq!(errno(c.open(f, libc::O_WRONLY)), libc::EROFS);
    assert_eq!(errno(c.open(f, libc::O_RDWR)), libc::EROFS);
    assert_eq!(errno(c.open(f, libc::O_RDONLY | libc::O_TRUNC)), libc::EROFS);
    assert_eq!(read_all(c.open(f, libc::O_RDONLY).unwrap()), b"hello");
    assert_eq!(fs::read(h.root.join("file.txt")).unwrap(), b"hello");
    assert!(!h.root.join("new").exists());
    h.finish();
}

#[test]
fn create_mkdir_rename_unlink() {
    let h = Harness::new("rw", false);
    let c = &h.client;
    let (uid, gid) = ids();
    let (root, _) = c.attach().unwrap();

    let (nf, attr, fd) = c.create(root, b"new", libc::O_RDWR, 0o640, uid, gid).unwrap();
    assert_eq!(attr.mode, libc::S_IFREG | 0o640);
    fs::File::from(fd).write_all(b"data").unwrap();
    assert_eq!(c.stat(nf).unwrap().size, 4);
    assert_eq!(errno(c.create(root, b"new", libc::O_RDWR, 0o640, uid, gid)), libc::EEXIST);
    assert_eq!(errno(c.open(nf, libc::O_RDWR | libc::O_CREAT)), libc::EINVAL);

    let (d, dattr) = c.mkdir(root, b"sub", 0o750, uid, gid).unwrap();
    assert_eq!(dattr.mode, libc::S_IFDIR | 0o750);
    assert_eq!(errno(c.mkdir(root, b"sub", 0o750, uid, gid)), libc::EEXIST);

    c.rename(root, b"new", d, b"moved").unwrap();
    assert_eq!(errno(c.walk(root, b"new")), libc::ENOENT);
    let (m, mattr) = c.walk(d, b"moved").unwrap();
    assert_eq!(mattr.ino, attr.ino);
    // The fid from before the rename still opens the same file.
    assert_eq!(read_all(c.open(nf, libc::O_RDONLY).unwrap()), b"data");
    assert_eq!(fs::read(h.root.join("sub/moved")).unwrap(), b"data");

    assert_eq!(errno(c.unlink(root, b"sub", 0)), libc::EISDIR);
    assert_eq!(errno(c.unlink(root, b"sub", libc::AT_REMOVEDIR)), libc::ENOTEMPTY);
    assert_eq!(errno(c.unlink(root, b"sub", 0x4000)), libc::EINVAL);
    c.unlink(d, b"moved", 0).unwrap();
    // An unlinked fid can still be stat'ed, but not reopened by name.
    assert_eq!(c.stat(m).unwrap().nlink, 0);
    assert_eq!(errno(c.open(nf, libc::O_RDONLY)), libc::ESTALE);
    c.unlink(root, b"sub", libc::AT_REMOVEDIR).unwrap();
    assert!(!h.root.join("sub").exists());
    h.finish();
}

#[test]
fn symlink_link_mknod_and_setattr() {
    let h = Harness::new("misc", false);
    let c = &h.client;
    let (uid, gid) = ids();
    let (root, _) = c.attach().unwrap();

    let (s, sattr) = c.symlink(root, b"sl", b"/nowhere", uid, gid).unwrap();
    assert_eq!(kind(&sattr), libc::S_IFLNK);
    assert_eq!(c.readlink(s).unwrap(), b"/nowhere");
    assert_eq!(fs::read_link(h.root.join("sl")).unwrap(), Path::new("/nowhere"));

    let (f, fattr) = c.walk(root, b"file.txt").unwrap();
    let (hl, hattr) = c.link(root, b"hard", f).unwrap();
    assert_eq!(hattr.ino, fattr.ino);
    assert_eq!(c.stat(f).unwrap().nlink, 2);
    assert_eq!(read_all(c.open(hl, libc::O_RDONLY).unwrap()), b"hello");
    let (d, _) = c.walk(root, b"dir").unwrap();
    assert_eq!(errno(c.link(root, b"dirlink", d)), libc::EPERM);

    let (p, pattr) = c.mknod(root, b"fifo", libc::S_IFIFO | 0o600, 0, uid, gid).unwrap();
    assert_eq!(pattr.mode, libc::S_IFIFO | 0o600);
    // Opening a FIFO without a writer must not block the server.
    drop(c.open(p, libc::O_RDONLY).unwrap());
    assert_eq!(errno(c.mknod(root, b"dev", libc::S_IFCHR | 0o600, 0x0103, uid, gid)), libc::EPERM);

    c.setattr(f, &SetAttr { mode: Some(0o600), size: Some(2), mtime: Some((1000, 5)), ..SetAttr::default() })
        .unwrap();
    let a = c.stat(f).unwrap();
    assert_eq!(a.mode, libc::S_IFREG | 0o600);
    assert_eq!(a.size, 2);
    assert_eq!((a.mtime_sec, a.mtime_nsec), (1000, 5));
    assert_eq!(fs::metadata(h.root.join("file.txt")).unwrap().permissions().mode() & 0o7777, 0o600);
    c.setattr(f, &SetAttr { mtime: Some((0, libc::UTIME_NOW)), ..SetAttr::default() }).unwrap();
    assert!(c.stat(f).unwrap().mtime_sec > 1000);
    assert_eq!(errno(c.setattr(f, &SetAttr { atime: Some((0, 1_000_000_000)), ..SetAttr::default() })), libc::EINVAL);
    assert_eq!(errno(c.setattr(s, &SetAttr { mode: Some(0o777), ..SetAttr::default() })), libc::EOPNOTSUPP);
    assert_eq!(errno(c.setattr(d, &SetAttr { size: Some(0), ..SetAttr::default() })), libc::EISDIR);
    h.finish();
}

#[test]
fn xattrs_in_the_user_namespace() {
    let h = Harness::new("xattr", false);
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    let (f, _) = c.walk(root, b"file.txt").unwrap();
    match c.setxattr(f, b"user.test", b"value", 0) {
        Err(Error::Errno(libc::EOPNOTSUPP)) => {
            eprintln!("skipping xattr checks: the temp filesystem has no user xattrs");
            return;
        }
        r => r.unwrap(),
    }
    assert_eq!(c.getxattr(f, b"user.test").unwrap(), b"value");
    assert!(c.listxattr(f).unwrap().contains(&b"user.test".to_vec()));
    assert_eq!(errno(c.setxattr(f, b"user.test", b"v", libc::XATTR_CREATE)), libc::EEXIST);
    assert_eq!(errno(c.getxattr(f, b"security.capability")), libc::EOPNOTSUPP);
    assert_eq!(errno(c.setxattr(f, b"trusted.x", b"v", 0)), libc::EOPNOTSUPP);
    c.removexattr(f, b"user.test").unwrap();
    assert_eq!(errno(c.getxattr(f, b"user.test")), libc::ENODATA);
    h.finish();
}

#[test]
fn malformed_datagrams_get_errors_and_serving_goes_on() {
    let h = Harness::new("garbage", false);
    let mut state: u64 = 0x1234_5678_9ABC_DEF1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut datagrams: Vec<Vec<u8>> = vec![Vec::new(), vec![0xff; 16], vec![200], vec![0; MAX_MESSAGE + 100]];
    for _ in 0..50 {
        let len = (next() % 40) as usize + 1;
        datagrams.push((0..len).map(|_| next() as u8).collect());
    }
    for d in &datagrams {
        // Random bytes can spell a valid request (e.g. Attach); anything
        // else must be an error reply.
        if let Response::Error(e) = h.raw_exchange(d) {
            assert!(e > 0);
        }
    }
    assert_eq!(h.raw_exchange(&[]), Response::Error(libc::EINVAL));
    assert_eq!(h.raw_exchange(&[0xff, 0xff]), Response::Error(libc::EINVAL));
    let (root, _) = h.client.attach().unwrap();
    assert_eq!(h.client.stat(root).unwrap().mode & libc::S_IFMT, libc::S_IFDIR);
    h.finish();
}

#[test]
fn unknown_and_closed_fids_are_ebadf() {
    let h = Harness::new("fids", false);
    let c = &h.client;
    assert_eq!(errno(c.stat(12345)), libc::EBADF);
    assert_eq!(errno(c.walk(12345, b"x")), libc::EBADF);
    let (root, _) = c.attach().unwrap();
    let (f, _) = c.walk(root, b"file.txt").unwrap();
    c.close(f).unwrap();
    assert_eq!(errno(c.stat(f)), libc::EBADF);
    assert_eq!(errno(c.close(f)), libc::EBADF);
    // Closing a directory does not strand what was walked from it.
    let (d, _) = c.walk(root, b"dir").unwrap();
    let (inner, _) = c.walk(d, b"inner").unwrap();
    c.close(d).unwrap();
    assert_eq!(read_all(c.open(inner, libc::O_RDONLY).unwrap()), b"");
    h.finish();
}

#[test]
fn open_flag_validation() {
    let h = Harness::new("flags", false);
    let c = &h.client;
    let (root, _) = c.attach().unwrap();
    let (f, _) = c.walk(root, b"file.txt").unwrap();
    assert_eq!(errno(c.open(f, libc::O_ACCMODE)), libc::EINVAL);
    assert_eq!(errno(c.open(f, libc::O_TMPFILE | libc::O_RDWR)), libc::EINVAL);
    assert_eq!(errno(c.open(f, libc::O_RDONLY | libc::O_DIRECTORY)), libc::ENOTDIR);
    let fd = c.open(f, libc::O_RDONLY).unwrap();
    let fl = nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_eq!(fl & libc::O_NONBLOCK, 0, "O_NONBLOCK forced during open must be cleared");
    let fdfl = nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_ne!(fdfl & libc::FD_CLOEXEC, 0);
    let (d, _) = c.walk(root, b"dir").unwrap();
    drop(c.open(d, libc::O_RDONLY | libc::O_DIRECTORY).unwrap());
    drop(c.open(root, libc::O_RDONLY | libc::O_DIRECTORY).unwrap());
    let _ = fd.as_fd();
    h.finish();
}

#[test]
fn client_is_shared_between_threads() {
    let h = Harness::new("threads", false);
    let (root, _) = h.client.attach().unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let c = Arc::clone(&h.client);
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let (f, a) = c.walk(root, b"file.txt").unwrap();
                    assert_eq!(a.size, 5);
                    assert_eq!(c.stat(f).unwrap().ino, a.ino);
                    c.close(f).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    h.finish();
}

#[test]
fn serve_fails_cleanly_on_a_missing_root() {
    let (_c, s) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap();
    let r = serve(s, Path::new("/nonexistent/gofer/root"), ServerOptions::default());
    assert!(matches!(r, Err(Error::Root(_))));
}

#[test]
fn dead_server_is_eio() {
    let (c, s) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap();
    drop(s);
    let client = Client::new(c);
    let e = client.attach().unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
}
