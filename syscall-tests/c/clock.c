/* clock_gettime/clock_getres/gettimeofday/time (vDSO and raw). */
#include "harness.h"
#include <sys/time.h>

static int valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L && ts->tv_sec >= 0;
}

int main(void)
{
	struct timespec ts, ts2, res;
	struct { clockid_t id; const char *name; } clocks[] = {
		{CLOCK_REALTIME, "realtime"},
		{CLOCK_MONOTONIC, "monotonic"},
		{CLOCK_BOOTTIME, "boottime"},
		{CLOCK_PROCESS_CPUTIME_ID, "process_cputime"},
		{CLOCK_THREAD_CPUTIME_ID, "thread_cputime"},
		{CLOCK_MONOTONIC_RAW, "monotonic_raw"},
		{CLOCK_REALTIME_COARSE, "realtime_coarse"},
		{CLOCK_MONOTONIC_COARSE, "monotonic_coarse"},
	};
	char name[64];
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		snprintf(name, sizeof(name), "gettime_%s", clocks[i].name);
		memset(&ts, 0xff, sizeof(ts));
		long r = syscall(SYS_clock_gettime, clocks[i].id, &ts);
		CHECKF(name, r == 0 && valid(&ts), "r %ld errno %s sec %ld nsec %ld", r,
		       h_errname(errno), (long)ts.tv_sec, ts.tv_nsec);
		snprintf(name, sizeof(name), "vdso_gettime_%s", clocks[i].name);
		CHECK(name, clock_gettime(clocks[i].id, &ts) == 0 && valid(&ts));
		snprintf(name, sizeof(name), "getres_%s", clocks[i].name);
		r = syscall(SYS_clock_getres, clocks[i].id, &res);
		CHECKF(name, r == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000,
		       "r %ld res %ld.%09ld", r, (long)res.tv_sec, res.tv_nsec);
	}
	EXPECT_ERR("gettime_invalid_clock_einval", syscall(SYS_clock_gettime, 100, &ts), EINVAL);
	EXPECT_ERR("gettime_negative_clock_einval", syscall(SYS_clock_gettime, -100, &ts), EINVAL);
	EXPECT_ERR("vdso_gettime_invalid_clock_einval", clock_gettime(100, &ts), EINVAL);
	EXPECT_ERR("gettime_efault", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)1), EFAULT);
	EXPECT_ERR("getres_invalid_clock_einval", syscall(SYS_clock_getres, 100, &res), EINVAL);
	EXPECT_EQ("getres_null_ok", syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0);
	EXPECT_ERR("settime_monotonic_einval", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts), EINVAL);
	EXPECT_ERR("settime_invalid_clock_einval", syscall(SYS_clock_settime, 100, &ts), EINVAL);

	/* monotonic never goes backwards; vDSO and syscall agree */
	int mono_ok = 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (int i = 0; i < 2000; i++) {
		if (i % 2)
			clock_gettime(CLOCK_MONOTONIC, &ts2);
		else
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts2);
		if (ts2.tv_sec < ts.tv_sec || (ts2.tv_sec == ts.tv_sec && ts2.tv_nsec < ts.tv_nsec))
			mono_ok = 0;
		ts = ts2;
	}
	CHECK("monotonic_non_decreasing", mono_ok);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_gettime(CLOCK_BOOTTIME, &ts2);
	CHECK("boottime_ge_monotonic", ts2.tv_sec >= ts.tv_sec);

	/* realtime sources agree with each other */
	struct timeval tv, tv2;
	EXPECT_EQ("gettimeofday_vdso", gettimeofday(&tv, NULL), 0);
	EXPECT_EQ("gettimeofday_raw", syscall(SYS_gettimeofday, &tv2, NULL), 0);
	CHECK("gettimeofday_usec_valid", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	CHECKF("gettimeofday_vdso_raw_agree", labs(tv2.tv_sec - tv.tv_sec) <= 1, "%ld vs %ld",
	       (long)tv.tv_sec, (long)tv2.tv_sec);
	struct timezone tz;
	EXPECT_EQ("gettimeofday_with_tz", gettimeofday(&tv, &tz), 0);
	EXPECT_ERR("gettimeofday_efault", syscall(SYS_gettimeofday, (void *)1, NULL), EFAULT);
	time_t t1 = time(NULL);
	time_t t2 = (time_t)syscall(SYS_time, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	CHECKF("time_agrees_with_realtime", labs(t1 - ts.tv_sec) <= 1 && labs(t2 - ts.tv_sec) <= 1,
	       "%ld %ld %ld", (long)t1, (long)t2, (long)ts.tv_sec);
	time_t t3 = 0;
	syscall(SYS_time, &t3);
	CHECK("time_stores_result", labs(t3 - ts.tv_sec) <= 1);
	CHECK("realtime_after_2020", ts.tv_sec > 1577836800L);

	/* CPU clocks advance with work */
	struct timespec c0, c1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	long long start = h_now_ns();
	volatile unsigned long x = 0;
	while (h_now_ns() - start < 30 * 1000 * 1000)
		for (int i = 0; i < 1000; i++)
			x += i;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	long long used = (c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec);
	CHECKF("process_cputime_advances", used >= 5 * 1000 * 1000, "used %lld ns", used);
	clockid_t cid;
	EXPECT_EQ("getcpuclockid_self", clock_getcpuclockid(0, &cid), 0);
	EXPECT_EQ("cpuclock_of_self_readable", clock_gettime(cid, &ts), 0);
	return 0;
}
