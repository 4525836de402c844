/* SO_PASSCRED and SCM_CREDENTIALS on AF_UNIX sockets. */
#include "harness.h"
#include <sys/socket.h>

static int recv_creds(int fd, struct ucred *out)
{
	char c;
	struct iovec iov = {&c, 1};
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
	if (recvmsg(fd, &mh, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_CREDENTIALS)
		return 0;
	memcpy(out, CMSG_DATA(cm), sizeof(*out));
	return 1;
}

int main(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int on = 1, v = -1;
	socklen_t l = sizeof(v);
	EXPECT_EQ("passcred_default_off", (getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l), v), 0);
	EXPECT_EQ("set_passcred", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	EXPECT_EQ("passcred_on", (getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l), v), 1);
	struct ucred cr = {0, 99, 99};
	write(sv[0], "a", 1);
	EXPECT_EQ("creds_received", recv_creds(sv[1], &cr), 1);
	CHECK("creds_are_sender", cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid());

	/* explicit SCM_CREDENTIALS with our own values */
	char c = 'b';
	struct iovec iov = {&c, 1};
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(struct ucred));
	struct ucred mine = {getpid(), getuid(), getgid()};
	memcpy(CMSG_DATA(cm), &mine, sizeof(mine));
	EXPECT_EQ("sendmsg_credentials", sendmsg(sv[0], &mh, 0), 1);
	EXPECT_EQ("explicit_creds_received", recv_creds(sv[1], &cr), 1);
	CHECK("explicit_creds_values", cr.pid == getpid() && cr.uid == getuid());

	/* without SO_PASSCRED no credentials arrive */
	on = 0;
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	write(sv[0], "c", 1);
	EXPECT_EQ("no_creds_without_passcred", recv_creds(sv[1], &cr), 0);
	cm->cmsg_len = CMSG_LEN(4);
	EXPECT_ERR("short_credentials_einval", sendmsg(sv[0], &mh, 0), EINVAL);
	return 0;
}
