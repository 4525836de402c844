/* AF_INET TCP on loopback: socket creation, bind rules, listen/connect/
 * accept (blocking and not), addresses, the byte stream, shutdown, close
 * with and without unread data, poll readiness, and errno cases. IPv6 is
 * in inet6.c, options in inet_opts.c, UDP in inet_udp.c. */
#include "harness.h"
#include "inet_util.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/sockios.h>

/* A listener on 127.0.0.1, ephemeral port. */
static int listener4(int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(0);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, backlog) < 0)
		return -1;
	return s;
}

/* A connected pair through listener `l`. */
static int pair4(int l, int *cli, int *srv)
{
	struct sockaddr_in a = lo4(port_of(l));
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*cli, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	*srv = accept(l, NULL, NULL);
	return *srv < 0 ? -1 : 0;
}

static int revents(int fd, int events, int timeout)
{
	struct pollfd p = {fd, events, 0};
	if (poll(&p, 1, timeout) < 0)
		return -1;
	return p.revents;
}

static volatile sig_atomic_t pipes, alarms;
static void on_pipe(int s) { (void)s; pipes++; }
static void on_alarm(int s) { (void)s; alarms++; }

static void arm_alarm(int ms, int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, ms * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

struct delayed {
	int fd;
	int ms;
	const char *data;
	int len;
	int chunks;
};

static void *writer(void *p)
{
	struct delayed *d = p;
	for (int i = 0; i < d->chunks; i++) {
		usleep(d->ms * 1000);
		if (write(d->fd, d->data, d->len) != d->len)
			break;
	}
	return NULL;
}

static void *connector(void *p)
{
	int port = *(int *)p;
	usleep(50000);
	struct sockaddr_in a = lo4(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	usleep(100000);
	close(c);
	return NULL;
}

#define BIG (1 << 20)
static char big_out[BIG], big_in[BIG];

static void *big_writer(void *p)
{
	int fd = *(int *)p;
	size_t done = 0;
	while (done < BIG) {
		ssize_t n = write(fd, big_out + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	return NULL;
}

static void creation(void)
{
	int s;
	EXPECT_OK("socket_tcp4", s = socket(AF_INET, SOCK_STREAM, 0));
	struct stat st;
	CHECK("fstat_is_socket", fstat(s, &st) == 0 && S_ISSOCK(st.st_mode));
	close(s);
	EXPECT_OK("socket_tcp_proto", s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
	close(s);
	EXPECT_OK("socket_nonblock_cloexec", s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	CHECK("socket_nonblock_flag", fcntl(s, F_GETFL) & O_NONBLOCK);
	CHECK("socket_cloexec_flag", fcntl(s, F_GETFD) & FD_CLOEXEC);
	close(s);
	EXPECT_ERR("socket_stream_udp_eprotonosupport", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
	EXPECT_ERR("socket_dgram_tcp_eprotonosupport", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
	EXPECT_ERR("socket_seqpacket_esocktnosupport", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	EXPECT_ERR("socket_proto_too_big_einval", socket(AF_INET, SOCK_STREAM, 300), EINVAL);
	EXPECT_ERR("socket_bad_flags_einval", socket(AF_INET, SOCK_STREAM | 0x100, 0), EINVAL);
	EXPECT_ERR("socket_unknown_family_eafnosupport", socket(200, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_ERR("socketpair_inet_eopnotsupp", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0, 0}), EOPNOTSUPP);
}

static int raw_unprivileged(void *arg)
{
	(void)arg;
	if (setgid(65534) < 0 || setuid(65534) < 0)
		return 2;
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	return s < 0 && errno == EPERM ? 0 : 1;
}

static void binding(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(0), got;
	socklen_t gl = sizeof(got);
	memset(&got, 0xee, sizeof(got));
	EXPECT_EQ("getsockname_unbound", getsockname(s, (struct sockaddr *)&got, &gl), 0);
	CHECK("getsockname_unbound_is_any_port_0", gl == sizeof(got) && got.sin_family == AF_INET && got.sin_port == 0 && got.sin_addr.s_addr == 0);
	EXPECT_ERR("bind_short_len_einval", bind(s, (struct sockaddr *)&a, sizeof(a) - 1), EINVAL);
	struct sockaddr_in bad = a;
	bad.sin_family = AF_INET6;
	EXPECT_ERR("bind_wrong_family_eafnosupport", bind(s, (struct sockaddr *)&bad, sizeof(bad)), EAFNOSUPPORT);
	bad = a;
	bad.sin_family = AF_UNSPEC;
	EXPECT_ERR("bind_unspec_loopback_eafnosupport", bind(s, (struct sockaddr *)&bad, sizeof(bad)), EAFNOSUPPORT);
	bad = a;
	inet_pton(AF_INET, "198.51.100.7", &bad.sin_addr);
	EXPECT_ERR("bind_nonlocal_eaddrnotavail", bind(s, (struct sockaddr *)&bad, sizeof(bad)), EADDRNOTAVAIL);
	EXPECT_ERR("bind_efault", bind(s, (struct sockaddr *)1, sizeof(a)), EFAULT);
	EXPECT_EQ("bind_ephemeral", bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	int p = port_of(s);
	CHECKF("bind_ephemeral_in_range", p >= 32768 && p <= 60999, "port %d", p);
	EXPECT_ERR("bind_twice_einval", bind(s, (struct sockaddr *)&a, sizeof(a)), EINVAL);
	struct sockaddr_in taken = lo4(p), any = taken;
	any.sin_addr.s_addr = htonl(INADDR_ANY);
	int s2 = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("bind_taken_eaddrinuse", bind(s2, (struct sockaddr *)&taken, sizeof(taken)), EADDRINUSE);
	EXPECT_ERR("bind_any_over_taken_eaddrinuse", bind(s2, (struct sockaddr *)&any, sizeof(any)), EADDRINUSE);
	struct sockaddr_in other = taken;
	inet_pton(AF_INET, "127.0.0.2", &other.sin_addr);
	EXPECT_EQ("bind_other_loopback_same_port", bind(s2, (struct sockaddr *)&other, sizeof(other)), 0);
	close(s2);
	int one = 1;
	s2 = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	EXPECT_EQ("bind_reuseaddr_shares_port", bind(s2, (struct sockaddr *)&any, sizeof(any)), 0);
	EXPECT_EQ("listen_first_of_reuseaddr_pair", listen(s, 4), 0);
	EXPECT_ERR("listen_second_of_reuseaddr_pair_eaddrinuse", listen(s2, 4), EADDRINUSE);
	close(s2);
	s2 = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	EXPECT_ERR("bind_reuseaddr_over_listener_eaddrinuse", bind(s2, (struct sockaddr *)&any, sizeof(any)), EADDRINUSE);
	close(s2);
	int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(r1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(r2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	struct sockaddr_in ra = lo4(0);
	bind(r1, (struct sockaddr *)&ra, sizeof(ra));
	ra.sin_port = htons(port_of(r1));
	EXPECT_EQ("reuseport_bind_same_port", bind(r2, (struct sockaddr *)&ra, sizeof(ra)), 0);
	CHECK("reuseport_both_listen", listen(r1, 1) == 0 && listen(r2, 1) == 0);
	close(r1);
	close(r2);

	/* AF_UNSPEC with INADDR_ANY is AF_INET, for old programs. */
	s2 = socket(AF_INET, SOCK_STREAM, 0);
	bad = lo4(0);
	bad.sin_family = AF_UNSPEC;
	bad.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_EQ("bind_unspec_any_is_inet", bind(s2, (struct sockaddr *)&bad, sizeof(bad)), 0);
	close(s2);

	close(s);
	int st = h_run_child(raw_unprivileged, NULL);
	CHECKF("socket_raw_unprivileged_eperm", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

static void connecting(void)
{
	int l = listener4(8);
	int p = port_of(l);
	struct sockaddr_in a = lo4(p), got;
	socklen_t gl;
	int acceptconn = -1;
	socklen_t ol = sizeof(acceptconn);
	getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &ol);
	EXPECT_EQ("acceptconn_listener", acceptconn, 1);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("getpeername_unconnected_enotconn", getpeername(c, (struct sockaddr *)&got, &(socklen_t){sizeof(got)}), ENOTCONN);
	EXPECT_ERR("connect_short_len_einval", connect(c, (struct sockaddr *)&a, 15), EINVAL);
	struct sockaddr_in6 a6;
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(p);
	EXPECT_ERR("connect_v6_addr_on_v4_eafnosupport", connect(c, (struct sockaddr *)&a6, sizeof(a6)), EAFNOSUPPORT);
	EXPECT_EQ("connect", connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	EXPECT_ERR("connect_again_eisconn", connect(c, (struct sockaddr *)&a, sizeof(a)), EISCONN);
	EXPECT_ERR("connect_listener_eisconn", connect(l, (struct sockaddr *)&a, sizeof(a)), EISCONN);
	gl = sizeof(got);
	getsockname(c, (struct sockaddr *)&got, &gl);
	int cport = ntohs(got.sin_port);
	CHECKF("client_name_loopback_ephemeral", got.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && cport >= 32768 && cport <= 60999, "port %d", cport);
	gl = sizeof(got);
	getpeername(c, (struct sockaddr *)&got, &gl);
	CHECK("client_peer_is_listener", gl == sizeof(got) && got.sin_port == htons(p) && got.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	int s = accept(l, (struct sockaddr *)&peer, &pl);
	EXPECT_OK("accept", s);
	CHECK("accept_peer_is_client", pl == sizeof(peer) && peer.sin_family == AF_INET && ntohs(peer.sin_port) == cport);
	gl = sizeof(got);
	getsockname(s, (struct sockaddr *)&got, &gl);
	CHECK("accepted_name_is_listener_port", got.sin_port == htons(p));
	close(s);
	close(c);

	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	pl = 4;
	s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	EXPECT_OK("accept4_flags", s);
	CHECK("accept4_short_len_reports_full", pl == sizeof(peer));
	CHECK("accept4_nonblock_cloexec", (fcntl(s, F_GETFL) & O_NONBLOCK) && (fcntl(s, F_GETFD) & FD_CLOEXEC));
	close(s);
	close(c);
	EXPECT_ERR("accept4_bad_flags_einval", accept4(l, NULL, NULL, 0x1234), EINVAL);
	EXPECT_ERR("accept_not_listening_einval", accept(socket(AF_INET, SOCK_STREAM, 0), NULL, NULL), EINVAL);
	EXPECT_ERR("accept_not_socket_enotsock", accept(0, NULL, NULL), ENOTSOCK);
	/* The connection is taken before the address is refused. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	EXPECT_ERR("accept_negative_len_einval", accept(l, (struct sockaddr *)&peer, &(socklen_t){-1}), EINVAL);
	close(c);
	fcntl(l, F_SETFL, O_NONBLOCK);
	EXPECT_ERR("accept_nonblock_eagain", accept(l, NULL, NULL), EAGAIN);
	fcntl(l, F_SETFL, 0);

	/* Non-blocking connect: EINPROGRESS, then writable, 0, EISCONN. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	EXPECT_ERR("nonblock_connect_einprogress", connect(c, (struct sockaddr *)&a, sizeof(a)), EINPROGRESS);
	CHECK("nonblock_connect_becomes_writable", revents(c, POLLOUT, 1000) & POLLOUT);
	int err = -1;
	ol = sizeof(err);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &ol);
	EXPECT_EQ("nonblock_connect_so_error_0", err, 0);
	EXPECT_EQ("nonblock_connect_second_call_0", connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	EXPECT_ERR("nonblock_connect_third_call_eisconn", connect(c, (struct sockaddr *)&a, sizeof(a)), EISCONN);
	close(c);
	close(accept(l, NULL, NULL));

	/* An edge-triggered epoll sees the connection become writable. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLET, .data.fd = c}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
	CHECK("epoll_et_fresh_socket_out_hup", epoll_wait(ep, &out, 1, 0) == 1 && out.events == (EPOLLOUT | EPOLLHUP));
	EXPECT_EQ("epoll_et_fresh_socket_once", epoll_wait(ep, &out, 1, 0), 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	CHECK("epoll_et_connected_out", epoll_wait(ep, &out, 1, 1000) == 1 && out.events == EPOLLOUT);
	close(ep);
	close(c);
	close(accept(l, NULL, NULL));

	/* Refused. */
	int closed = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in ca = lo4(0);
	bind(closed, (struct sockaddr *)&ca, sizeof(ca));
	ca.sin_port = htons(port_of(closed));
	c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("connect_not_listening_econnrefused", connect(c, (struct sockaddr *)&ca, sizeof(ca)), ECONNREFUSED);
	CHECK("refused_socket_polls_as_new", (revents(c, POLLIN | POLLOUT, 0) & (POLLOUT | POLLHUP | POLLERR | POLLIN)) == (POLLOUT | POLLHUP));
	EXPECT_EQ("connect_after_refusal", connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	close(c);
	close(accept(l, NULL, NULL));
	c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("connect_port_0_econnrefused", connect(c, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}, sizeof(a)), ECONNREFUSED);
	close(c);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	EXPECT_ERR("nonblock_refused_einprogress", connect(c, (struct sockaddr *)&ca, sizeof(ca)), EINPROGRESS);
	int rv = revents(c, POLLIN | POLLOUT, 1000);
	CHECKF("nonblock_refused_polls_err_hup", (rv & (POLLERR | POLLHUP | POLLOUT | POLLIN)) == (POLLERR | POLLHUP | POLLOUT | POLLIN), "revents %#x", rv);
	EXPECT_ERR("nonblock_refused_reported_by_connect", connect(c, (struct sockaddr *)&ca, sizeof(ca)), ECONNREFUSED);
	err = -1;
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &ol);
	EXPECT_EQ("nonblock_refused_error_reported_once", err, 0);
	close(c);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c, (struct sockaddr *)&ca, sizeof(ca));
	revents(c, POLLOUT, 1000);
	err = -1;
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &ol);
	EXPECT_EQ("nonblock_refused_so_error", err, ECONNREFUSED);
	char b[8];
	EXPECT_EQ("nonblock_refused_then_read_eof", read(c, b, sizeof(b)), 0);
	EXPECT_ERR("nonblock_refused_then_send_epipe", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(c);
	close(closed);

	/* Writes and reads before a connection. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("read_unconnected_enotconn", read(c, b, 1), ENOTCONN);
	EXPECT_ERR("send_unconnected_epipe", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_ERR("shutdown_unconnected_enotconn", shutdown(c, SHUT_RDWR), ENOTCONN);
	EXPECT_ERR("read_listener_enotconn", read(l, b, 1), ENOTCONN);
	close(c);

	/* Connect to 0.0.0.0 reaches this host. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in zero = a;
	zero.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_EQ("connect_to_any_address", connect(c, (struct sockaddr *)&zero, sizeof(zero)), 0);
	gl = sizeof(got);
	getpeername(c, (struct sockaddr *)&got, &gl);
	CHECK("connect_to_any_peer_is_loopback", got.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	close(c);
	close(accept(l, NULL, NULL));

	/* A disconnect (AF_UNSPEC) of a new socket is harmless. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	EXPECT_EQ("connect_unspec_unconnected", connect(c, &unspec, sizeof(unspec)), 0);
	close(c);

	/* Blocking accept woken by a connection from another thread. */
	pthread_t th;
	pthread_create(&th, NULL, connector, &p);
	s = accept(l, NULL, NULL);
	EXPECT_OK("blocking_accept_woken", s);
	close(s);
	pthread_join(th, NULL);
	close(l);

	/* Listen without bind picks a port on the wildcard. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_EQ("listen_unbound", listen(l, 1), 0);
	gl = sizeof(got);
	getsockname(l, (struct sockaddr *)&got, &gl);
	CHECK("listen_autobinds_any", got.sin_addr.s_addr == htonl(INADDR_ANY) && ntohs(got.sin_port) >= 32768);
	EXPECT_EQ("listener_shutdown_rd", shutdown(l, SHUT_RD), 0);
	EXPECT_ERR("accept_after_listener_shutdown_einval", accept(l, NULL, NULL), EINVAL);
	close(l);

	/* Backlog 0: one connection completes, the next waits. */
	l = listener4(0);
	a = lo4(port_of(l));
	int c1 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c1, (struct sockaddr *)&a, sizeof(a));
	CHECK("backlog0_first_connects", revents(c1, POLLOUT, 1000) & POLLOUT);
	EXPECT_ERR("backlog0_second_einprogress", connect(c2, (struct sockaddr *)&a, sizeof(a)), EINPROGRESS);
	EXPECT_EQ("backlog0_second_waits", revents(c2, POLLOUT, 50), 0);
	EXPECT_ERR("backlog0_second_connect_ealready", connect(c2, (struct sockaddr *)&a, sizeof(a)), EALREADY);
	close(c1);
	close(c2);
	close(l);
}

static void data(void)
{
	int l = listener4(8), c, s;
	char buf[256];
	if (pair4(l, &c, &s) < 0) {
		FAIL("pair", "no connection");
		return;
	}
	CHECK("connected_polls_writable_only", (revents(c, POLLIN | POLLOUT, 0) & (POLLIN | POLLOUT | POLLHUP)) == POLLOUT);
	EXPECT_EQ("write", write(c, "hello", 5), 5);
	CHECK("data_polls_readable", revents(s, POLLIN, 1000) & POLLIN);
	int n = -1;
	ioctl(s, FIONREAD, &n);
	EXPECT_EQ("fionread", n, 5);
	EXPECT_EQ("recv_peek", recv(s, buf, 3, MSG_PEEK), 3);
	EXPECT_EQ("recv_after_peek_gets_all", recv(s, buf, sizeof(buf), 0), 5);
	CHECK("contents", memcmp(buf, "hello", 5) == 0);
	EXPECT_ERR("recv_dontwait_eagain", recv(s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT_ERR("recv_oob_einval", recv(s, buf, sizeof(buf), MSG_OOB), EINVAL);
	struct iovec wv[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
	EXPECT_EQ("writev", writev(c, wv, 3), 6);
	char x1[2], x2[10];
	struct iovec rv[2] = {{x1, 2}, {x2, 10}};
	usleep(10000);
	EXPECT_EQ("readv", readv(s, rv, 2), 6);
	CHECK("readv_contents", memcmp(x1, "ab", 2) == 0 && memcmp(x2, "cdef", 4) == 0);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	send(c, "xyz", 3, 0);
	EXPECT_EQ("recvfrom", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 3);
	EXPECT_EQ("recvfrom_stream_no_address", fl, 0);
	EXPECT_EQ("sendto_connected_ignores_address", sendto(c, "q", 1, 0, (struct sockaddr *)&from, 3), 1);
	recv(s, buf, sizeof(buf), 0);
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	struct iovec mv = {"msg!", 4};
	mh.msg_iov = &mv;
	mh.msg_iovlen = 1;
	EXPECT_EQ("sendmsg", sendmsg(c, &mh, 0), 4);
	struct sockaddr_in nm;
	memset(&mh, 0, sizeof(mh));
	mv.iov_base = buf;
	mv.iov_len = sizeof(buf);
	mh.msg_iov = &mv;
	mh.msg_iovlen = 1;
	mh.msg_name = &nm;
	mh.msg_namelen = sizeof(nm);
	EXPECT_EQ("recvmsg", recvmsg(s, &mh, 0), 4);
	CHECK("recvmsg_stream_namelen_0", mh.msg_namelen == 0 && mh.msg_flags == 0);
	send(c, "abcdef", 6, 0);
	usleep(10000);
	EXPECT_EQ("recv_trunc_discards", recv(s, NULL, 2, MSG_TRUNC), 2);
	EXPECT_EQ("recv_after_trunc", recv(s, buf, sizeof(buf), 0), 4);
	CHECK("recv_after_trunc_contents", memcmp(buf, "cdef", 4) == 0);
	send(c, "ef", 2, 0);
	usleep(10000);
	EXPECT_ERR("recv_efault", recv(s, (void *)1, 10, MSG_DONTWAIT), EFAULT);
	EXPECT_EQ("recv_efault_keeps_data", recv(s, buf, sizeof(buf), 0), 2);
	EXPECT_ERR("send_efault", send(c, (void *)1, 10, 0), EFAULT);
	EXPECT_EQ("send_zero_bytes", send(c, "", 0, 0), 0);
	n = -1;
	send(c, "zz", 2, 0);
	recv(s, buf, sizeof(buf), 0);
	usleep(10000);
	ioctl(c, SIOCOUTQ, &n);
	EXPECT_EQ("siocoutq_after_peer_read", n, 0);
	EXPECT_ERR("fionread_listener_einval", ioctl(l, FIONREAD, &n), EINVAL);

	/* MSG_WAITALL gathers pieces from a slow writer. */
	struct delayed d = {c, 20, "12", 2, 3};
	pthread_t th;
	pthread_create(&th, NULL, writer, &d);
	EXPECT_EQ("recv_waitall", recv(s, buf, 6, MSG_WAITALL), 6);
	pthread_join(th, NULL);
	CHECK("recv_waitall_contents", memcmp(buf, "121212", 6) == 0);

	/* A megabyte through the stream, written by another thread. */
	for (int i = 0; i < BIG; i++)
		big_out[i] = (char)(i * 7 + i / 251);
	pthread_create(&th, NULL, big_writer, &c);
	size_t got = 0;
	while (got < BIG) {
		ssize_t r = read(s, big_in + got, BIG - got);
		if (r <= 0)
			break;
		got += r;
	}
	pthread_join(th, NULL);
	CHECK("one_megabyte_intact", got == BIG && memcmp(big_in, big_out, BIG) == 0);

	/* Flow control: a writer whose peer does not read fills the
	 * connection (EAGAIN when non-blocking; under SO_SNDTIMEO a blocking
	 * write times out the same way), until the peer drains it. Linux may
	 * still grow its send buffer after the first EAGAIN, so the timed
	 * writes go on until one makes no progress. */
	fcntl(c, F_SETFL, O_NONBLOCK);
	long queued = 0;
	ssize_t w = 0;
	for (int i = 0; i < 1024 && (w = write(c, big_out, 65536)) > 0; i++)
		queued += w;
	CHECKF("full_connection_eagain", w < 0 && errno == EAGAIN, "wrote %ld, last %zd", queued, w);
	fcntl(c, F_SETFL, 0);
	struct timeval stv = {0, 50000};
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv));
	for (int i = 0; i < 1024 && (w = write(c, big_out, 65536)) > 0; i++)
		queued += w;
	CHECKF("sndtimeo_full_eagain", w < 0 && errno == EAGAIN, "last %zd", w);
	long drained = 0;
	ssize_t rd;
	while (drained < queued && (rd = recv(s, big_in, BIG, 0)) > 0)
		drained += rd;
	EXPECT_EQ("drained_all_queued", drained, queued);
	CHECK("drained_connection_writable", revents(c, POLLOUT, 1000) & POLLOUT);
	stv.tv_usec = 0;
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv));

	/* Blocking reads and signals. */
	struct timeval tv = {0, 100000};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	long long t0 = h_now_ns();
	EXPECT_ERR("rcvtimeo_eagain", recv(s, buf, sizeof(buf), 0), EAGAIN);
	CHECKF("rcvtimeo_waited", h_now_ns() - t0 >= 80000000LL, "%lld ns", h_now_ns() - t0);
	arm_alarm(30, 1);
	EXPECT_ERR("rcvtimeo_signal_eintr_despite_restart", recv(s, buf, sizeof(buf), 0), EINTR);
	tv.tv_usec = 0;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	arm_alarm(30, 0);
	EXPECT_ERR("recv_signal_eintr", recv(s, buf, sizeof(buf), 0), EINTR);
	d = (struct delayed){c, 100, "late", 4, 1};
	pthread_create(&th, NULL, writer, &d);
	arm_alarm(30, 1);
	EXPECT_EQ("recv_signal_restarted", recv(s, buf, sizeof(buf), 0), 4);
	pthread_join(th, NULL);
	CHECK("restart_saw_signal", alarms == 3);
	close(c);
	close(s);
	close(l);
}

static void endings(void)
{
	int l = listener4(8), c, s;
	char buf[64];
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_pipe;
	sigaction(SIGPIPE, &sa, NULL);

	/* Half close. */
	pair4(l, &c, &s);
	EXPECT_EQ("shutdown_wr", shutdown(c, SHUT_WR), 0);
	EXPECT_ERR("shutdown_bad_how_einval", shutdown(c, 7), EINVAL);
	EXPECT_EQ("peer_sees_eof", read(s, buf, sizeof(buf)), 0);
	int rv = revents(s, POLLIN | POLLOUT | POLLRDHUP, 0);
	CHECKF("peer_after_fin_polls_in_rdhup_out", (rv & (POLLIN | POLLRDHUP | POLLOUT | POLLHUP)) == (POLLIN | POLLRDHUP | POLLOUT), "revents %#x", rv);
	pipes = 0;
	EXPECT_ERR("write_after_shutdown_epipe", write(c, "x", 1), EPIPE);
	EXPECT_EQ("write_after_shutdown_sigpipe", pipes, 1);
	EXPECT_ERR("send_nosignal_epipe", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_EQ("send_nosignal_no_sigpipe", pipes, 1);
	EXPECT_EQ("half_closed_peer_still_writes", write(s, "back", 4), 4);
	EXPECT_EQ("half_closed_reads", read(c, buf, sizeof(buf)), 4);
	shutdown(s, SHUT_WR);
	usleep(10000);
	rv = revents(c, POLLIN | POLLOUT, 0);
	CHECKF("both_shut_polls_hup", rv & POLLHUP, "revents %#x", rv);
	close(c);
	close(s);

	/* Peer closes: EOF, then the first write goes, the next EPIPE. */
	pair4(l, &c, &s);
	close(s);
	EXPECT_EQ("read_after_peer_close_eof", read(c, buf, sizeof(buf)), 0);
	EXPECT_EQ("first_write_after_peer_close", write(c, "x", 1), 1);
	usleep(10000);
	rv = revents(c, POLLIN | POLLOUT, 0);
	CHECKF("after_reset_polls_err_hup", (rv & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP), "revents %#x", rv);
	pipes = 0;
	EXPECT_ERR("second_write_after_peer_close_epipe", write(c, "x", 1), EPIPE);
	EXPECT_EQ("second_write_sigpipe", pipes, 1);
	EXPECT_ERR("getpeername_after_reset_enotconn", getpeername(c, (struct sockaddr *)&(struct sockaddr_in){0}, &(socklen_t){16}), ENOTCONN);
	close(c);

	/* Close with unread data resets: data, then ECONNRESET, then EOF. */
	pair4(l, &c, &s);
	write(c, "unread", 6);
	write(s, "abc", 3);
	usleep(10000);
	close(s);
	usleep(10000);
	EXPECT_EQ("reset_data_first", read(c, buf, sizeof(buf)), 3);
	EXPECT_ERR("reset_then_econnreset", read(c, buf, sizeof(buf)), ECONNRESET);
	EXPECT_EQ("reset_then_eof", read(c, buf, sizeof(buf)), 0);
	close(c);
	pair4(l, &c, &s);
	write(c, "unread", 6);
	usleep(10000);
	close(s);
	usleep(10000);
	EXPECT_ERR("reset_write_econnreset", send(c, "x", 1, MSG_NOSIGNAL), ECONNRESET);
	EXPECT_ERR("reset_write_then_epipe", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(c);

	/* SO_LINGER 0: close resets. */
	pair4(l, &c, &s);
	struct linger lg = {1, 0};
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s);
	usleep(10000);
	EXPECT_ERR("linger0_close_resets", read(c, buf, sizeof(buf)), ECONNRESET);
	close(c);

	/* A listener closed with a connection not accepted resets it. */
	int l2 = listener4(4);
	struct sockaddr_in a2 = lo4(port_of(l2));
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a2, sizeof(a2));
	close(l2);
	usleep(10000);
	EXPECT_ERR("unaccepted_reset_by_listener_close", read(c, buf, sizeof(buf)), ECONNRESET);
	close(c);

	/* Accepting a connection whose client already left. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(port_of(l));
	connect(c, (struct sockaddr *)&a, sizeof(a));
	write(c, "bye", 3);
	close(c);
	usleep(10000);
	s = accept(l, NULL, NULL);
	EXPECT_EQ("accept_after_client_left_reads_data", read(s, buf, sizeof(buf)), 3);
	EXPECT_EQ("accept_after_client_left_eof", read(s, buf, sizeof(buf)), 0);
	close(s);

	/* epoll sees the data arrive, and the close. */
	pair4(l, &c, &s);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = s}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	EXPECT_EQ("epoll_idle", epoll_wait(ep, &out, 1, 0), 0);
	write(c, "e", 1);
	CHECK("epoll_in", epoll_wait(ep, &out, 1, 1000) == 1 && (out.events & EPOLLIN));
	EXPECT_EQ("epoll_edge_once", epoll_wait(ep, &out, 1, 0), 0);
	close(c);
	CHECK("epoll_rdhup", epoll_wait(ep, &out, 1, 1000) == 1 && (out.events & EPOLLRDHUP));
	close(ep);
	close(s);
	close(l);

	/* A fresh socket polls POLLOUT|POLLHUP; a listener without a
	 * connection nothing. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_EQ("fresh_socket_revents", revents(c, POLLIN | POLLOUT, 0) & (POLLIN | POLLOUT | POLLHUP | POLLERR), POLLOUT | POLLHUP);
	close(c);
	l = listener4(1);
	EXPECT_EQ("idle_listener_revents", revents(l, POLLIN | POLLOUT, 0), 0);
	a = lo4(port_of(l));
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	CHECK("listener_with_connection_pollin", revents(l, POLLIN, 1000) & POLLIN);
	close(c);
	close(l);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	creation();
	binding();
	connecting();
	data();
	endings();
	return 0;
}
