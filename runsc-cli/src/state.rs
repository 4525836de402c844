//! Container state under `--root`: one directory per container holding
//! `state.json` (written atomically, read-modify-written under a lock) and
//! the sandbox's control socket.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// What `runsc state` prints (the OCI state), plus what we keep.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    /// created, running or stopped.
    pub status: String,
    /// The sandbox process (0 once it is gone).
    pub pid: i32,
    pub bundle: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    pub created: String,
    /// The init process's exit status (the shell's: 128+N for signal N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
}

/// A container id must be a file name: letters, digits, `_`, `-`, `.`,
/// not starting with a dot.
pub fn validate_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        bail!("invalid container id {id:?}");
    }
    Ok(())
}

/// The directory of container `id`.
pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Record the host cgroup directories of container `id`.
pub fn save_cgroups(root: &Path, id: &str, dirs: &[PathBuf]) -> anyhow::Result<()> {
    let text: String = dirs.iter().map(|d| format!("{}\n", d.display())).collect();
    std::fs::write(dir(root, id).join("cgroups"), text).context("recording the cgroups")
}

/// The host cgroup directories of container `id` (none if it has none).
pub fn cgroups(root: &Path, id: &str) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(dir(root, id).join("cgroups")).unwrap_or_default();
    text.lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect()
}

/// The control socket of container `id`.
pub fn socket(root: &Path, id: &str) -> PathBuf {
    dir(root, id).join("sandbox.sock")
}

/// A unix socket path short enough for sockaddr_un: `path` itself, or,
/// when it is too long (an engine's state directory with a 64-character
/// container id), `/proc/self/fd/N/NAME` through an O_PATH fd of its
/// directory, returned alongside to be held while the path is used.
fn short_socket_path(path: &Path) -> std::io::Result<(PathBuf, Option<std::os::fd::OwnedFd>)> {
    use std::os::unix::ffi::OsStrExt;
    if path.as_os_str().as_bytes().len() < 100 {
        return Ok((path.to_path_buf(), None));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Ok((path.to_path_buf(), None)) };
    let raw = nix::fcntl::open(dir, nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())?;
    #[allow(unsafe_code)]
    // SAFETY: `raw` was just returned by open and is owned by nobody else.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let short = PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd))).join(name);
    Ok((short, Some(fd)))
}

/// Listen on the unix socket `path`, however long it is.
pub fn bind_socket(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    let (p, _dir) = short_socket_path(path)?;
    std::os::unix::net::UnixListener::bind(p)
}

/// Connect to the unix socket `path`, however long it is.
pub fn connect_socket(path: &Path) -> std::io::Result<UnixStream> {
    let (p, _dir) = short_socket_path(path)?;
    UnixStream::connect(p)
}

/// Options for the state's own files, which are never symlinks (the
/// confined sandbox process may open files with O_NOFOLLOW only).
fn options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.custom_flags(libc::O_NOFOLLOW);
    o
}

fn lock(dir: &Path) -> anyhow::Result<nix::fcntl::Flock<std::fs::File>> {
    let f = options().create(true).truncate(false).write(true).open(dir.join("state.lock"))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| anyhow::anyhow!("locking the state: {e}"))
}

fn read(dir: &Path, id: &str) -> anyhow::Result<State> {
    let mut text = Vec::new();
    let r = options().read(true).open(dir.join("state.json")).and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut text));
    match r {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("container \"{id}\" does not exist"),
        Err(e) => return Err(e).context("reading the container's state"),
    }
    serde_json::from_slice(&text).context("the container's state is corrupt")
}

fn write(dir: &Path, st: &State) -> anyhow::Result<()> {
    let tmp = dir.join(format!("state.json.{}", std::process::id()));
    options().write(true).create(true).truncate(true).open(&tmp)?.write_all(&serde_json::to_vec_pretty(st)?)?;
    std::fs::rename(&tmp, dir.join("state.json"))?;
    Ok(())
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    if pid <= 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')).unwrap_or(true),
        Err(_) => false,
    }
}

impl State {
    /// Load container `id`'s state; a sandbox that died is stopped.
    pub fn load(root: &Path, id: &str) -> anyhow::Result<State> {
        validate_id(id)?;
        let d = dir(root, id);
        if !d.is_dir() {
            bail!("container \"{id}\" does not exist");
        }
        let mut st = read(&d, id)?;
        if st.status != "stopped" && !alive(st.pid) {
            st.status = "stopped".into();
        }
        Ok(st)
    }

    /// Write the state (atomically).
    pub fn save(&self, root: &Path) -> anyhow::Result<()> {
        let d = dir(root, &self.id);
        let _l = lock(&d)?;
        write(&d, self)
    }

    /// Change the saved state under its lock.
    pub fn update(root: &Path, id: &str, f: impl FnOnce(&mut State)) -> anyhow::Result<()> {
        let d = dir(root, id);
        let _l = lock(&d)?;
        let mut st = read(&d, id)?;
        f(&mut st);
        write(&d, &st)
    }

    /// Every container under `root`.
    pub fn list(root: &Path) -> Vec<State> {
        let mut v: Vec<State> = std::fs::read_dir(root)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter_map(|id| State::load(root, &id).ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

/// A request to the sandbox process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Request {
    /// Start the init process.
    Start,
    /// Send a signal to init, or to every process.
    Kill { signo: i32, all: bool },
    /// The container's processes.
    Ps,
    /// Resource use.
    Stats,
    /// Run a process in the container on the three fds sent with the
    /// request (stdin, stdout, stderr); the reply comes when it exits.
    Exec { args: Vec<String>, env: Vec<String>, cwd: String, uid: u32, gid: u32 },
}

/// The sandbox's answer: `Ok` or an error message (and an exec'd
/// process's exit status).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Reply {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// Ps: (pid, ppid, uid, command) of each process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<Vec<(i32, i32, u32, String)>>,
    /// Stats: memory in use (bytes) and the number of processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<(u64, u64)>,
}

/// Send `req` to container `id`'s sandbox and wait for its reply.
pub fn call(root: &Path, id: &str, req: &Request) -> anyhow::Result<()> {
    match call_with_fds(root, id, req, &[])?.error {
        Some(e) => bail!("{e}"),
        None => Ok(()),
    }
}

/// Send `req` with `fds` (SCM_RIGHTS) and wait for the reply (which may
/// carry an error).
pub fn call_with_fds(root: &Path, id: &str, req: &Request, fds: &[std::os::fd::RawFd]) -> anyhow::Result<Reply> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let s = connect_socket(&socket(root, id)).with_context(|| format!("container \"{id}\" is not running"))?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    let iov = [std::io::IoSlice::new(&line)];
    let cmsgs: Vec<ControlMessage<'_>> = if fds.is_empty() { Vec::new() } else { vec![ControlMessage::ScmRights(fds)] };
    let n = sendmsg::<()>(std::os::fd::AsRawFd::as_raw_fd(&s), &iov, &cmsgs, MsgFlags::empty(), None).context("sending to the sandbox")?;
    if n < line.len() {
        (&s).write_all(&line[n..])?;
    }
    let mut answer = String::new();
    BufReader::new(&s).read_line(&mut answer)?;
    serde_json::from_str(&answer).context("no answer from the sandbox")
}

/// Read one request line from `s`, with the fds sent along with it.
pub fn receive(s: &UnixStream) -> anyhow::Result<(Request, Vec<std::os::fd::OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::FromRawFd;
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 3]);
    let (n, mut fds) = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(std::os::fd::AsRawFd::as_raw_fd(s), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)?;
        let mut fds = Vec::new();
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(v) = c {
                for fd in v {
                    #[allow(unsafe_code)]
                    // SAFETY: the kernel just installed this fd for us; we
                    // are its only owner.
                    fds.push(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        (msg.bytes, fds)
    };
    let mut line = buf[..n].to_vec();
    if !line.ends_with(b"\n") {
        let mut rest = Vec::new();
        BufReader::new(s).read_until(b'\n', &mut rest)?;
        line.extend(rest);
    }
    fds.truncate(3);
    Ok((serde_json::from_slice(&line).context("bad request")?, fds))
}

/// The current time in RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = t.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z", rem / 3600, rem % 3600 / 60, rem % 60, t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_file_names() {
        assert!(validate_id("abc-1.2_3").is_ok());
        for bad in ["", ".", "..", "a/b", ".hidden", "a b", "x\0"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_has_the_shape() {
        let s = now_rfc3339();
        assert_eq!(s.len(), 30, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
    }
}
