/* uname and hostname. */
#include "harness.h"
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;
	memset(&u, 0, sizeof(u));
	EXPECT_EQ("uname_ok", syscall(SYS_uname, &u), 0);
	CHECKF("sysname_linux", strcmp(u.sysname, "Linux") == 0, "sysname '%s'", u.sysname);
	CHECKF("machine_x86_64", strcmp(u.machine, "x86_64") == 0, "machine '%s'", u.machine);
	CHECKF("release_starts_with_digit", u.release[0] >= '1' && u.release[0] <= '9', "release '%s'", u.release);
	int major = atoi(u.release);
	CHECKF("release_major_at_least_3", major >= 3, "release '%s'", u.release);
	CHECK("release_has_dot", strchr(u.release, '.') != NULL);
	CHECK("version_nonempty", u.version[0] != 0);
	CHECK("fields_nul_terminated", memchr(u.nodename, 0, sizeof(u.nodename)) != NULL &&
					      memchr(u.domainname, 0, sizeof(u.domainname)) != NULL);
	EXPECT_ERR("uname_efault", syscall(SYS_uname, (void *)1), EFAULT);
	EXPECT_ERR("uname_unmapped_efault", syscall(SYS_uname, h_unmapped()), EFAULT);
	char host[HOST_NAME_MAX + 1];
	EXPECT_EQ("gethostname_ok", gethostname(host, sizeof(host)), 0);
	CHECKF("gethostname_matches_nodename", strcmp(host, u.nodename) == 0, "'%s' vs '%s'", host, u.nodename);
	char small[1];
	EXPECT_ERR("gethostname_small_buffer_enametoolong", gethostname(small, sizeof(small)), ENAMETOOLONG);
	/* sethostname needs CAP_SYS_ADMIN: run it as an unprivileged child */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		_exit(sethostname("x", 1) == -1 && errno == EPERM ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECKF("sethostname_unprivileged_eperm", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	EXPECT_ERR("sethostname_too_long_einval", syscall(SYS_sethostname, "x", 65), EINVAL);
	return 0;
}
