/* Advisory locks: flock(2), fcntl(2) POSIX record locks (F_SETLK,
 * F_SETLKW, F_GETLK) and open-file-description locks (F_OFD_*): conflicts
 * between processes and descriptions, ranges split and merged, waiting,
 * EDEADLK, release on close and exit, and the errno of bad input. */
#define _GNU_SOURCE
#include "harness.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

static char path[64];

static int openf(int flags)
{
	return open(path, flags);
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &l);
}

/* F_GETLK-style query: fills *out. */
static int getlk(int fd, int cmd, short type, off_t start, off_t len, struct flock *out)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int r = fcntl(fd, cmd, &l);
	*out = l;
	return r;
}

/* Run fn in a child process; its return value is the child's exit code. */
static int in_child(int (*fn)(long), long arg)
{
	pid_t p = fork();
	if (p == 0)
		_exit(fn(arg));
	int st = 0;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* Child bodies: 0 for "as expected", a distinct code otherwise. */
static int try_setlk(long packed)
{
	/* packed: type << 40 | start << 20 | len */
	int fd = openf(O_RDWR);
	int r = setlk(fd, F_SETLK, (short)(packed >> 40), (packed >> 20) & 0xfffff, packed & 0xfffff);
	return r == 0 ? 0 : errno == EAGAIN ? 11 : 99;
}

static long pk(short type, long start, long len)
{
	return (long)type << 40 | start << 20 | len;
}

static int child_getlk(long packed)
{
	int fd = openf(O_RDWR);
	struct flock l;
	if (getlk(fd, F_GETLK, F_WRLCK, (packed >> 20) & 0xfffff, packed & 0xfffff, &l) != 0)
		return 99;
	if (l.l_type == F_UNLCK)
		return 2;
	return (l.l_type == F_WRLCK ? 10 : 20) + (l.l_pid == getppid() ? 1 : 0);
}

static int child_flock_nb(long op)
{
	int fd = openf(O_RDONLY);
	if (flock(fd, (int)op | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? 11 : 99;
}

static int child_unlock_inherited(long fd)
{
	return flock((int)fd, LOCK_UN) == 0 ? 0 : 99;
}

static int child_lock_and_exit(long unused)
{
	(void)unused;
	int fd = openf(O_RDWR);
	return setlk(fd, F_SETLK, F_WRLCK, 0, 0) == 0 ? 0 : 99;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(void)
{
	h_tmp(path, sizeof(path), "locks");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_OK("create", fd);
	char buf[256] = { 0 };
	EXPECT_EQ("fill", write(fd, buf, sizeof(buf)), (long)sizeof(buf));

	/* ---- flock ---- */
	EXPECT_EQ("flock_ex", flock(fd, LOCK_EX), 0);
	EXPECT_EQ("flock_ex_again_same_ofd", flock(fd, LOCK_EX | LOCK_NB), 0);
	int fd2 = openf(O_RDONLY);
	EXPECT_ERR("flock_other_ofd_ewouldblock", flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	EXPECT_EQ("flock_child_blocked", in_child(child_flock_nb, LOCK_SH), 11);
	EXPECT_EQ("flock_convert_sh", flock(fd, LOCK_SH), 0);
	EXPECT_EQ("flock_sh_shared", flock(fd2, LOCK_SH | LOCK_NB), 0);
	EXPECT_EQ("flock_child_sh_ok", in_child(child_flock_nb, LOCK_SH), 0);
	EXPECT_EQ("flock_child_ex_blocked", in_child(child_flock_nb, LOCK_EX), 11);
	EXPECT_EQ("flock_un_fd2", flock(fd2, LOCK_UN), 0);
	EXPECT_EQ("flock_un_not_held", flock(fd2, LOCK_UN), 0);
	/* A dup shares the description, and so the lock. */
	int d = dup(fd);
	EXPECT_EQ("flock_dup_converts", flock(d, LOCK_EX | LOCK_NB), 0);
	EXPECT_EQ("flock_close_one_keeps", close(fd), 0);
	EXPECT_ERR("flock_still_held", flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	/* A child's inherited fd is the same description: it can unlock it. */
	EXPECT_EQ("flock_child_unlocks_inherited", in_child(child_unlock_inherited, d), 0);
	EXPECT_EQ("flock_free_after_child_unlock", flock(fd2, LOCK_EX | LOCK_NB), 0);
	EXPECT_EQ("flock_un2", flock(fd2, LOCK_UN), 0);
	EXPECT_EQ("flock_relock", flock(d, LOCK_EX), 0);
	EXPECT_EQ("flock_close_last_releases", close(d), 0);
	EXPECT_EQ("flock_free_after_last_close", flock(fd2, LOCK_EX | LOCK_NB), 0);
	EXPECT_ERR("flock_op_zero_einval", flock(fd2, 0), EINVAL);
	EXPECT_ERR("flock_sh_ex_einval", flock(fd2, LOCK_SH | LOCK_EX), EINVAL);
	EXPECT_ERR("flock_badfd_ebadf", flock(-1, LOCK_SH), EBADF);
	int op = open(path, O_PATH);
	EXPECT_ERR("flock_opath_ebadf", flock(op, LOCK_SH), EBADF);
	close(op);
	/* Waiting: a child holds the lock for a while. */
	{
		int ready[2];
		pipe(ready);
		EXPECT_EQ("flock_un_for_wait", flock(fd2, LOCK_UN), 0);
		pid_t p = fork();
		if (p == 0) {
			int c = openf(O_RDONLY);
			flock(c, LOCK_EX);
			write(ready[1], "x", 1);
			usleep(150 * 1000);
			_exit(0);
		}
		char x;
		read(ready[0], &x, 1);
		long long t0 = now_ms();
		EXPECT_EQ("flock_waits", flock(fd2, LOCK_EX), 0);
		CHECKF("flock_waited_for_exit", now_ms() - t0 >= 50, "waited %lld ms", now_ms() - t0);
		waitpid(p, NULL, 0);
		flock(fd2, LOCK_UN);
		close(ready[0]);
		close(ready[1]);
	}
	close(fd2);

	/* ---- POSIX record locks ---- */
	fd = openf(O_RDWR);
	EXPECT_EQ("setlk_wr", setlk(fd, F_SETLK, F_WRLCK, 0, 10), 0);
	EXPECT_EQ("child_setlk_overlap_eagain", in_child(try_setlk, pk(F_WRLCK, 5, 1)), 11);
	EXPECT_EQ("child_setlk_read_overlap_eagain", in_child(try_setlk, pk(F_RDLCK, 9, 5)), 11);
	EXPECT_EQ("child_setlk_disjoint_ok", in_child(try_setlk, pk(F_WRLCK, 10, 5)), 0);
	EXPECT_EQ("child_getlk_sees_parent_wr", in_child(child_getlk, 0 << 20 | 100), 11);
	EXPECT_EQ("own_relock_overlap_ok", setlk(fd, F_SETLK, F_WRLCK, 5, 10), 0);
	/* Convert [0,5) to a read lock: [0,5) R, [5,15) W. */
	EXPECT_EQ("convert_part_to_read", setlk(fd, F_SETLK, F_RDLCK, 0, 5), 0);
	EXPECT_EQ("child_getlk_sees_read", in_child(child_getlk, 0 << 20 | 5), 21);
	EXPECT_EQ("child_read_lock_shares", in_child(try_setlk, pk(F_RDLCK, 0, 5)), 0);
	EXPECT_EQ("child_getlk_sees_write_part", in_child(child_getlk, 5 << 20 | 1), 11);
	{
		pid_t p = fork();
		if (p == 0) {
			int c = openf(O_RDWR);
			struct flock l;
			getlk(c, F_GETLK, F_WRLCK, 7, 1, &l);
			_exit(l.l_start == 5 && l.l_len == 10 && l.l_whence == SEEK_SET ? 0 : 1);
		}
		int st;
		waitpid(p, &st, 0);
		CHECKF("getlk_reports_range", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	}
	/* Unlock the middle of the write lock: [5,8) W, [12,15) W remain. */
	EXPECT_EQ("unlock_middle", setlk(fd, F_SETLK, F_UNLCK, 8, 4), 0);
	EXPECT_EQ("child_middle_free", in_child(try_setlk, pk(F_WRLCK, 8, 4)), 0);
	EXPECT_EQ("child_right_part_held", in_child(try_setlk, pk(F_WRLCK, 14, 1)), 11);
	EXPECT_EQ("unlock_all", setlk(fd, F_SETLK, F_UNLCK, 0, 0), 0);
	EXPECT_EQ("child_all_free", in_child(try_setlk, pk(F_WRLCK, 0, 100)), 0);
	/* l_len 0 reaches past the end of file, negative l_len goes backwards. */
	EXPECT_EQ("lock_to_eof", setlk(fd, F_SETLK, F_WRLCK, 100, 0), 0);
	{
		pid_t p = fork();
		if (p == 0) {
			int c = openf(O_RDWR);
			struct flock l;
			getlk(c, F_GETLK, F_RDLCK, 900000, 1, &l);
			_exit(l.l_type == F_WRLCK && l.l_start == 100 && l.l_len == 0 ? 0 : 1);
		}
		int st;
		waitpid(p, &st, 0);
		CHECKF("getlk_to_eof_len_zero", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	}
	EXPECT_EQ("negative_len", setlk(fd, F_SETLK, F_RDLCK, 50, -10), 0);
	{
		pid_t p = fork();
		if (p == 0) {
			int c = openf(O_RDWR);
			struct flock l;
			getlk(c, F_GETLK, F_WRLCK, 45, 1, &l);
			_exit(l.l_type == F_RDLCK && l.l_start == 40 && l.l_len == 10 ? 0 : 1);
		}
		int st;
		waitpid(p, &st, 0);
		CHECKF("getlk_negative_len_range", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	}
	{
		struct flock l;
		EXPECT_EQ("own_getlk_no_conflict", getlk(fd, F_GETLK, F_WRLCK, 0, 0, &l), 0);
		EXPECT_EQ("own_getlk_unlck", l.l_type, F_UNLCK);
	}
	/* Bad input. */
	EXPECT_ERR("bad_type_einval", setlk(fd, F_SETLK, 7, 0, 1), EINVAL);
	{
		struct flock l = { .l_type = F_WRLCK, .l_whence = 9, .l_start = 0, .l_len = 1 };
		EXPECT_ERR("bad_whence_einval", fcntl(fd, F_SETLK, &l), EINVAL);
		l.l_whence = SEEK_SET;
		l.l_start = -5;
		EXPECT_ERR("negative_start_einval", fcntl(fd, F_SETLK, &l), EINVAL);
		l.l_start = 5;
		l.l_len = -10;
		EXPECT_ERR("negative_len_before_zero_einval", fcntl(fd, F_SETLK, &l), EINVAL);
		l.l_start = 0x7fffffffffffff00LL;
		l.l_len = 0x1000;
		EXPECT_ERR("past_offset_max_eoverflow", fcntl(fd, F_SETLK, &l), EOVERFLOW);
		l.l_start = 0;
		l.l_len = 1;
		l.l_type = F_UNLCK;
		EXPECT_ERR("getlk_unlck_einval", fcntl(fd, F_GETLK, &l), EINVAL);
		EXPECT_ERR("setlk_bad_pointer_efault", fcntl(fd, F_SETLK, (struct flock *)8), EFAULT);
	}
	int ro = openf(O_RDONLY), wo = openf(O_WRONLY);
	EXPECT_ERR("write_lock_on_rdonly_ebadf", setlk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF);
	EXPECT_ERR("read_lock_on_wronly_ebadf", setlk(wo, F_SETLK, F_RDLCK, 0, 1), EBADF);
	EXPECT_EQ("read_lock_on_rdonly", setlk(ro, F_SETLK, F_RDLCK, 200, 1), 0);
	/* Closing any fd of the file drops the process's locks on it. */
	EXPECT_EQ("child_sees_locks_before_close", in_child(try_setlk, pk(F_WRLCK, 100, 1)), 11);
	close(wo);
	EXPECT_EQ("close_other_fd_releases", in_child(try_setlk, pk(F_WRLCK, 100, 1)), 0);
	EXPECT_EQ("close_releases_read_lock_too", in_child(try_setlk, pk(F_WRLCK, 200, 1)), 0);
	close(ro);
	/* A child's locks go with its exit. */
	EXPECT_EQ("child_locks_then_exits", in_child(child_lock_and_exit, 0), 0);
	EXPECT_EQ("exit_released", setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	EXPECT_EQ("unlock_for_wait", setlk(fd, F_SETLK, F_UNLCK, 0, 0), 0);

	/* F_SETLKW waits for the holder; two waiters in a cycle: EDEADLK. */
	{
		int ready[2];
		pipe(ready);
		EXPECT_EQ("hold_a", setlk(fd, F_SETLK, F_WRLCK, 0, 1), 0);
		pid_t p = fork();
		if (p == 0) {
			int c = openf(O_RDWR);
			setlk(c, F_SETLK, F_WRLCK, 1, 1); /* B */
			write(ready[1], "x", 1);
			int r = setlk(c, F_SETLKW, F_WRLCK, 0, 1); /* waits for A */
			usleep(100 * 1000);
			_exit(r == 0 ? 0 : 1);
		}
		char x;
		read(ready[0], &x, 1);
		h_wait_process_sleeping(p, h_now_ns() + 2000000000LL);
		EXPECT_ERR("setlkw_cycle_edeadlk", setlk(fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK);
		EXPECT_EQ("release_a", setlk(fd, F_SETLK, F_UNLCK, 0, 1), 0);
		long long t0 = now_ms();
		EXPECT_EQ("setlkw_waits_for_child", setlk(fd, F_SETLKW, F_WRLCK, 0, 2), 0);
		CHECKF("setlkw_waited", now_ms() - t0 >= 50, "waited %lld ms", now_ms() - t0);
		int st;
		waitpid(p, &st, 0);
		CHECKF("child_got_a", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
		setlk(fd, F_SETLK, F_UNLCK, 0, 0);
		close(ready[0]);
		close(ready[1]);
	}

	/* ---- OFD locks ---- */
	fd2 = openf(O_RDWR);
	EXPECT_EQ("ofd_setlk", setlk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), 0);
	EXPECT_ERR("ofd_other_description_eagain", setlk(fd2, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN);
	EXPECT_ERR("posix_vs_ofd_same_process_eagain", setlk(fd2, F_SETLK, F_RDLCK, 5, 1), EAGAIN);
	{
		struct flock l;
		EXPECT_EQ("ofd_getlk", getlk(fd2, F_OFD_GETLK, F_RDLCK, 0, 0, &l), 0);
		CHECKF("ofd_getlk_pid_minus_one", l.l_type == F_WRLCK && l.l_pid == -1 && l.l_len == 10,
		       "type %d pid %d len %ld", l.l_type, l.l_pid, (long)l.l_len);
		struct flock bad = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1 };
		EXPECT_ERR("ofd_lpid_nonzero_einval", fcntl(fd2, F_OFD_SETLK, &bad), EINVAL);
		EXPECT_ERR("ofd_getlk_lpid_nonzero_einval", fcntl(fd2, F_OFD_GETLK, &bad), EINVAL);
	}
	int fdd = dup(fd);
	EXPECT_EQ("ofd_dup_same_owner", setlk(fdd, F_OFD_SETLK, F_WRLCK, 5, 1), 0);
	close(fd);
	EXPECT_ERR("ofd_survives_close_of_one_fd", setlk(fd2, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN);
	close(fdd);
	EXPECT_EQ("ofd_last_close_releases", setlk(fd2, F_OFD_SETLK, F_WRLCK, 0, 10), 0);
	close(fd2);
	unlink(path);
	return 0;
}
