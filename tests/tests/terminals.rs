//! Terminals inside the sandbox, compared with native: a pty made with
//! python's pty module, script(1), and an interactive bash doing job
//! control (a background job, ^Z of a foreground one, jobs, kill %N) on a
//! pty it sees as its controlling terminal.

use tests::{assert_same, require_tool};

const PY: &str = "/usr/bin/python3";

#[test]
fn python_pty_fork_and_spawn() {
    if !require_tool("python_pty_fork_and_spawn", PY, "apt-get install python3") {
        return;
    }
    assert_same(&[
        PY,
        "-c",
        r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    print("tty", os.ttyname(0).startswith("/dev/pts/"), os.isatty(1))
    print("foreground", os.tcgetpgrp(0) == os.getpgrp(), "leader", os.getsid(0) == os.getpid())
    sys.stdout.write(input("say: ") + "!\n")
    sys.exit(3)
out = b""
while not out.endswith(b"say: "):
    out += os.read(fd, 1)
os.write(fd, b"hello\n")
while True:
    try:
        d = os.read(fd, 1024)
    except OSError as e:
        print("master read error", e.errno)
        break
    if not d:
        break
    out += d
print(out)
print("status", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"#,
    ]);
}

#[test]
fn script_runs_a_command_on_a_pty() {
    if !require_tool("script_runs_a_command_on_a_pty", "script", "apt-get install bsdutils") {
        return;
    }
    assert_same(&["sh", "-c", "script -qec 'tty >/dev/null && echo on a tty; stty size; exit 4' /dev/null </dev/null; echo status $?"]);
}

/// The driver waits for output markers that only running the commands
/// prints (`echo M$((1))` echoes as typed, prints M1), so nothing depends
/// on timing; it prints a normalized transcript.
const JOB_CONTROL_DRIVER: &str = r#"
import os, pty, sys, select, time, re
pid, fd = pty.fork()
if pid == 0:
    os.environ["PS1"] = "$ "
    os.environ["TERM"] = "dumb"
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
buf = b""
def until(pat, what):
    global buf
    end = time.time() + 15
    while time.time() < end:
        m = re.search(pat, buf)
        if m:
            got, buf = buf[:m.end()], buf[m.end():]
            return got.decode(errors="replace")
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            buf += d
    print("timed out waiting for", what, repr(buf))
    sys.exit(1)
def jobs(text):
    return [re.sub(r"\s+", " ", l).strip() for l in text.splitlines() if re.match(r"\[\d\]", l)]
def send(s):
    os.write(fd, s.encode())
until(rb"\$ ", "prompt")
send("sleep 30 &\n")
until(rb"\$ ", "prompt after &")
send("jobs; echo M$((1))\n")
print("jobs:", jobs(until(rb"\nM1", "M1")))
until(rb"\$ ", "prompt after M1")
send("sleep 20\n")
end = time.time() + 15
while os.tcgetpgrp(fd) == pid and time.time() < end:
    time.sleep(0.01)
print("foreground job has its own group:", os.tcgetpgrp(fd) != pid)
time.sleep(0.3)
send("\x1a")
print("stopped:", jobs(until(rb"Stopped[^\n]*\n", "Stopped")))
send("jobs; echo M$((2))\n")
print("jobs:", jobs(until(rb"\nM2", "M2")))
send("kill %1 %2; wait; echo M$((3))\n")
until(rb"\nM3", "M3")
send("exit\n")
until(rb"exit", "exit")
print("status", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"#;

#[test]
fn bash_interactive_job_control_on_a_pty() {
    if !require_tool("bash_interactive_job_control_on_a_pty", PY, "apt-get install python3") {
        return;
    }
    assert_same(&[PY, "-c", JOB_CONTROL_DRIVER]);
}
