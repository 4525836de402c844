/* POSIX message queues: mq_open/mq_unlink, send and receive by priority,
 * attributes, blocking, timeouts, notification, poll, the mqueue
 * filesystem's view of a queue, and the errno of each kind of bad input. */
#include "harness.h"
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mount.h>

static char name[64], name2[64];
static volatile sig_atomic_t notified_sig, notified_code, notified_val;

static void on_notify(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	notified_sig = sig;
	notified_code = si->si_code;
	notified_val = si->si_value.sival_int;
}

static mqd_t q_open(const char *n, int flags, long maxmsg, long msgsize)
{
	struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
	return mq_open(n, flags, 0600, &a);
}

static void *late_sender(void *arg)
{
	usleep(50000);
	mq_send(*(mqd_t *)arg, "late", 4, 3);
	return NULL;
}

int main(void)
{
	snprintf(name, sizeof(name), "/st_mq_%d", (int)getpid());
	snprintf(name2, sizeof(name2), "/st_mq2_%d", (int)getpid());
	char buf[8192];
	unsigned prio;
	struct mq_attr a;

	/* Opening and attributes. */
	EXPECT_ERR("open_missing_enoent", mq_open(name, O_RDWR), ENOENT);
	mqd_t q = q_open(name, O_RDWR | O_CREAT | O_EXCL, 4, 64);
	EXPECT_OK("create", q);
	EXPECT_ERR("create_excl_eexist", q_open(name, O_RDWR | O_CREAT | O_EXCL, 4, 64), EEXIST);
	EXPECT_EQ("getattr", mq_getattr(q, &a), 0);
	CHECKF("attr_values", a.mq_maxmsg == 4 && a.mq_msgsize == 64 && a.mq_curmsgs == 0 && a.mq_flags == 0,
	       "maxmsg %ld msgsize %ld cur %ld flags %ld", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, a.mq_flags);
	EXPECT_ERR("create_zero_maxmsg_einval", q_open(name2, O_RDWR | O_CREAT, 0, 64), EINVAL);
	EXPECT_ERR("create_negative_msgsize_einval", q_open(name2, O_RDWR | O_CREAT, 4, -1), EINVAL);
	EXPECT_ERR("raw_name_with_slash_eacces", syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES);
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	longname[299] = 0;
	EXPECT_ERR("raw_long_name_enametoolong", syscall(SYS_mq_open, longname, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG);
	EXPECT_ERR("raw_bad_name_pointer_efault", syscall(SYS_mq_open, (char *)8, O_RDWR, 0, NULL), EFAULT);
	EXPECT_ERR("raw_bad_attr_pointer_efault", syscall(SYS_mq_open, name2 + 1, O_RDWR | O_CREAT, 0600, (void *)8), EFAULT);
	mqd_t dflt = mq_open(name2, O_RDWR | O_CREAT, 0600, NULL);
	EXPECT_OK("create_default_attrs", dflt);
	EXPECT_EQ("getattr_default", mq_getattr(dflt, &a), 0);
	CHECKF("default_attrs_10_8192", a.mq_maxmsg == 10 && a.mq_msgsize == 8192, "maxmsg %ld msgsize %ld", a.mq_maxmsg,
	       a.mq_msgsize);

	/* Priorities: highest first, FIFO within one. */
	EXPECT_EQ("send_p1", mq_send(q, "one", 3, 1), 0);
	EXPECT_EQ("send_p5", mq_send(q, "five", 4, 5), 0);
	EXPECT_EQ("send_p1_again", mq_send(q, "uno", 3, 1), 0);
	EXPECT_EQ("getattr_curmsgs", (mq_getattr(q, &a), a.mq_curmsgs), 3);
	EXPECT_ERR("receive_small_buffer_emsgsize", mq_receive(q, buf, 63, &prio), EMSGSIZE);
	EXPECT_EQ("receive_highest", mq_receive(q, buf, sizeof(buf), &prio), 4);
	CHECK("receive_highest_data", memcmp(buf, "five", 4) == 0 && prio == 5);
	EXPECT_EQ("receive_fifo_first", mq_receive(q, buf, sizeof(buf), &prio), 3);
	CHECK("receive_fifo_first_data", memcmp(buf, "one", 3) == 0 && prio == 1);
	EXPECT_EQ("receive_fifo_second", mq_receive(q, buf, sizeof(buf), NULL), 3);
	CHECK("receive_fifo_second_data", memcmp(buf, "uno", 3) == 0);
	EXPECT_EQ("send_empty_message", mq_send(q, "", 0, 0), 0);
	EXPECT_EQ("receive_empty_message", mq_receive(q, buf, sizeof(buf), NULL), 0);

	/* Bad sends. */
	EXPECT_ERR("send_too_long_emsgsize", mq_send(q, buf, 65, 0), EMSGSIZE);
	EXPECT_ERR("send_prio_too_high_einval", mq_send(q, "x", 1, 32768), EINVAL);
	EXPECT_ERR("send_bad_buffer_efault", mq_send(q, (char *)8, 4, 0), EFAULT);
	EXPECT_ERR("send_bad_fd_ebadf", mq_send(999, "x", 1, 0), EBADF);
	int plain = open("/dev/null", O_RDWR);
	EXPECT_ERR("send_not_a_queue_ebadf", mq_send(plain, "x", 1, 0), EBADF);
	mqd_t ro = mq_open(name, O_RDONLY);
	EXPECT_OK("open_readonly", ro);
	EXPECT_ERR("send_on_readonly_ebadf", mq_send(ro, "x", 1, 0), EBADF);
	mqd_t wo = mq_open(name, O_WRONLY);
	EXPECT_ERR("receive_on_writeonly_ebadf", mq_receive(wo, buf, sizeof(buf), NULL), EBADF);

	/* Full and empty queues, non-blocking and timed. */
	mqd_t nb = mq_open(name, O_RDWR | O_NONBLOCK);
	EXPECT_ERR("nonblock_empty_eagain", mq_receive(nb, buf, sizeof(buf), NULL), EAGAIN);
	for (int i = 0; i < 4; i++)
		mq_send(q, "f", 1, 0);
	EXPECT_ERR("nonblock_full_eagain", mq_send(nb, "x", 1, 0), EAGAIN);
	struct timespec past = { 0, 0 };
	EXPECT_ERR("timedsend_full_past_etimedout", mq_timedsend(q, "x", 1, 0, &past), ETIMEDOUT);
	struct timespec bad = { 0, 2000000000 };
	EXPECT_ERR("timedsend_full_bad_timeout_einval", mq_timedsend(q, "x", 1, 0, &bad), EINVAL);
	for (int i = 0; i < 4; i++)
		mq_receive(q, buf, sizeof(buf), NULL);
	EXPECT_ERR("timedreceive_empty_past_etimedout", mq_timedreceive(q, buf, sizeof(buf), NULL, &past), ETIMEDOUT);
	EXPECT_ERR("timedreceive_empty_bad_timeout_einval", mq_timedreceive(q, buf, sizeof(buf), NULL, &bad), EINVAL);
	struct timespec soon;
	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 30000000;
	if (soon.tv_nsec >= 1000000000) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000;
	}
	EXPECT_ERR("timedreceive_waits_then_etimedout", mq_timedreceive(q, buf, sizeof(buf), NULL, &soon), ETIMEDOUT);

	/* mq_setattr changes only O_NONBLOCK. */
	struct mq_attr set = { .mq_flags = O_NONBLOCK, .mq_maxmsg = 99, .mq_msgsize = 99 }, old;
	EXPECT_EQ("setattr_nonblock", mq_setattr(q, &set, &old), 0);
	CHECK("setattr_returns_old", old.mq_flags == 0 && old.mq_maxmsg == 4);
	EXPECT_EQ("getattr_after_setattr", (mq_getattr(q, &a), a.mq_flags == O_NONBLOCK && a.mq_maxmsg == 4), 1);
	EXPECT_ERR("setattr_made_nonblocking", mq_receive(q, buf, sizeof(buf), NULL), EAGAIN);
	set.mq_flags = 0;
	mq_setattr(q, &set, NULL);

	/* A blocked receiver is woken by a send. */
	pthread_t th;
	pthread_create(&th, NULL, late_sender, &q);
	EXPECT_EQ("blocking_receive_woken", mq_receive(q, buf, sizeof(buf), &prio), 4);
	CHECK("blocking_receive_data", memcmp(buf, "late", 4) == 0 && prio == 3);
	pthread_join(th, NULL);

	/* poll: readable with messages, writable with room. */
	struct pollfd pfd = { .fd = q, .events = POLLIN | POLLOUT };
	EXPECT_EQ("poll_empty_writable", (poll(&pfd, 1, 0), pfd.revents), POLLOUT);
	mq_send(q, "p", 1, 0);
	EXPECT_EQ("poll_with_message", (poll(&pfd, 1, 0), pfd.revents), POLLIN | POLLOUT);
	mq_receive(q, buf, sizeof(buf), NULL);

	/* Notification: a signal at the first message into an empty queue,
	 * then unregistered. */
	struct sigaction sa = { .sa_sigaction = on_notify, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	ev.sigev_value.sival_int = 42;
	EXPECT_EQ("notify_register", mq_notify(q, &ev), 0);
	EXPECT_ERR("notify_twice_ebusy", mq_notify(q, &ev), EBUSY);
	mq_send(q, "n", 1, 0);
	CHECKF("notify_signal_delivered", notified_sig == SIGUSR1 && notified_code == SI_MESGQ && notified_val == 42,
	       "sig %d code %d val %d", (int)notified_sig, (int)notified_code, (int)notified_val);
	EXPECT_EQ("notify_again_after_firing", mq_notify(q, &ev), 0);
	EXPECT_EQ("notify_unregister", mq_notify(q, NULL), 0);
	struct sigevent badev = { .sigev_notify = 77 };
	EXPECT_ERR("notify_bad_kind_einval", mq_notify(q, &badev), EINVAL);
	struct sigevent badsig = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = 99 };
	EXPECT_ERR("notify_bad_signal_einval", mq_notify(q, &badsig), EINVAL);
	EXPECT_ERR("notify_bad_fd_ebadf", mq_notify(999, NULL), EBADF);
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	EXPECT_EQ("notify_sigev_none", mq_notify(q, &none), 0);
	mq_receive(q, buf, sizeof(buf), NULL);

	/* The mqueue filesystem shows the queue. */
	mkdir("/tmp/st_mqfs", 0700);
	int mounted = mount("none", "/tmp/st_mqfs", "mqueue", 0, NULL) == 0;
	CHECKF("mount_mqueue", mounted, "errno %s", h_errname(errno));
	if (mounted) {
		char path[128], st[256] = { 0 };
		snprintf(path, sizeof(path), "/tmp/st_mqfs%s", name);
		struct stat sb;
		EXPECT_EQ("fs_stat_queue", stat(path, &sb), 0);
		CHECKF("fs_queue_mode", (sb.st_mode & 07777) == 0600 && S_ISREG(sb.st_mode), "mode %o", sb.st_mode);
		mq_send(q, "abc", 3, 0);
		int fd = open(path, O_RDONLY);
		ssize_t n = read(fd, st, sizeof(st) - 1);
		CHECKF("fs_read_qsize", n > 0 && strncmp(st, "QSIZE:3 ", 8) == 0, "%s", st);
		EXPECT_EQ("fs_fd_is_a_queue", mq_receive(fd, buf, sizeof(buf), NULL), 3);
		close(fd);
		EXPECT_ERR("fs_mkdir_eperm", mkdir("/tmp/st_mqfs/d", 0700), EPERM);
		EXPECT_EQ("fs_unlink", unlink(path), 0);
		EXPECT_ERR("unlinked_gone", mq_open(name, O_RDWR), ENOENT);
		umount("/tmp/st_mqfs");
	}
	rmdir("/tmp/st_mqfs");

	/* An unlinked queue lives on while open. */
	EXPECT_EQ("send_after_unlink", mq_send(q, "z", 1, 0), 0);
	EXPECT_EQ("receive_after_unlink", mq_receive(q, buf, sizeof(buf), NULL), 1);
	EXPECT_ERR("unlink_missing_enoent", mq_unlink(name), ENOENT);
	EXPECT_EQ("unlink_second", mq_unlink(name2), 0);
	EXPECT_EQ("close", mq_close(q), 0);
	EXPECT_ERR("close_twice_ebadf", mq_close(q), EBADF);
	return 0;
}
