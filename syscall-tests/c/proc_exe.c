/* /proc/self/exe leads to the executable itself: after it is renamed
 * (the link shows the new name), deleted (" (deleted)", stat says nlink
 * 0), and exec of /proc/self/exe still runs it. The program copies itself
 * to a temporary file and runs the copy, which reports a bit per failed
 * check in its exit status. */
#include "harness.h"
#include <sys/wait.h>

static int link_is(const char *want)
{
	char buf[256];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n < 0)
		return 0;
	buf[n] = 0;
	return strcmp(buf, want) == 0;
}

int main(int argc, char **argv)
{
	char copy[64], moved[80], deleted[96];
	snprintf(copy, sizeof(copy), "/tmp/st_proc_exe_%d", argc > 2 ? atoi(argv[2]) : (int)getpid());
	snprintf(moved, sizeof(moved), "%s.moved", copy);
	snprintf(deleted, sizeof(deleted), "%s (deleted)", moved);
	if (argc > 1 && strcmp(argv[1], "again") == 0)
		return 0;
	if (argc > 2 && strcmp(argv[1], "copy") == 0) {
		int bad = 0;
		bad |= !link_is(copy) << 0;
		rename(copy, moved);
		bad |= !link_is(moved) << 1;
		unlink(moved);
		bad |= !link_is(deleted) << 2;
		struct stat st;
		bad |= !(stat("/proc/self/exe", &st) == 0 && st.st_nlink == 0) << 3;
		pid_t c = fork();
		if (c == 0) {
			execl("/proc/self/exe", "again", "again", (char *)NULL);
			_exit(1);
		}
		int s = 0;
		waitpid(c, &s, 0);
		bad |= !(WIFEXITED(s) && WEXITSTATUS(s) == 0) << 4;
		return bad;
	}
	int in = open("/proc/self/exe", O_RDONLY), out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char b[65536];
	ssize_t n;
	while ((n = read(in, b, sizeof(b))) > 0)
		write(out, b, n);
	close(out);
	close(in);
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	pid_t c = fork();
	if (c == 0) {
		execl(copy, copy, "copy", pid, (char *)NULL);
		_exit(100);
	}
	int st = 0;
	waitpid(c, &st, 0);
	int bad = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	unlink(copy);
	CHECKF("copy_ran", bad != 100 && bad != 255, "status %#x", st);
	CHECKF("link_names_the_file", bad < 100 && !(bad & 1), "bits %#x", bad);
	CHECKF("link_follows_rename", bad < 100 && !(bad & 2), "bits %#x", bad);
	CHECKF("link_says_deleted", bad < 100 && !(bad & 4), "bits %#x", bad);
	CHECKF("stat_reaches_deleted_file", bad < 100 && !(bad & 8), "bits %#x", bad);
	CHECKF("exec_of_deleted_exe", bad < 100 && !(bad & 16), "bits %#x", bad);
	return 0;
}
