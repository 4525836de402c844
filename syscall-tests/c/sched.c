/* sched_* parameters, priorities and capabilities. */
#include "harness.h"
#include <sched.h>
#include <sys/resource.h>
#include <linux/capability.h>

int main(void)
{
	EXPECT_EQ("max_fifo", sched_get_priority_max(SCHED_FIFO), 99);
	EXPECT_EQ("min_fifo", sched_get_priority_min(SCHED_FIFO), 1);
	EXPECT_EQ("max_other", sched_get_priority_max(SCHED_OTHER), 0);
	EXPECT_ERR("max_bad_policy_einval", sched_get_priority_max(77), EINVAL);
	EXPECT_EQ("getscheduler_other", sched_getscheduler(0), SCHED_OTHER);
	EXPECT_ERR("getscheduler_missing_esrch", sched_getscheduler(0x3ffffff0), ESRCH);
	EXPECT_ERR("getscheduler_negative_einval", sched_getscheduler(-1), EINVAL);
	struct sched_param sp = {.sched_priority = 0};
	EXPECT_EQ("getparam", sched_getparam(0, &sp), 0);
	EXPECT_EQ("getparam_zero", sp.sched_priority, 0);
	sp.sched_priority = 5;
	EXPECT_ERR("setscheduler_other_prio_einval", sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL);
	EXPECT_ERR("setscheduler_bad_policy_einval", sched_setscheduler(0, 77, &sp), EINVAL);
	EXPECT_ERR("setscheduler_null_param_einval", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL);
	sp.sched_priority = 0;
	EXPECT_EQ("setscheduler_batch", sched_setscheduler(0, SCHED_BATCH, &sp), 0);
	EXPECT_EQ("getscheduler_batch", sched_getscheduler(0), SCHED_BATCH);
	EXPECT_EQ("setscheduler_back", sched_setscheduler(0, SCHED_OTHER, &sp), 0);
	EXPECT_ERR("getparam_efault", sched_getparam(0, (void *)1), EFAULT);

	cpu_set_t set;
	CPU_ZERO(&set);
	EXPECT_EQ("getaffinity", sched_getaffinity(0, sizeof(set), &set), 0);
	CHECK("affinity_has_cpu", CPU_COUNT(&set) >= 1);
	cpu_set_t none;
	CPU_ZERO(&none);
	EXPECT_ERR("setaffinity_empty_einval", sched_setaffinity(0, sizeof(none), &none), EINVAL);
	EXPECT_EQ("setaffinity_same", sched_setaffinity(0, sizeof(set), &set), 0);
	EXPECT_ERR("getaffinity_small_einval", syscall(SYS_sched_getaffinity, 0, 4, &set), EINVAL);

	errno = 0;
	int p = getpriority(PRIO_PROCESS, 0);
	CHECKF("getpriority_default", p == 0 && errno == 0, "p %d", p);
	EXPECT_EQ("setpriority_nice5", setpriority(PRIO_PROCESS, 0, 5), 0);
	EXPECT_EQ("getpriority_nice5", getpriority(PRIO_PROCESS, 0), 5);
	EXPECT_EQ("raw_getpriority_20_minus_nice", syscall(SYS_getpriority, PRIO_PROCESS, 0), 15);
	EXPECT_EQ("setpriority_clamped", (setpriority(PRIO_PROCESS, 0, 50), getpriority(PRIO_PROCESS, 0)), 19);
	EXPECT_EQ("setpriority_back_as_root", setpriority(PRIO_PROCESS, 0, 0), 0);
	EXPECT_ERR("setpriority_bad_which_einval", setpriority(9, 0, 0), EINVAL);
	EXPECT_ERR("getpriority_missing_esrch", getpriority(PRIO_PROCESS, 0x3ffffff0), ESRCH);

	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	EXPECT_EQ("capget", syscall(SYS_capget, &h, d), 0);
	CHECK("root_has_sys_admin", d[0].effective & (1u << CAP_SYS_ADMIN));
	struct __user_cap_header_struct bad = {0x1234, 0};
	EXPECT_ERR("capget_bad_version_einval", syscall(SYS_capget, &bad, d), EINVAL);
	EXPECT_EQ("bad_version_reports_v3", bad.version, _LINUX_CAPABILITY_VERSION_3);
	EXPECT_EQ("capget_null_data_probe", (h.version = 0x1234, syscall(SYS_capget, &h, NULL), h.version), _LINUX_CAPABILITY_VERSION_3);
	EXPECT_ERR("capget_efault", syscall(SYS_capget, (void *)1, d), EFAULT);
	return 0;
}
