/* pidfd_open, pidfd_send_signal, waitid(P_PIDFD), clone3 with CLONE_PIDFD. */
#include "harness.h"
#include <linux/sched.h>
#include <poll.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	int fd = syscall(SYS_pidfd_open, c, 0);
	EXPECT_OK("pidfd_open", fd);
	CHECK("pidfd_cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	EXPECT_EQ("running_not_readable", poll(&p, 1, 0), 0);
	EXPECT_EQ("send_signal", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0), 0);
	EXPECT_EQ("exited_readable", poll(&p, 1, 5000), 1);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("waitid_pidfd", waitid(P_PIDFD, fd, &si, WEXITED), 0);
	CHECK("waitid_pidfd_status", si.si_pid == c && si.si_code == CLD_KILLED && si.si_status == SIGTERM);
	EXPECT_ERR("send_to_reaped_esrch", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0), ESRCH);
	EXPECT_ERR("open_bad_flags_einval", syscall(SYS_pidfd_open, getpid(), 1), EINVAL);
	EXPECT_ERR("open_missing_esrch", syscall(SYS_pidfd_open, 0x3ffffff0, 0), ESRCH);
	EXPECT_ERR("open_zero_einval", syscall(SYS_pidfd_open, 0, 0), EINVAL);
	EXPECT_ERR("send_bad_fd_ebadf", syscall(SYS_pidfd_send_signal, 999, SIGTERM, NULL, 0), EBADF);
	EXPECT_ERR("send_not_pidfd_ebadf", syscall(SYS_pidfd_send_signal, 0, SIGTERM, NULL, 0), EBADF);
	EXPECT_ERR("send_bad_flags_einval", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0x100), EINVAL);

	/* clone3 */
	int pidfd = -1;
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	fflush(stdout);
	long r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(5);
	CHECKF("clone3_child", r > 0, "r %ld errno %d", r, errno);
	CHECK("clone3_pidfd_set", pidfd >= 0);
	int st = 0;
	EXPECT_EQ("clone3_wait", waitpid(r, &st, 0), r);
	CHECK("clone3_child_status", WIFEXITED(st) && WEXITSTATUS(st) == 5);
	EXPECT_ERR("clone3_small_size_einval", syscall(SYS_clone3, &ca, 32), EINVAL);
	EXPECT_ERR("clone3_efault", syscall(SYS_clone3, (void *)1, sizeof(ca)), EFAULT);
	ca.flags = CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	EXPECT_ERR("clone3_pidfd_thread_einval", syscall(SYS_clone3, &ca, sizeof(ca)), EINVAL);
	return 0;
}
