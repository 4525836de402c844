/* AF_UNIX sockets on paths and abstract names: bind, listen, connect,
 * accept, names, datagrams, and the errno of each kind of bad input. */
#include "harness.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>

static socklen_t path_addr(struct sockaddr_un *a, const char *p)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strncpy(a->sun_path, p, sizeof(a->sun_path) - 1);
	return offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *n)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, n, strlen(n));
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(n);
}

int main(void)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/tmp/st_sock_%d", getpid());
	unlink(path);
	struct sockaddr_un sa, got;
	socklen_t len = path_addr(&sa, path), gl;

	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_OK("socket", srv);
	EXPECT_EQ("bind_path", bind(srv, (struct sockaddr *)&sa, len), 0);
	struct stat st;
	CHECK("bind_creates_socket_node", stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	EXPECT_ERR("bind_same_path_again_eaddrinuse", bind(srv, (struct sockaddr *)&sa, len), EADDRINUSE);
	int other = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_ERR("bind_taken_eaddrinuse", bind(other, (struct sockaddr *)&sa, len), EADDRINUSE);
	int cli = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_ERR("connect_not_listening_econnrefused", connect(cli, (struct sockaddr *)&sa, len), ECONNREFUSED);
	int acceptconn = -1;
	socklen_t optlen = sizeof(acceptconn);
	getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &optlen);
	EXPECT_EQ("acceptconn_before_listen", acceptconn, 0);
	EXPECT_EQ("listen", listen(srv, 4), 0);
	getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &optlen);
	EXPECT_EQ("acceptconn_listening", acceptconn, 1);
	EXPECT_EQ("connect", connect(cli, (struct sockaddr *)&sa, len), 0);
	EXPECT_ERR("connect_again_eisconn", connect(cli, (struct sockaddr *)&sa, len), EISCONN);
	int acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
	EXPECT_OK("accept4", acc);
	CHECK("accept4_cloexec", fcntl(acc, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ("client_sends", write(cli, "ping", 4), 4);
	EXPECT_EQ("server_reads", read(acc, buf, sizeof(buf)), 4);
	EXPECT_EQ("server_replies", write(acc, "pong", 4), 4);
	EXPECT_EQ("client_reads", read(cli, buf, sizeof(buf)), 4);
	CHECK("reply_contents", memcmp(buf, "pong", 4) == 0);
	gl = sizeof(got);
	EXPECT_EQ("getsockname_bound", getsockname(srv, (struct sockaddr *)&got, &gl), 0);
	CHECK("sockname_is_path", strcmp(got.sun_path, path) == 0);
	gl = sizeof(got);
	EXPECT_EQ("getpeername_client", getpeername(cli, (struct sockaddr *)&got, &gl), 0);
	CHECK("peername_is_path", strcmp(got.sun_path, path) == 0);
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	EXPECT_EQ("peercred", getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &cr, &cl), 0);
	CHECK("peercred_pid", cr.pid == getpid());
	close(cli);
	EXPECT_EQ("eof_after_close", read(acc, buf, sizeof(buf)), 0);
	fcntl(srv, F_SETFL, O_NONBLOCK);
	EXPECT_ERR("accept_nonblock_eagain", accept(srv, NULL, NULL), EAGAIN);
	close(srv);
	EXPECT_ERR("connect_closed_econnrefused", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, len), ECONNREFUSED);
	unlink(path);

	/* abstract names */
	struct sockaddr_un ab;
	char name[32];
	snprintf(name, sizeof(name), "st-abs-%d", getpid());
	socklen_t al = abstract_addr(&ab, name);
	int as = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	EXPECT_EQ("bind_abstract", bind(as, (struct sockaddr *)&ab, al), 0);
	listen(as, 1);
	int ac = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	EXPECT_EQ("connect_abstract", connect(ac, (struct sockaddr *)&ab, al), 0);
	int aa = accept(as, NULL, NULL);
	EXPECT_OK("accept_abstract", aa);
	send(ac, "one", 3, 0);
	send(ac, "two!", 4, 0);
	EXPECT_EQ("seqpacket_boundaries", recv(aa, buf, sizeof(buf), 0), 3);
	int bad = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_ERR("connect_wrong_type_econnrefused", connect(bad, (struct sockaddr *)&ab, al), ECONNREFUSED);

	/* datagrams */
	char dpath[64];
	snprintf(dpath, sizeof(dpath), "/tmp/st_dgram_%d", getpid());
	unlink(dpath);
	struct sockaddr_un da;
	socklen_t dl = path_addr(&da, dpath);
	int dr = socket(AF_UNIX, SOCK_DGRAM, 0);
	EXPECT_EQ("dgram_bind", bind(dr, (struct sockaddr *)&da, dl), 0);
	int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
	EXPECT_EQ("dgram_sendto", sendto(ds, "dg", 2, 0, (struct sockaddr *)&da, dl), 2);
	EXPECT_EQ("dgram_recv", recv(dr, buf, sizeof(buf), 0), 2);
	EXPECT_ERR("dgram_send_unconnected_enotconn", send(ds, "x", 1, 0), ENOTCONN);
	EXPECT_EQ("dgram_connect", connect(ds, (struct sockaddr *)&da, dl), 0);
	EXPECT_EQ("dgram_send_connected", send(ds, "abc", 3, 0), 3);
	EXPECT_EQ("dgram_recv2", recv(dr, buf, sizeof(buf), 0), 3);
	EXPECT_ERR("dgram_listen_eopnotsupp", listen(dr, 1), EOPNOTSUPP);
	unlink(dpath);

	/* bad input */
	EXPECT_ERR("stream_write_unconnected_enotconn", write(socket(AF_UNIX, SOCK_STREAM, 0), "x", 1), ENOTCONN);
	EXPECT_ERR("accept_not_listening_einval", accept(socket(AF_UNIX, SOCK_STREAM, 0), NULL, NULL), EINVAL);
	struct sockaddr_un wrong = sa;
	wrong.sun_family = AF_INET;
	EXPECT_ERR("bind_wrong_family_einval", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&wrong, len), EINVAL);
	EXPECT_ERR("connect_missing_path_enoent", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, len), ENOENT);
	EXPECT_ERR("connect_efault", connect(socket(AF_UNIX, SOCK_STREAM, 0), (void *)1, len), EFAULT);
	EXPECT_ERR("bind_not_socket_enotsock", bind(0, (struct sockaddr *)&sa, len), ENOTSOCK);
	EXPECT_ERR("socket_bad_type_einval", socket(AF_UNIX, 77, 0), EINVAL);
	return 0;
}
