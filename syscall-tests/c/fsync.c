/* fsync and fdatasync: files and directories succeed; pipes, sockets,
 * devices and anonymous files have no fsync (EINVAL); bad fds EBADF. */
#include "harness.h"
#include <sys/eventfd.h>
#include <sys/socket.h>

static void both_einval(const char *fsync_name, const char *fdatasync_name, int fd)
{
	EXPECT_ERR(fsync_name, fsync(fd), EINVAL);
	EXPECT_ERR(fdatasync_name, fdatasync(fd), EINVAL);
}

int main(void)
{
	char path[64];
	int p[2], s[2];
	pipe(p);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	both_einval("pipe_read_fsync_einval", "pipe_read_fdatasync_einval", p[0]);
	both_einval("pipe_write_fsync_einval", "pipe_write_fdatasync_einval", p[1]);
	both_einval("socket_fsync_einval", "socket_fdatasync_einval", s[0]);
	both_einval("dev_null_fsync_einval", "dev_null_fdatasync_einval", open("/dev/null", O_WRONLY));
	both_einval("eventfd_fsync_einval", "eventfd_fdatasync_einval", eventfd(0, 0));

	int f = open(h_tmp(path, sizeof path, "fsync"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	EXPECT_OK("create", f);
	EXPECT_EQ("write", write(f, "data", 4), 4);
	EXPECT_EQ("file_fsync", fsync(f), 0);
	EXPECT_EQ("file_fdatasync", fdatasync(f), 0);
	int d = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_EQ("dir_fsync", fsync(d), 0);
	EXPECT_ERR("bad_fd_ebadf", fsync(h_closed_fd()), EBADF);
	int o = open(path, O_PATH);
	EXPECT_ERR("o_path_ebadf", fsync(o), EBADF);
	unlink(path);
	return 0;
}
