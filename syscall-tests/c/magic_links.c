/* /proc magic links (fd, cwd, root) followed to the file itself, not to
 * the path readlink shows: deleted and renamed files, pipes (/dev/stdin,
 * bash's <(...)), O_TMPFILE files named with linkat, and a renamed cwd. */
#include "harness.h"
#include <sys/syscall.h>
#include <linux/openat2.h>

static int o2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)flags, .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int read_is(int fd, const char *want)
{
	char buf[64] = {0};
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

static const char *fdlink(int fd)
{
	static char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return p;
}

int main(void)
{
	char path[128], other[160], dir[128], file[192], buf[PATH_MAX];
	struct stat a, b;

	/* A deleted file, reached through its fd's link. */
	h_tmp(path, sizeof(path), "magic_del");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "data", 4);
	unlink(path);
	ssize_t n = readlink(fdlink(fd), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	snprintf(other, sizeof(other), "%s (deleted)", path);
	CHECKF("deleted_readlink_says_deleted", strcmp(buf, other) == 0, "'%s'", buf);
	int re = open(fdlink(fd), O_RDONLY);
	CHECKF("deleted_open_through_link", re >= 0 && read_is(re, "data"), "errno %s", h_errname(errno));
	CHECK("deleted_reopen_is_new_description", re >= 0 && lseek(re, 0, SEEK_CUR) == 0 && lseek(fd, 0, SEEK_CUR) == 4);
	close(re);
	EXPECT_OK("deleted_chmod_through_link", chmod(fdlink(fd), 0640));
	fstat(fd, &a);
	CHECKF("deleted_chmod_took", (a.st_mode & 07777) == 0640, "mode %o", a.st_mode & 07777);
	CHECK("deleted_stat_through_link", stat(fdlink(fd), &b) == 0 && a.st_ino == b.st_ino && b.st_nlink == 0);
	EXPECT_OK("deleted_truncate_through_link", truncate(fdlink(fd), 2));
	CHECK("deleted_truncate_took", fstat(fd, &a) == 0 && a.st_size == 2);
	CHECK("lstat_of_link_is_a_link", lstat(fdlink(fd), &b) == 0 && S_ISLNK(b.st_mode));
	close(fd);

	/* A renamed file: the link leads to it, not to the old name. */
	h_tmp(path, sizeof(path), "magic_old");
	h_tmp(other, sizeof(other), "magic_new");
	h_write_file(path, "first", 5, 0644);
	fd = open(path, O_RDONLY);
	rename(path, other);
	h_write_file(path, "imposter", 8, 0644);
	re = open(fdlink(fd), O_RDONLY);
	CHECK("renamed_open_through_link", re >= 0 && read_is(re, "first"));
	close(re);
	close(fd);
	unlink(path);
	unlink(other);

	/* Pipes: another end of the same pipe, never waiting for a peer. */
	int p[2];
	pipe(p);
	write(p[1], "pp", 2);
	n = readlink(fdlink(p[0]), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	fstat(p[0], &a);
	snprintf(other, sizeof(other), "pipe:[%lu]", (unsigned long)a.st_ino);
	CHECKF("pipe_readlink", strcmp(buf, other) == 0, "'%s' vs '%s'", buf, other);
	int r2 = open(fdlink(p[0]), O_RDONLY);
	char two[3] = {0};
	CHECK("pipe_read_through_link", r2 >= 0 && read(r2, two, 2) == 2 && strcmp(two, "pp") == 0);
	int w2 = open(fdlink(p[1]), O_WRONLY);
	CHECK("pipe_write_through_link", w2 >= 0 && write(w2, "qq", 2) == 2 && read(p[0], two, 2) == 2 && strcmp(two, "qq") == 0);
	CHECK("pipe_reopen_same_inode", fstat(r2, &b) == 0 && a.st_ino == b.st_ino && S_ISFIFO(b.st_mode));
	close(p[1]);
	close(w2);
	/* No writer left: a read end opened now neither waits nor fails. */
	int r3 = open(fdlink(p[0]), O_RDONLY);
	CHECK("pipe_reopen_without_writer", r3 >= 0 && read(r3, two, 2) == 0);
	close(r3);
	close(r2);
	close(p[0]);

	/* O_TMPFILE named through its link. */
	h_tmp(path, sizeof(path), "magic_tmp");
	fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	CHECKF("tmpfile_opens", fd >= 0, "errno %s", h_errname(errno));
	write(fd, "tmp", 3);
	EXPECT_OK("tmpfile_linkat_through_link", linkat(AT_FDCWD, fdlink(fd), AT_FDCWD, path, AT_SYMLINK_FOLLOW));
	re = open(path, O_RDONLY);
	CHECK("tmpfile_linked_reads", re >= 0 && read_is(re, "tmp"));
	close(re);
	close(fd);
	unlink(path);

	/* The cwd's link follows a rename of the directory. */
	h_tmp(dir, sizeof(dir), "magic_dir");
	h_tmp(other, sizeof(other), "magic_dir2");
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/f", dir);
	h_write_file(file, "incwd", 5, 0644);
	char old[PATH_MAX];
	getcwd(old, sizeof(old));
	chdir(dir);
	rename(dir, other);
	re = open("/proc/self/cwd/f", O_RDONLY);
	CHECK("cwd_link_follows_rename", re >= 0 && read_is(re, "incwd"));
	close(re);
	chdir(old);
	snprintf(file, sizeof(file), "%s/f", other);
	unlink(file);
	rmdir(other);
	re = open("/proc/self/root/proc/self/status", O_RDONLY);
	CHECK("root_link_walks_on", re >= 0);
	close(re);

	/* Within a scoped walk, a magic link is EXDEV (Linux's nd_jump_link). */
	int pfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
	snprintf(buf, sizeof(buf), "%d", pfd);
	EXPECT_ERR("beneath_magic_exdev", o2(pfd, buf, O_RDONLY, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERR("in_root_magic_exdev", o2(pfd, buf, O_RDONLY, RESOLVE_IN_ROOT), EXDEV);
	EXPECT_ERR("no_magiclinks_eloop", o2(pfd, buf, O_RDONLY, RESOLVE_NO_MAGICLINKS), ELOOP);
	close(pfd);
	return 0;
}
