//! The sandbox's own loopback network, end to end: servers and clients
//! in one `runsc do`, compared with the same run natively. python3's
//! http.server fetched with urllib, a UDP echo and asyncio streams; and
//! two busybox nc processes, one listening and one connecting.

use tests::{assert_same, require_tool};

const PY: &str = "/usr/bin/python3";

/// An HTTP server thread and urllib (no proxy), a UDP echo, and three
/// asyncio clients of an asyncio server, all over 127.0.0.1.
const PY_SCRIPT: &str = r#"
import asyncio, http.server, socket, threading, urllib.request

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("path=" + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for path in ("/a", "/b?x=1"):
    with opener.open("http://127.0.0.1:%d%s" % (srv.server_address[1], path)) as r:
        print(r.status, r.read().decode())
srv.shutdown()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b"ping", u.getsockname())
data, addr = u.recvfrom(100)
u.sendto(data.upper(), addr)
print(c.recv(100), addr[0])

async def main():
    async def handle(r, w):
        line = await r.readline()
        w.write(line[::-1])
        await w.drain()
        w.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = []
    for i in range(3):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"msg%d\n" % i)
        await w.drain()
        out.append(await r.read())
        w.close()
    server.close()
    await server.wait_closed()
    return out

print(asyncio.run(main()))
"#;

#[test]
fn python_http_udp_asyncio_over_loopback() {
    if !require_tool("python_http_udp_asyncio_over_loopback", PY, "apt-get install python3") {
        return;
    }
    assert_same(&[PY, "-c", PY_SCRIPT]);
}

#[test]
fn busybox_nc_listener_and_client() {
    if !require_tool("busybox_nc_listener_and_client", "busybox", "apt-get install busybox-static") {
        return;
    }
    // `tests::nc_loopback_script` says why its listener runs cat.
    let script = tests::nc_loopback_script("/tmp/runsc-nc-$$") + "; rm -f /tmp/runsc-nc-$$";
    let argv = ["sh", "-c", script.as_str()];
    let native = tests::run(&mut tests::native(&argv));
    assert!(native.stdout_str().contains("over loopback"), "native: {native:?}");
    let sandbox = tests::run(&mut tests::sandboxed(&argv));
    tests::assert_outcomes_equal(&native, &sandbox);
}

/// `--network=host`: a server on the host reached from inside the sandbox,
/// a server inside reached from the host, and the sandbox's default
/// network kept apart from the host's (the same connect is refused).
#[test]
fn network_host_passes_sockets_through() {
    if !require_tool("network_host_passes_sockets_through", "python3", "apt-get install python3") {
        return;
    }
    use std::io::{Read, Write};
    // A host server on a free port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).expect("read");
        c.write_all(b"pong:").unwrap();
        c.write_all(&buf).unwrap();
    });
    let client = format!(
        "import socket; c = socket.create_connection(('127.0.0.1', {port})); c.sendall(b'hello'); \
         print(b''.join(iter(lambda: c.recv(100), b'')).decode(), end='')"
    );
    let host_net = |args: &[&str]| {
        let mut cmd = std::process::Command::new(tests::runsc_path());
        cmd.arg(format!("--platform={}", tests::platform())).arg("--network=host").arg("do").args(args);
        cmd
    };
    let out = tests::run(&mut host_net(&["python3", "-c", &client]));
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "pong:hello"), "{out:?}");
    server.join().unwrap();
    // The default network is the sandbox's own: nothing listens there.
    let out = tests::run(&mut tests::sandboxed(&["python3", "-c", &client]));
    assert!(out.status != 0 && out.stderr_str().contains("Connection refused"), "{out:?}");

    // A server inside, a client on the host; the peer closes at once (the
    // sandbox still reads what it sent).
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let srv = format!(
        "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
         s.bind(('127.0.0.1', {port})); s.listen(1); print('ready', flush=True); c, _ = s.accept(); \
         c.shutdown(socket.SHUT_WR); import select; select.select([c], [], [], 10); \
         print(b''.join(iter(lambda: c.recv(100), b'')).decode(), end='')"
    );
    let mut child = host_net(&["python3", "-c", &srv]).stdout(std::process::Stdio::piped()).spawn().expect("runsc");
    let mut out = child.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    out.read_exact(&mut ready).expect("the sandboxed server says ready");
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect from the host");
    c.write_all(b"from the host").unwrap();
    drop(c);
    let mut got = String::new();
    out.read_to_string(&mut got).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(got, "from the host");
}
