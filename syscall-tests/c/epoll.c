/* eventfd and epoll: level, edge and one-shot reports, blocking waits,
 * and the errno of each kind of bad input. */
#include "harness.h"
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static int wake_fd;
static void *waker(void *a)
{
	(void)a;
	usleep(50000);
	uint64_t one = 1;
	if (write(wake_fd, &one, 8) != 8)
		return (void *)1;
	return NULL;
}

int main(void)
{
	uint64_t v = 0;
	char small[4];

	/* eventfd */
	int e = eventfd(3, EFD_NONBLOCK);
	EXPECT_OK("eventfd_create", e);
	EXPECT_EQ("eventfd_read_initial", read(e, &v, 8), 8);
	EXPECT_EQ("eventfd_initial_value", v, 3);
	EXPECT_ERR("eventfd_empty_eagain", read(e, &v, 8), EAGAIN);
	v = 5;
	EXPECT_EQ("eventfd_write", write(e, &v, 8), 8);
	v = 2;
	EXPECT_EQ("eventfd_write_adds", write(e, &v, 8), 8);
	EXPECT_EQ("eventfd_read_sum", read(e, &v, 8), 8);
	EXPECT_EQ("eventfd_sum_value", v, 7);
	EXPECT_ERR("eventfd_short_read_einval", read(e, small, 4), EINVAL);
	v = UINT64_MAX;
	EXPECT_ERR("eventfd_write_max_einval", write(e, &v, 8), EINVAL);
	EXPECT_ERR("eventfd_bad_flags_einval", syscall(SYS_eventfd2, 0, 0x10), EINVAL);
	int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	EXPECT_EQ("semaphore_read", read(s, &v, 8), 8);
	EXPECT_EQ("semaphore_reads_one", v, 1);
	read(s, &v, 8);
	EXPECT_ERR("semaphore_drained_eagain", read(s, &v, 8), EAGAIN);

	/* epoll errors */
	EXPECT_ERR("create1_bad_flags_einval", epoll_create1(1), EINVAL);
	EXPECT_ERR("create_zero_size_einval", syscall(SYS_epoll_create, 0), EINVAL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	EXPECT_OK("create1", ep);
	int p[2];
	pipe(p);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
	EXPECT_EQ("ctl_add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	EXPECT_ERR("ctl_add_twice_eexist", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	EXPECT_ERR("ctl_mod_missing_enoent", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
	EXPECT_ERR("ctl_del_missing_enoent", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev), ENOENT);
	EXPECT_ERR("ctl_self_einval", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	EXPECT_ERR("ctl_bad_fd_ebadf", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	EXPECT_ERR("ctl_not_epoll_einval", epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	EXPECT_ERR("ctl_bad_op_einval", epoll_ctl(ep, 99, p[1], &ev), EINVAL);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/st_epoll_%d", getpid());
	int reg = open(path, O_CREAT | O_RDWR, 0600);
	unlink(path);
	EXPECT_ERR("ctl_regular_file_eperm", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev), EPERM);
	EXPECT_ERR("ctl_event_efault", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (void *)1), EFAULT);
	struct epoll_event out[4];
	EXPECT_ERR("wait_zero_max_einval", epoll_wait(ep, out, 0, 0), EINVAL);
	EXPECT_ERR("wait_not_epoll_einval", epoll_wait(p[0], out, 4, 0), EINVAL);
	EXPECT_ERR("wait_bad_fd_ebadf", epoll_wait(999, out, 4, 0), EBADF);

	/* level-triggered */
	EXPECT_EQ("lt_nothing_ready", epoll_wait(ep, out, 4, 0), 0);
	write(p[1], "ab", 2);
	EXPECT_EQ("lt_ready", epoll_wait(ep, out, 4, 0), 1);
	CHECK("lt_data_and_events", out[0].data.u64 == 42 && (out[0].events & EPOLLIN));
	EXPECT_EQ("lt_reports_again", epoll_wait(ep, out, 4, 0), 1);
	EXPECT_ERR("wait_out_efault", epoll_wait(ep, (void *)1, 4, 0), EFAULT);

	/* edge-triggered */
	ev.events = EPOLLIN | EPOLLET;
	EXPECT_EQ("ctl_mod_et", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	EXPECT_EQ("et_first_report", epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ("et_no_second_report", epoll_wait(ep, out, 4, 0), 0);
	write(p[1], "c", 1);
	EXPECT_EQ("et_new_data_reports", epoll_wait(ep, out, 4, 0), 1);

	/* one-shot */
	ev.events = EPOLLIN | EPOLLONESHOT;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	EXPECT_EQ("oneshot_report", epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ("oneshot_disarmed", epoll_wait(ep, out, 4, 0), 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	EXPECT_EQ("oneshot_rearmed", epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ("ctl_del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
	EXPECT_EQ("deleted_not_reported", epoll_wait(ep, out, 4, 0), 0);

	/* hang-up and closed fds */
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	close(p[1]);
	EXPECT_EQ("hup_reported", epoll_wait(ep, out, 4, 0), 1);
	CHECK("hup_bit", out[0].events & EPOLLHUP);
	close(p[0]);
	EXPECT_EQ("closed_fd_dropped", epoll_wait(ep, out, 4, 0), 0);

	/* timeout and blocking wake-up through an eventfd */
	long long t0 = h_now_ns();
	EXPECT_EQ("timeout_expires", epoll_wait(ep, out, 4, 30), 0);
	CHECK("timeout_waited", h_now_ns() - t0 >= 25000000LL);
	wake_fd = eventfd(0, 0);
	ev.events = EPOLLIN;
	ev.data.u64 = 7;
	epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev);
	pthread_t th;
	pthread_create(&th, NULL, waker, NULL);
	EXPECT_EQ("blocking_wait_woken", epoll_wait(ep, out, 4, 5000), 1);
	CHECK("woken_by_eventfd", out[0].data.u64 == 7);
	pthread_join(th, NULL);
	sigset_t mask;
	sigemptyset(&mask);
	EXPECT_EQ("pwait_with_mask", epoll_pwait(ep, out, 4, 0, &mask), 1);
	EXPECT_ERR("pwait_bad_sigsetsize_einval", syscall(SYS_epoll_pwait, ep, out, 4, 0, &mask, 4), EINVAL);
	return 0;
}
