/* AF_INET UDP on loopback: datagrams and their source addresses, message
 * boundaries, MSG_PEEK/MSG_TRUNC, the size limit, connect (default peer,
 * filtering, ECONNREFUSED after sending to a closed port, AF_UNSPEC),
 * shutdown, a bounded receive queue, poll, and errno cases. */
#include "harness.h"
#include "inet_util.h"
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* A UDP socket bound to 127.0.0.1, ephemeral port. */
static int bound(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo4(0);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	return s;
}

static int revents(int fd, int events, int timeout)
{
	struct pollfd p = {fd, events, 0};
	if (poll(&p, 1, timeout) < 0)
		return -1;
	return p.revents;
}

struct later {
	int fd;
	struct sockaddr_in to;
};

static void *send_later(void *p)
{
	struct later *l = p;
	usleep(50000);
	sendto(l->fd, "late", 4, 0, (struct sockaddr *)&l->to, sizeof(l->to));
	return NULL;
}

static char big[70000];

int main(void)
{
	char buf[256];
	int r = bound(), rp = port_of(r);
	struct sockaddr_in to = lo4(rp), from;
	socklen_t fl;
	int u;
	EXPECT_OK("socket_udp", u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
	int v = -1;
	socklen_t vl = sizeof(v);
	getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &vl);
	EXPECT_EQ("so_type_dgram", v, SOCK_DGRAM);
	getsockopt(u, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
	EXPECT_EQ("so_protocol_udp", v, IPPROTO_UDP);
	CHECK("fresh_polls_writable", (revents(u, POLLIN | POLLOUT, 0) & (POLLIN | POLLOUT)) == POLLOUT);
	EXPECT_ERR("send_unconnected_edestaddrreq", send(u, "x", 1, 0), EDESTADDRREQ);
	EXPECT_ERR("write_unconnected_edestaddrreq", write(u, "x", 1), EDESTADDRREQ);
	EXPECT_ERR("recv_empty_eagain", recv(u, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT_ERR("sendto_short_len_einval", sendto(u, "x", 1, 0, (struct sockaddr *)&to, 15), EINVAL);
	struct sockaddr_in bad = to;
	bad.sin_family = AF_INET6;
	EXPECT_ERR("sendto_v6_family_eafnosupport", sendto(u, "x", 1, 0, (struct sockaddr *)&bad, sizeof(bad)), EAFNOSUPPORT);
	bad = to;
	bad.sin_port = 0;
	EXPECT_ERR("sendto_port0_einval", sendto(u, "x", 1, 0, (struct sockaddr *)&bad, sizeof(bad)), EINVAL);
	EXPECT_ERR("sendto_efault_address", sendto(u, "x", 1, 0, (struct sockaddr *)1, sizeof(to)), EFAULT);
	EXPECT_ERR("listen_eopnotsupp", listen(u, 1), EOPNOTSUPP);
	EXPECT_ERR("accept_eopnotsupp", accept(u, NULL, NULL), EOPNOTSUPP);

	/* Datagrams. */
	EXPECT_EQ("sendto", sendto(u, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	int up = port_of(u);
	CHECKF("sendto_autobinds", up >= 32768 && up <= 60999, "port %d", up);
	EXPECT_EQ("sendto_empty", sendto(u, "", 0, 0, (struct sockaddr *)&to, sizeof(to)), 0);
	EXPECT_EQ("sendto_second", sendto(u, "world!", 6, 0, (struct sockaddr *)&to, sizeof(to)), 6);
	CHECK("data_polls_readable", revents(r, POLLIN, 1000) & POLLIN);
	int n = -1;
	ioctl(r, FIONREAD, &n);
	EXPECT_EQ("fionread_next_datagram", n, 5);
	fl = sizeof(from);
	EXPECT_EQ("recvfrom_peek", recvfrom(r, buf, 2, MSG_PEEK, (struct sockaddr *)&from, &fl), 2);
	fl = sizeof(from);
	memset(&from, 0, sizeof(from));
	EXPECT_EQ("recvfrom_trunc_full_length", recvfrom(r, buf, 2, MSG_TRUNC, (struct sockaddr *)&from, &fl), 5);
	CHECK("recvfrom_source", fl == sizeof(from) && from.sin_family == AF_INET && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(from.sin_port) == up);
	EXPECT_EQ("recv_empty_datagram", recv(r, buf, sizeof(buf), 0), 0);
	EXPECT_EQ("read_short_drops_rest", read(r, buf, 3), 3);
	EXPECT_ERR("rest_dropped", recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	sendto(u, "abcdef", 6, 0, (struct sockaddr *)&to, sizeof(to));
	char x1[2], x2[10];
	struct iovec iv[2] = {{x1, 2}, {x2, 10}};
	EXPECT_EQ("readv_one_datagram", readv(r, iv, 2), 6);
	CHECK("readv_scatters", memcmp(x1, "ab", 2) == 0 && memcmp(x2, "cdef", 4) == 0);
	sendto(u, "0123456789", 10, 0, (struct sockaddr *)&to, sizeof(to));
	struct msghdr mh;
	struct sockaddr_in nm;
	struct iovec mv = {buf, 4};
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &mv;
	mh.msg_iovlen = 1;
	mh.msg_name = &nm;
	mh.msg_namelen = sizeof(nm);
	EXPECT_EQ("recvmsg_truncated", recvmsg(r, &mh, 0), 4);
	CHECK("recvmsg_msg_trunc_flag", mh.msg_flags & MSG_TRUNC);
	CHECK("recvmsg_name", mh.msg_namelen == sizeof(nm) && ntohs(nm.sin_port) == up);
	struct iovec sv[2] = {{"ab", 2}, {"cd", 2}};
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = sv;
	mh.msg_iovlen = 2;
	mh.msg_name = &to;
	mh.msg_namelen = sizeof(to);
	EXPECT_EQ("sendmsg_gathers", sendmsg(u, &mh, 0), 4);
	EXPECT_EQ("sendmsg_one_datagram", recv(r, buf, sizeof(buf), 0), 4);
	EXPECT_EQ("max_datagram", sendto(u, big, 65507, 0, (struct sockaddr *)&to, sizeof(to)), 65507);
	EXPECT_ERR("too_big_emsgsize", sendto(u, big, 65508, 0, (struct sockaddr *)&to, sizeof(to)), EMSGSIZE);
	EXPECT_EQ("max_datagram_received", recv(r, big, sizeof(big), 0), 65507);
	struct sockaddr_in any = to;
	any.sin_addr.s_addr = htonl(INADDR_ANY);
	EXPECT_EQ("sendto_any_address", sendto(u, "z", 1, 0, (struct sockaddr *)&any, sizeof(any)), 1);
	EXPECT_EQ("sendto_any_reaches_loopback", recv(r, buf, sizeof(buf), 0), 1);
	EXPECT_EQ("sendto_closed_port_unconnected", sendto(u, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}, sizeof(to)), 1);
	usleep(10000);
	EXPECT_EQ("unconnected_no_error_after_closed_port", sendto(u, "y", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	recv(r, buf, sizeof(buf), 0);

	/* Connected sockets: a default peer, and only its datagrams. */
	int c = bound(), cp = port_of(c);
	EXPECT_EQ("connect", connect(c, (struct sockaddr *)&to, sizeof(to)), 0);
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	EXPECT_EQ("getpeername", getpeername(c, (struct sockaddr *)&peer, &pl), 0);
	CHECK("getpeername_is_target", pl == sizeof(peer) && peer.sin_port == htons(rp));
	EXPECT_EQ("send_connected", send(c, "one", 3, 0), 3);
	EXPECT_EQ("write_connected", write(c, "two", 3), 3);
	EXPECT_EQ("connected_datagrams_arrive", recv(r, buf, sizeof(buf), 0) + recv(r, buf, sizeof(buf), 0), 6);
	struct sockaddr_in ct = lo4(cp);
	sendto(u, "stranger", 8, 0, (struct sockaddr *)&ct, sizeof(ct));
	sendto(r, "peer", 4, 0, (struct sockaddr *)&ct, sizeof(ct));
	EXPECT_EQ("connected_takes_peer_datagram", recv(c, buf, sizeof(buf), 0), 4);
	EXPECT_ERR("connected_dropped_stranger", recv(c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	struct sockaddr_in ua = lo4(up);
	EXPECT_EQ("connected_sendto_other_address", sendto(c, "o", 1, 0, (struct sockaddr *)&ua, sizeof(ua)), 1);
	EXPECT_EQ("connected_sendto_other_arrives", recv(u, buf, sizeof(buf), 0), 1);

	/* The peer goes away: the next call reports ECONNREFUSED, once. */
	close(r);
	EXPECT_EQ("send_to_closed_peer", send(c, "x", 1, 0), 1);
	int rv = revents(c, POLLIN | POLLOUT, 1000);
	CHECKF("refused_polls_pollerr", rv & POLLERR, "revents %#x", rv);
	EXPECT_ERR("send_after_refused_econnrefused", send(c, "x", 1, 0), ECONNREFUSED);
	EXPECT_EQ("send_after_error_reported", send(c, "x", 1, 0), 1);
	revents(c, POLLIN, 1000);
	EXPECT_ERR("recv_after_refused_econnrefused", recv(c, buf, sizeof(buf), MSG_DONTWAIT), ECONNREFUSED);
	EXPECT_ERR("recv_after_error_eagain", recv(c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	send(c, "x", 1, 0);
	revents(c, POLLIN, 1000);
	int err = -1;
	socklen_t el = sizeof(err);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
	EXPECT_EQ("so_error_econnrefused", err, ECONNREFUSED);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
	EXPECT_EQ("so_error_cleared", err, 0);
	close(c);

	/* AF_UNSPEC dissolves; an automatic port goes back. */
	r = bound();
	to = lo4(port_of(r));
	c = socket(AF_INET, SOCK_DGRAM, 0);
	connect(c, (struct sockaddr *)&to, sizeof(to));
	struct sockaddr_in name;
	socklen_t nl = sizeof(name);
	getsockname(c, (struct sockaddr *)&name, &nl);
	CHECK("connect_autobinds_loopback", name.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(name.sin_port) >= 32768);
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	EXPECT_EQ("connect_unspec", connect(c, &unspec, sizeof(unspec)), 0);
	EXPECT_ERR("getpeername_after_unspec_enotconn", getpeername(c, (struct sockaddr *)&peer, &pl), ENOTCONN);
	nl = sizeof(name);
	getsockname(c, (struct sockaddr *)&name, &nl);
	CHECK("unspec_releases_automatic_port", name.sin_port == 0 && name.sin_addr.s_addr == 0);
	close(c);
	c = bound();
	connect(c, (struct sockaddr *)&to, sizeof(to));
	connect(c, &unspec, sizeof(unspec));
	EXPECT_EQ("unspec_releases_port_bound_as_0", port_of(c), 0);
	int bp = port_of(c = bound());
	close(c);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in named = lo4(bp);
	bind(c, (struct sockaddr *)&named, sizeof(named));
	connect(c, (struct sockaddr *)&to, sizeof(to));
	connect(c, &unspec, sizeof(unspec));
	nl = sizeof(name);
	getsockname(c, (struct sockaddr *)&name, &nl);
	CHECK("unspec_keeps_named_port_and_address", ntohs(name.sin_port) == bp && name.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	close(c);

	/* Shutdown. */
	c = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT_ERR("shutdown_unconnected_enotconn", shutdown(c, SHUT_RDWR), ENOTCONN);
	close(c);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	connect(c, (struct sockaddr *)&to, sizeof(to));
	EXPECT_EQ("shutdown_rd", shutdown(c, SHUT_RD), 0);
	EXPECT_ERR("shut_rd_nonblocking_eagain", recv(c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT_EQ("shut_rd_blocking_returns_0", recv(c, buf, sizeof(buf), 0), 0);
	rv = revents(c, POLLIN | POLLOUT | POLLRDHUP, 0);
	CHECKF("shut_rd_polls_in_rdhup", (rv & (POLLIN | POLLRDHUP | POLLOUT | POLLHUP)) == (POLLIN | POLLRDHUP | POLLOUT), "revents %#x", rv);
	EXPECT_EQ("shutdown_wr", shutdown(c, SHUT_WR), 0);
	EXPECT_ERR("shut_wr_send_epipe", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK("shut_both_polls_hup", revents(c, POLLIN, 0) & POLLHUP);
	EXPECT_ERR("shutdown_bad_how_einval", shutdown(c, 3), EINVAL);
	close(c);

	/* A blocking receive woken by a datagram. */
	struct later l = {u, to};
	pthread_t th;
	pthread_create(&th, NULL, send_later, &l);
	EXPECT_EQ("blocking_recv_woken", recv(r, buf, sizeof(buf), 0), 4);
	pthread_join(th, NULL);
	struct timeval tv = {0, 50000};
	setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	EXPECT_ERR("rcvtimeo_eagain", recv(r, buf, sizeof(buf), 0), EAGAIN);

	/* The receive queue is bounded: datagrams past SO_RCVBUF are dropped. */
	int sent = 0, got = 0;
	for (int i = 0; i < 2000; i++)
		if (sendto(u, big, 1000, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) == 1000)
			sent++;
	while (recv(r, big, sizeof(big), MSG_DONTWAIT) == 1000)
		got++;
	EXPECT_EQ("flood_sends_succeed", sent, 2000);
	CHECKF("flood_queue_bounded", got > 10 && got < 1000, "%d of %d queued", got, sent);

	/* sendmmsg and recvmmsg: a message each. */
	struct mmsghdr mm[3];
	struct iovec mv3[3] = {{"m1", 2}, {"mm2", 3}, {"mmm3", 4}};
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &mv3[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &to;
		mm[i].msg_hdr.msg_namelen = sizeof(to);
	}
	EXPECT_EQ("sendmmsg", sendmmsg(u, mm, 3, 0), 3);
	CHECK("sendmmsg_lengths", mm[0].msg_len == 2 && mm[1].msg_len == 3 && mm[2].msg_len == 4);
	char rb[3][16];
	struct iovec rv3[3] = {{rb[0], 16}, {rb[1], 16}, {rb[2], 16}};
	struct mmsghdr rm[4];
	memset(rm, 0, sizeof(rm));
	for (int i = 0; i < 3; i++) {
		rm[i].msg_hdr.msg_iov = &rv3[i];
		rm[i].msg_hdr.msg_iovlen = 1;
	}
	rm[3] = rm[2];
	EXPECT_EQ("recvmmsg_waitforone", recvmmsg(r, rm, 4, MSG_WAITFORONE, NULL), 3);
	CHECK("recvmmsg_lengths", rm[0].msg_len == 2 && rm[1].msg_len == 3 && rm[2].msg_len == 4 && memcmp(rb[2], "mmm3", 4) == 0);
	EXPECT_ERR("recvmmsg_nothing_eagain", recvmmsg(r, rm, 2, MSG_DONTWAIT, NULL), EAGAIN);

	/* SO_REUSEADDR lets two sockets share a port. */
	int one = 1;
	int a1 = socket(AF_INET, SOCK_DGRAM, 0), a2 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ba = lo4(0);
	bind(a1, (struct sockaddr *)&ba, sizeof(ba));
	ba.sin_port = htons(port_of(a1));
	EXPECT_ERR("bind_taken_eaddrinuse", bind(a2, (struct sockaddr *)&ba, sizeof(ba)), EADDRINUSE);
	setsockopt(a1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(a2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	EXPECT_EQ("bind_reuseaddr_shares", bind(a2, (struct sockaddr *)&ba, sizeof(ba)), 0);
	close(a1);
	close(a2);
	close(u);
	close(r);
	return 0;
}
