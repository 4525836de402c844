/* openat2(2): struct open_how validation (flags, mode, size), the RESOLVE_*
 * flags (BENEATH, IN_ROOT, NO_SYMLINKS, NO_MAGICLINKS, NO_XDEV), O_PATH,
 * O_TMPFILE, O_CREAT|O_EXCL and bad pointers. */
#include "harness.h"
#include <linux/openat2.h>

static char dir[96];

/* openat2 with a struct open_how. With RESOLVE_BENEATH or RESOLVE_IN_ROOT,
 * Linux fails a ".." step with EAGAIN when any mount or rename happened
 * anywhere on the system during the lookup (openat2(2): "the caller should
 * retry"), so such calls are retried. */
static long o2(int dfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
	long r;
	int tries = 0;
	do
		r = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	while (r == -1 && errno == EAGAIN && (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) &&
	       ++tries < 10000);
	return r;
}

/* Reports `name` ok when fd is open and, if `want` (relative to dir) is not
 * NULL, refers to the same file as it; closes fd. */
static void expect_open(const char *name, long fd, const char *want)
{
	int e = errno;
	struct stat a, b;
	char p[160];
	if (fd < 0) {
		FAIL(name, "returned %ld errno %s", fd, h_errname(e));
		return;
	}
	if (want) {
		snprintf(p, sizeof(p), "%s/%s", dir, want);
		if (fstat(fd, &a) != 0 || stat(p, &b) != 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev) {
			FAIL(name, "fd is not %s", p);
			close(fd);
			return;
		}
	}
	h_report(name, 1, "%s", "");
	close(fd);
}

int main(void)
{
	char base[64], p[160];
	struct stat st;
	h_tmp(base, sizeof(base), "openat2");
	snprintf(dir, sizeof(dir), "%s/dir", base);
	umask(0);
	mkdir(base, 0755);
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/file", dir);
	h_write_file(p, "top", 3, 0644);
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/file2", dir);
	h_write_file(p, "two", 3, 0644);
	snprintf(p, sizeof(p), "%s/link_abs", dir);
	symlink("/etc", p);
	snprintf(p, sizeof(p), "%s/link_rel", dir);
	symlink("sub", p);
	snprintf(p, sizeof(p), "%s/link_up", dir);
	symlink("../..", p);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	/* plain opens and validation of struct open_how */
	long fd = o2(dfd, "file", O_RDONLY, 0, 0);
	char buf[16] = { 0 };
	CHECKF("plain_open_reads", fd >= 0 && read(fd, buf, sizeof(buf)) == 3 && memcmp(buf, "top", 3) == 0,
	       "fd %ld errno %s buf '%s'", fd, h_errname(errno), buf);
	if (fd >= 0)
		close(fd);
	expect_open("plain_open_absolute", o2(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, 0), ".");
	fd = o2(dfd, "file", O_RDONLY, 0, 0);
	CHECKF("plain_open_cloexec_not_implied", fd >= 0 && fcntl(fd, F_GETFD) == 0, "fd %ld", fd);
	if (fd >= 0)
		close(fd);
	EXPECT_ERR("flags_unknown_low_bit_einval", o2(dfd, "file", 0x4, 0, 0), EINVAL);
	EXPECT_ERR("flags_upper_bits_einval", o2(dfd, "file", 1ULL << 32, 0, 0), EINVAL);
	EXPECT_ERR("mode_without_creat_einval", o2(dfd, "file", O_RDONLY, 0644, 0), EINVAL);
	EXPECT_ERR("mode_bad_bits_einval", o2(dfd, "newfile", O_CREAT | O_WRONLY, 010644, 0), EINVAL);
	EXPECT_ERR("resolve_unknown_bits_einval", o2(dfd, "file", O_RDONLY, 0, 0x1000), EINVAL);
	EXPECT_ERR("beneath_and_in_root_einval",
		   o2(dfd, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT), EINVAL);
	EXPECT_ERR("tmpfile_rdonly_einval", o2(dfd, ".", O_TMPFILE | O_RDONLY, 0600, 0), EINVAL);
	{
		struct open_how how = { .flags = O_RDONLY };
		EXPECT_ERR("size_zero_einval", syscall(SYS_openat2, dfd, "file", &how, 0), EINVAL);
		EXPECT_ERR("size_16_einval", syscall(SYS_openat2, dfd, "file", &how, 16), EINVAL);
		EXPECT_ERR("size_23_einval", syscall(SYS_openat2, dfd, "file", &how, 23), EINVAL);
		EXPECT_ERR("how_null_efault", syscall(SYS_openat2, dfd, "file", NULL, sizeof(how)), EFAULT);
		EXPECT_ERR("how_unmapped_efault", syscall(SYS_openat2, dfd, "file", h_unmapped(), sizeof(how)), EFAULT);
		EXPECT_ERR("path_unmapped_efault", syscall(SYS_openat2, dfd, h_unmapped(), &how, sizeof(how)), EFAULT);
		EXPECT_ERR("closed_dirfd_ebadf", syscall(SYS_openat2, h_closed_fd(), "file", &how, sizeof(how)), EBADF);
		static struct {
			struct open_how how;
			uint64_t extra[2];
		} big = { .how = { .flags = O_RDONLY } };
		expect_open("size_larger_zero_tail_ok",
			    syscall(SYS_openat2, dfd, "file", &big, sizeof(big)), "file");
		big.extra[1] = 1;
		EXPECT_ERR("size_larger_nonzero_tail_e2big",
			   syscall(SYS_openat2, dfd, "file", &big, sizeof(big)), E2BIG);
		static char page[2 * 4096];
		memcpy(page, &how, sizeof(how));
		EXPECT_ERR("size_over_page_e2big", syscall(SYS_openat2, dfd, "file", page, 4097), E2BIG);
		expect_open("size_page_zero_tail_ok", syscall(SYS_openat2, dfd, "file", page, 4096), "file");
	}

	/* O_CREAT, O_EXCL, O_DIRECTORY */
	fd = o2(dfd, "created", O_CREAT | O_WRONLY, 0640, 0);
	EXPECT_OK("creat_ok", fd);
	if (fd >= 0) {
		fstat(fd, &st);
		EXPECT_EQ("creat_mode", st.st_mode & 07777, 0640);
		close(fd);
	}
	EXPECT_ERR("creat_excl_existing_eexist", o2(dfd, "file", O_CREAT | O_EXCL | O_WRONLY, 0600, 0), EEXIST);
	EXPECT_ERR("directory_on_file_enotdir", o2(dfd, "file", O_RDONLY | O_DIRECTORY, 0, 0), ENOTDIR);
	EXPECT_ERR("missing_enoent", o2(dfd, "nosuch", O_RDONLY, 0, 0), ENOENT);

	/* O_PATH and O_TMPFILE */
	fd = o2(dfd, "file", O_PATH, 0, 0);
	CHECKF("o_path_ok", fd >= 0 && (fcntl(fd, F_GETFL) & O_PATH), "fd %ld errno %s", fd, h_errname(errno));
	if (fd >= 0) {
		EXPECT_ERR("o_path_read_ebadf", read(fd, buf, 1), EBADF);
		close(fd);
	}
	fd = o2(dfd, "link_rel", O_PATH | O_NOFOLLOW, 0, 0);
	CHECKF("o_path_nofollow_symlink", fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode),
	       "fd %ld errno %s", fd, h_errname(errno));
	if (fd >= 0)
		close(fd);
	fd = o2(dfd, ".", O_TMPFILE | O_RDWR, 0600, 0);
	CHECKF("o_tmpfile_ok", fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0,
	       "fd %ld errno %s", fd, h_errname(errno));
	if (fd >= 0) {
		EXPECT_EQ("o_tmpfile_mode", st.st_mode & 07777, 0600);
		EXPECT_EQ("o_tmpfile_write", write(fd, "t", 1), 1);
		close(fd);
	}

	/* RESOLVE_BENEATH */
	expect_open("beneath_file", o2(dfd, "file", O_RDONLY, 0, RESOLVE_BENEATH), "file");
	expect_open("beneath_dotdot_inside", o2(dfd, "sub/../file", O_RDONLY, 0, RESOLVE_BENEATH), "file");
	expect_open("beneath_dot", o2(dfd, ".", O_RDONLY, 0, RESOLVE_BENEATH), ".");
	EXPECT_ERR("beneath_dotdot_exdev", o2(dfd, "../x", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERR("beneath_dotdot_exists_exdev", o2(dfd, "../dir/file", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERR("beneath_sub_dotdot_dotdot_exdev", o2(dfd, "sub/../../x", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERR("beneath_absolute_exdev", o2(dfd, "/etc/passwd", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERR("beneath_link_abs_exdev", o2(dfd, "link_abs", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERR("beneath_link_up_exdev", o2(dfd, "link_up", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	expect_open("beneath_link_rel", o2(dfd, "link_rel/file2", O_RDONLY, 0, RESOLVE_BENEATH), "sub/file2");
	expect_open("beneath_link_up_nofollow_path",
		    o2(dfd, "link_up", O_PATH | O_NOFOLLOW, 0, RESOLVE_BENEATH), NULL);
	EXPECT_ERR("beneath_missing_enoent", o2(dfd, "nosuch", O_RDONLY, 0, RESOLVE_BENEATH), ENOENT);

	/* RESOLVE_IN_ROOT */
	expect_open("in_root_absolute", o2(dfd, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT), "file");
	expect_open("in_root_dotdot_clamped", o2(dfd, "../../file", O_RDONLY, 0, RESOLVE_IN_ROOT), "file");
	expect_open("in_root_slash_is_root", o2(dfd, "/", O_RDONLY, 0, RESOLVE_IN_ROOT), ".");
	expect_open("in_root_link_up_clamped", o2(dfd, "link_up/file", O_RDONLY, 0, RESOLVE_IN_ROOT), "file");
	EXPECT_ERR("in_root_link_abs_missing_enoent", o2(dfd, "link_abs", O_RDONLY, 0, RESOLVE_IN_ROOT), ENOENT);
	EXPECT_ERR("in_root_etc_passwd_enoent", o2(dfd, "/etc/passwd", O_RDONLY, 0, RESOLVE_IN_ROOT), ENOENT);
	snprintf(p, sizeof(p), "%s/etc", dir);
	mkdir(p, 0755);
	expect_open("in_root_link_abs_inside", o2(dfd, "link_abs", O_RDONLY | O_DIRECTORY, 0, RESOLVE_IN_ROOT), "etc");
	expect_open("in_root_link_rel", o2(dfd, "link_rel/file2", O_RDONLY, 0, RESOLVE_IN_ROOT), "sub/file2");

	/* RESOLVE_NO_SYMLINKS */
	EXPECT_ERR("no_symlinks_component_eloop", o2(dfd, "link_rel/file2", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	EXPECT_ERR("no_symlinks_final_eloop", o2(dfd, "link_rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	expect_open("no_symlinks_file", o2(dfd, "file", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), "file");
	expect_open("no_symlinks_nofollow_path",
		    o2(dfd, "link_rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS), NULL);
	EXPECT_ERR("nofollow_symlink_eloop", o2(dfd, "link_rel", O_RDONLY | O_NOFOLLOW, 0, 0), ELOOP);

	/* RESOLVE_NO_MAGICLINKS */
	{
		int ffd = open(dir, O_RDONLY | O_DIRECTORY);
		char magic[64];
		snprintf(magic, sizeof(magic), "/proc/self/fd/%d", ffd);
		EXPECT_ERR("no_magiclinks_eloop", o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
		snprintf(magic, sizeof(magic), "/proc/self/fd/%d/file", ffd);
		EXPECT_ERR("no_magiclinks_component_eloop",
			   o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
		expect_open("magiclink_without_flag", o2(AT_FDCWD, magic, O_RDONLY, 0, 0), "file");
		EXPECT_ERR("no_symlinks_blocks_magiclink",
			   o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
		expect_open("no_magiclinks_plain_symlink_ok",
			    o2(dfd, "link_rel/file2", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), "sub/file2");
		close(ffd);
	}

	/* RESOLVE_NO_XDEV */
	{
		int root = open("/", O_RDONLY | O_DIRECTORY);
		EXPECT_ERR("no_xdev_into_proc_exdev", o2(root, "proc/self", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
		EXPECT_ERR("no_xdev_mountpoint_exdev", o2(root, "proc", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
		EXPECT_ERR("no_xdev_absolute_proc_exdev",
			   o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
		expect_open("no_xdev_same_mount", o2(dfd, "sub/file2", O_RDONLY, 0, RESOLVE_NO_XDEV), "sub/file2");
		close(root);
		int pfd = open("/proc", O_RDONLY | O_DIRECTORY);
		EXPECT_ERR("no_xdev_dotdot_out_of_mount_exdev",
			   o2(pfd, "..", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
		close(pfd);
	}

	close(dfd);
	snprintf(p, sizeof(p), "%s/etc", dir);
	rmdir(p);
	const char *files[] = { "file", "sub/file2", "link_abs", "link_rel", "link_up", "created",
				"newfile", NULL };
	for (int i = 0; files[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
	rmdir(base);
	CHECK("cleanup", access(base, F_OK) != 0);
	return 0;
}
