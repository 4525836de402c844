/* personality(2): the persona is kept (0xffffffff asks for it, a set
 * returns the previous one), inherited by a fork's child, and
 * ADDR_NO_RANDOMIZE puts the stack at one place at each exec. The
 * program runs itself (argv[1] set) to report its stack's address. */
#include "harness.h"
#include <sys/personality.h>
#include <sys/wait.h>

/* The start of the [stack] mapping of a new image of this program. */
static unsigned long stack_of_child(const char *self)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		execl(self, self, "stack", (char *)NULL);
		_exit(1);
	}
	close(p[1]);
	char buf[64] = {0};
	read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	waitpid(c, NULL, 0);
	return strtoul(buf, NULL, 16);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "stack") == 0) {
		FILE *f = fopen("/proc/self/maps", "r");
		char l[256];
		while (f && fgets(l, sizeof(l), f))
			if (strstr(l, "[stack]")) {
				printf("%.*s\n", (int)strcspn(l, "-"), l);
				break;
			}
		return 0;
	}
	char self[PATH_MAX] = {0};
	readlink("/proc/self/exe", self, sizeof(self) - 1);
	EXPECT_EQ("query", personality(0xffffffff), PER_LINUX);
	EXPECT_EQ("set_returns_previous", personality(ADDR_NO_RANDOMIZE), PER_LINUX);
	EXPECT_EQ("query_after_set", personality(0xffffffff), ADDR_NO_RANDOMIZE);
	pid_t c = fork();
	if (c == 0)
		_exit(personality(0xffffffff) == ADDR_NO_RANDOMIZE ? 0 : 1);
	int st = 0;
	waitpid(c, &st, 0);
	CHECKF("inherited", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	unsigned long a = stack_of_child(self), b = stack_of_child(self);
	CHECKF("no_randomize_fixes_stack", a && a == b, "%lx %lx", a, b);
	EXPECT_EQ("reset_returns_previous", personality(PER_LINUX), ADDR_NO_RANDOMIZE);
	EXPECT_EQ("any_value_kept", (personality(0x12345), personality(0xffffffff)), 0x12345);
	personality(PER_LINUX);
	return 0;
}
