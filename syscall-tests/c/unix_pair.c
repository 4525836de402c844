/* AF_UNIX socket pairs: stream, datagram and seqpacket semantics, shutdown,
 * EPIPE and SIGPIPE, fd passing with SCM_RIGHTS, socket options. */
#include "harness.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

static volatile int pipes_hit;
static void on_pipe(int s) { (void)s; pipes_hit++; }

int main(void)
{
	int sv[2];
	char buf[64];
	EXPECT_EQ("stream_pair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT_EQ("stream_write", write(sv[0], "hello", 5), 5);
	EXPECT_EQ("stream_write2", write(sv[0], "world", 5), 5);
	EXPECT_EQ("stream_read_coalesces", read(sv[1], buf, sizeof(buf)), 10);
	EXPECT_EQ("stream_back", send(sv[1], "x", 1, 0), 1);
	EXPECT_EQ("stream_recv_other_way", recv(sv[0], buf, 1, 0), 1);
	EXPECT_EQ("peek_keeps_data", (send(sv[0], "pk", 2, 0), recv(sv[1], buf, 2, MSG_PEEK)), 2);
	EXPECT_EQ("after_peek_still_there", recv(sv[1], buf, 2, 0), 2);
	EXPECT_ERR("dontwait_empty_eagain", recv(sv[1], buf, 2, MSG_DONTWAIT), EAGAIN);
	int so = -1;
	socklen_t sl = sizeof(so);
	EXPECT_EQ("getsockopt_type", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &so, &sl), 0);
	EXPECT_EQ("so_type_stream", so, SOCK_STREAM);
	struct ucred cr;
	sl = sizeof(cr);
	EXPECT_EQ("getsockopt_peercred", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &sl), 0);
	CHECK("peercred_is_us", cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid());
	struct sockaddr_un sa;
	sl = sizeof(sa);
	EXPECT_EQ("getsockname_unnamed", getsockname(sv[0], (struct sockaddr *)&sa, &sl), 0);
	CHECK("unnamed_family_only", sl == sizeof(sa_family_t) && sa.sun_family == AF_UNIX);

	/* shutdown */
	EXPECT_EQ("shutdown_wr", shutdown(sv[0], SHUT_WR), 0);
	EXPECT_EQ("peer_reads_eof", read(sv[1], buf, sizeof(buf)), 0);
	EXPECT_ERR("shutdown_bad_how_einval", shutdown(sv[0], 7), EINVAL);
	signal(SIGPIPE, on_pipe);
	EXPECT_ERR("write_after_shutdown_epipe", write(sv[0], "x", 1), EPIPE);
	EXPECT_EQ("sigpipe_raised", pipes_hit, 1);
	EXPECT_ERR("nosignal_epipe", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_EQ("nosignal_no_sigpipe", pipes_hit, 1);
	close(sv[0]);
	close(sv[1]);

	/* closed peer */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(sv[1]);
	struct pollfd pf = {.fd = sv[0], .events = POLLIN | POLLOUT};
	EXPECT_EQ("poll_closed_peer", poll(&pf, 1, 0), 1);
	CHECK("closed_peer_readable_eof", (pf.revents & POLLIN) && read(sv[0], buf, 1) == 0);
	EXPECT_ERR("write_closed_peer_epipe", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	close(sv[0]);

	/* datagrams keep boundaries and truncate */
	EXPECT_EQ("dgram_pair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	send(sv[0], "abc", 3, 0);
	send(sv[0], "defgh", 5, 0);
	EXPECT_EQ("dgram_one_message", recv(sv[1], buf, sizeof(buf), 0), 3);
	EXPECT_EQ("dgram_truncated", recv(sv[1], buf, 2, 0), 2);
	send(sv[0], "123456", 6, 0);
	EXPECT_EQ("dgram_msg_trunc_full_length", recv(sv[1], buf, 2, MSG_TRUNC), 6);
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ("seqpacket_pair", socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	CHECK("cloexec_set", fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	CHECK("nonblock_set", fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	EXPECT_ERR("seqpacket_empty_eagain", read(sv[1], buf, 1), EAGAIN);
	close(sv[0]);
	close(sv[1]);

	/* fd passing */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int p[2];
	pipe(p);
	write(p[1], "via-fd", 6);
	char c = 'm';
	struct iovec iov = {&c, 1};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
	EXPECT_EQ("sendmsg_rights", sendmsg(sv[0], &mh, 0), 1);
	close(p[0]);
	char r = 0;
	struct iovec riov = {&r, 1};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ru;
	struct msghdr rh = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = ru.b, .msg_controllen = sizeof(ru.b)};
	EXPECT_EQ("recvmsg_rights", recvmsg(sv[1], &rh, MSG_CMSG_CLOEXEC), 1);
	struct cmsghdr *rc = CMSG_FIRSTHDR(&rh);
	CHECK("got_rights_cmsg", rc && rc->cmsg_level == SOL_SOCKET && rc->cmsg_type == SCM_RIGHTS);
	int got = -1;
	if (rc)
		memcpy(&got, CMSG_DATA(rc), sizeof(int));
	CHECK("passed_fd_cloexec", got >= 0 && (fcntl(got, F_GETFD) & FD_CLOEXEC));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ("read_through_passed_fd", read(got, buf, sizeof(buf)), 6);
	CHECK("passed_fd_contents", memcmp(buf, "via-fd", 6) == 0);
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	int bad = 999;
	memcpy(CMSG_DATA(cm), &bad, sizeof(int));
	EXPECT_ERR("sendmsg_bad_fd_ebadf", sendmsg(sv[0], &mh, 0), EBADF);

	/* bad input */
	EXPECT_ERR("socketpair_inet_eopnotsupp", socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	EXPECT_ERR("socketpair_unsupported_type", socketpair(AF_UNIX, 9, 0, sv), ESOCKTNOSUPPORT);
	EXPECT_ERR("socketpair_type_out_of_range_einval", socketpair(AF_UNIX, 11, 0, sv), EINVAL);
	EXPECT_ERR("socketpair_bad_proto", socketpair(AF_UNIX, SOCK_STREAM, 7, sv), EPROTONOSUPPORT);
	EXPECT_ERR("socketpair_efault", socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)1), EFAULT);
	EXPECT_ERR("send_not_socket_enotsock", send(p[1], "x", 1, 0), ENOTSOCK);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	EXPECT_ERR("getsockopt_bad_level", getsockopt(sv[0], 999, SO_TYPE, &so, &sl), EOPNOTSUPP);
	return 0;
}
