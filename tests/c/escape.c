/* Attempts to read a host file lying beside the container's rootfs
 * (bundle/secret, holding SECRET_MARK) from inside the container: `..`
 * walks, absolute and relative symlinks, /proc magic links, a chroot
 * escape, hard links, O_PATH and openat2 tricks, a bind mount of "..",
 * and fds passed around. Prints "ESCAPED: <how>" for any that reads the
 * mark, then "done". Usage: escape (run as root inside the container). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MARK "SECRET_MARK"

static int escaped;
/* The secret's absolute host path (SECRET_PATH): an attacker may know it. */
static const char *hostpath;

static void check_fd(int fd, const char *how)
{
	char buf[256] = { 0 };
	if (fd < 0)
		return;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0 && strstr(buf, MARK)) {
		printf("ESCAPED: %s\n", how);
		escaped++;
	}
	close(fd);
}

static void try_path(const char *p, const char *how)
{
	check_fd(open(p, O_RDONLY), how);
}

/* Every name under `dir` that might be the secret, a few levels up. */
static void try_ups(const char *base, const char *how)
{
	char p[512];
	if (hostpath) {
		snprintf(p, sizeof(p), "%s%s", base, hostpath);
		try_path(p, how);
		try_path(hostpath, how);
	}
	const char *ups[] = { "", "../", "../../", "../../../", "../../../../", "../../../../../../../../" };
	for (unsigned i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
		for (const char *name = "secret"; name; name = name[0] == 's' ? "bundle/secret" : NULL) {
			snprintf(p, sizeof(p), "%s/%s%s", base, ups[i], name);
			try_path(p, how);
		}
	}
}

int main(void)
{
	char p[512];
	hostpath = getenv("SECRET_PATH");

	/* Plain and dot-dot walks from the root and the cwd. */
	try_ups("", "absolute ..");
	try_ups("/", "root ..");
	chdir("/tmp");
	try_ups(".", "relative ..");
	try_ups("/proc/self/root", "/proc/self/root");
	try_ups("/proc/1/root", "/proc/1/root");
	try_ups("/proc/1/cwd", "/proc/1/cwd");
	try_ups("/proc/self/cwd", "/proc/self/cwd");

	/* Symlinks, absolute and relative, followed by open. */
	mkdir("/tmp/esc", 0755);
	symlink("/../secret", "/tmp/esc/abs");
	symlink("../../../../../../secret", "/tmp/esc/rel");
	symlink("/../../bundle/secret", "/tmp/esc/abs2");
	symlink("/proc/self/root/../secret", "/tmp/esc/proc");
	try_path("/tmp/esc/abs", "absolute symlink");
	try_path("/tmp/esc/rel", "relative symlink");
	try_path("/tmp/esc/abs2", "absolute symlink 2");
	try_path("/tmp/esc/proc", "symlink through /proc/self/root");

	/* Hard links to a name outside. */
	if (link("/../secret", "/tmp/esc/hard") == 0)
		try_path("/tmp/esc/hard", "hard link");

	/* O_PATH of the root, then openat of ".." from it. */
	int root = open("/", O_PATH | O_DIRECTORY);
	check_fd(openat(root, "../secret", O_RDONLY), "openat .. from an O_PATH root");
	snprintf(p, sizeof(p), "/proc/self/fd/%d/../secret", root);
	try_path(p, "/proc/self/fd of an O_PATH root");
	/* openat2 with and without RESOLVE_IN_ROOT / BENEATH. */
	struct open_how how = { .flags = O_RDONLY };
	check_fd(syscall(SYS_openat2, root, "../secret", &how, sizeof(how)), "openat2");
	how.resolve = RESOLVE_IN_ROOT;
	check_fd(syscall(SYS_openat2, root, "../secret", &how, sizeof(how)), "openat2 RESOLVE_IN_ROOT");

	/* The classic chroot escape: chroot into a subdirectory keeping a
	 * directory fd outside it, fchdir to that fd, walk up, chroot("."). */
	int outside = open("/", O_RDONLY | O_DIRECTORY);
	mkdir("/tmp/esc/jail", 0755);
	if (chroot("/tmp/esc/jail") == 0) {
		fchdir(outside);
		for (int i = 0; i < 64; i++)
			chdir("..");
		chroot(".");
		try_ups("", "chroot escape");
		try_path("secret", "chroot escape (cwd)");
		if (hostpath)
			try_path(hostpath + 1, "chroot escape (host path from the cwd)");
		try_path("bundle/secret", "chroot escape (cwd, bundle)");
	}

	/* A bind mount of the root's parent. */
	mkdir("/tmp/esc/mnt", 0755);
	if (mount("/..", "/tmp/esc/mnt", NULL, MS_BIND | MS_REC, NULL) == 0)
		try_ups("/tmp/esc/mnt", "bind mount of /..");

	/* A writable volume at /data whose host directory lies beside the
	 * secret: its parent on the host is the bundle. Symlinks planted in
	 * it, followed by the sandbox and seen by the host's gofer. */
	struct stat st;
	if (stat("/data", &st) == 0) {
		try_ups("/data", "volume ..");
		symlink("../secret", "/data/l1");
		symlink("../../secret", "/data/l2");
		symlink("/proc/self/root/../secret", "/data/l3");
		try_path("/data/l1", "volume symlink ../secret");
		try_path("/data/l2", "volume symlink ../../secret");
		try_path("/data/l3", "volume symlink via /proc");
		mkdir("/data/d", 0755);
		symlink("..", "/data/d/up");
		try_path("/data/d/up/../secret", "volume symlink to ..");
		int vol = open("/data", O_PATH | O_DIRECTORY);
		check_fd(openat(vol, "../secret", O_RDONLY), "openat .. from the volume");
		struct open_how h2 = { .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
		check_fd(syscall(SYS_openat2, vol, "l1", &h2, sizeof(h2)), "openat2 BENEATH of a volume symlink");
		if (link("/data/l1", "/data/hl") == 0)
			try_path("/data/hl", "hard link of a volume symlink");
	}

	/* Descriptors the sandbox gave us: the standard ones, walked up. */
	for (int fd = 0; fd < 3; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d/../secret", fd);
		try_path(p, "stdio fd walked up");
	}

	printf("%d escaped\n", escaped);
	puts("done");
	return 0;
}
