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

/// `nc -l` in the background, a second nc that connects (retried until
/// the listener is up) and sends a line, and what the listener received.
const NC_SCRIPT: &str = r#"P=$((20000 + $$ % 10000)); out=/tmp/runsc-nc-$$
busybox nc -l -p $P > $out & srv=$!
i=0; until echo "hello over tcp" | busybox nc 127.0.0.1 $P 2>/dev/null; do
  i=$((i+1)); [ $i -gt 50 ] && break; sleep 0.1; done
wait $srv; echo "listener exit $?"; cat $out; rm -f $out"#;

#[test]
fn busybox_nc_listener_and_client() {
    if !require_tool("busybox_nc_listener_and_client", "busybox", "apt-get install busybox-static") {
        return;
    }
    assert_same(&["sh", "-c", NC_SCRIPT]);
}
