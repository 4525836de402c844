/* close_range: closing a range, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE
 * (a thread's private copy of a shared table), and bad input. */
#include "harness.h"
#include <linux/close_range.h>
#include <pthread.h>

static int a, b, c;
static int seen_in_thread;

static void *unshare_and_close(void *arg)
{
	(void)arg;
	if (syscall(SYS_close_range, a, a, CLOSE_RANGE_UNSHARE) == 0 && fcntl(a, F_GETFD) == -1 && errno == EBADF)
		seen_in_thread = 1;
	return NULL;
}

int main(void)
{
	a = dup(1);
	b = dup(1);
	c = dup(1);
	CHECK("dups", a > 2 && b == a + 1 && c == b + 1);
	EXPECT_EQ("cloexec_range", syscall(SYS_close_range, b, c, CLOSE_RANGE_CLOEXEC), 0);
	CHECK("cloexec_set", (fcntl(b, F_GETFD) & FD_CLOEXEC) && (fcntl(c, F_GETFD) & FD_CLOEXEC));
	CHECK("cloexec_outside_untouched", !(fcntl(a, F_GETFD) & FD_CLOEXEC));

	pthread_t th;
	pthread_create(&th, NULL, unshare_and_close, NULL);
	pthread_join(th, NULL);
	CHECK("unshare_closed_in_thread", seen_in_thread);
	EXPECT_OK("unshare_kept_in_main", fcntl(a, F_GETFD));

	EXPECT_EQ("close_range", syscall(SYS_close_range, b, ~0U, 0), 0);
	EXPECT_ERR("closed_ebadf", fcntl(b, F_GETFD), EBADF);
	EXPECT_ERR("closed_last_ebadf", fcntl(c, F_GETFD), EBADF);
	EXPECT_OK("below_range_open", fcntl(a, F_GETFD));
	EXPECT_ERR("first_after_last_einval", syscall(SYS_close_range, 9, 3, 0), EINVAL);
	EXPECT_ERR("bad_flags_einval", syscall(SYS_close_range, 3, 9, 0x80), EINVAL);
	EXPECT_EQ("empty_range_ok", syscall(SYS_close_range, 900, 1000, 0), 0);
	return 0;
}
