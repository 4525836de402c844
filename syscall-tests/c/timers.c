/* alarm, setitimer/getitimer (ITIMER_REAL), and the interruption of
 * pause and nanosleep by SIGALRM. */
#include "harness.h"
#include <sys/time.h>

static volatile int alarms;
static void on_alarm(int s) { (void)s; alarms++; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	EXPECT_EQ("alarm_none_pending", alarm(5), 0);
	unsigned left = alarm(0);
	CHECKF("alarm_returns_left", left == 5 || left == 4, "left %u", left);
	EXPECT_EQ("alarm_cancelled", alarm(0), 0);

	struct itimerval it = {{0, 0}, {0, 50000}}, cur;
	alarms = 0;
	EXPECT_EQ("setitimer_real", setitimer(ITIMER_REAL, &it, NULL), 0);
	EXPECT_EQ("getitimer_real", getitimer(ITIMER_REAL, &cur), 0);
	CHECKF("getitimer_left_bounded", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 50000,
	       "left %ld.%06ld", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);
	EXPECT_ERR("pause_interrupted_eintr", pause(), EINTR);
	EXPECT_EQ("alarm_delivered_once", alarms, 1);
	EXPECT_EQ("getitimer_disarmed", (getitimer(ITIMER_REAL, &cur), cur.it_value.tv_sec + cur.it_value.tv_usec), 0);

	/* an interval timer fires repeatedly */
	struct itimerval rep = {{0, 20000}, {0, 20000}};
	alarms = 0;
	setitimer(ITIMER_REAL, &rep, NULL);
	long long t0 = h_now_ns();
	while (alarms < 3 && h_now_ns() - t0 < 2000000000LL)
		pause();
	CHECKF("interval_fires_repeatedly", alarms >= 3, "alarms %d", alarms);
	struct itimerval off = {{0, 0}, {0, 0}}, old;
	EXPECT_EQ("setitimer_returns_old", setitimer(ITIMER_REAL, &off, &old), 0);
	CHECK("old_interval_reported", old.it_interval.tv_usec == 20000 && old.it_interval.tv_sec == 0);

	/* nanosleep is interrupted and reports the time left */
	it.it_value.tv_usec = 30000;
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec req = {2, 0}, rem = {0, 0};
	EXPECT_ERR("nanosleep_interrupted_eintr", nanosleep(&req, &rem), EINTR);
	CHECKF("nanosleep_remaining", rem.tv_sec >= 1 && rem.tv_sec <= 2, "rem %ld", (long)rem.tv_sec);

	/* bad input */
	EXPECT_ERR("setitimer_bad_which_einval", setitimer((__itimer_which_t)7, &it, NULL), EINVAL);
	struct itimerval bad = {{0, 0}, {0, 1000000}};
	EXPECT_ERR("setitimer_bad_usec_einval", setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
	EXPECT_ERR("setitimer_efault", syscall(SYS_setitimer, ITIMER_REAL, (void *)1, NULL), EFAULT);
	EXPECT_ERR("getitimer_efault", syscall(SYS_getitimer, ITIMER_REAL, (void *)1), EFAULT);
	return 0;
}
