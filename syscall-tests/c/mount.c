/* mount(2)/umount2(2) as root, in a private mount namespace: tmpfs (size,
 * mode, read-only), bind mounts and read-only remounts, proc and sysfs,
 * stacking, busy mounts and MNT_DETACH, namespaces, and the errno of bad
 * input. */
#include "harness.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>

static char base[64];

static char *P(char *buf, const char *name)
{
	snprintf(buf, 128, "%s/%s", base, name);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static dev_t dev_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_dev : (dev_t)-1;
}

/* Reads up to n-1 bytes of a file into buf; returns the count or -1. */
static ssize_t read_str(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return r;
}

/* Whether /proc/self/mountinfo has a line for mount point `mp` of type fs
 * (any type when fs is NULL). */
static int mountinfo_has(const char *mp, const char *fs)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024], point[512], type[64];
	int found = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (sscanf(line, "%*d %*d %*s %*s %511s", point) == 1 && sep &&
		    sscanf(sep + 3, "%63s", type) == 1 && strcmp(point, mp) == 0 &&
		    (!fs || strcmp(type, fs) == 0))
			found = 1;
	}
	fclose(f);
	return found;
}

/* Whether /proc/mounts has a line for mount point `mp` of type fs. */
static int proc_mounts_has(const char *mp, const char *fs)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[1024], point[512], type[64];
	int found = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %511s %63s", point, type) == 2 &&
		    strcmp(point, mp) == 0 && strcmp(type, fs) == 0)
			found = 1;
	fclose(f);
	return found;
}

static const char *dirs[] = { "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
			      "src", "tgt", "plain", "proc", "sys", "stack", "rsrc/sub", "rsrc", "rtgt", "ntgt", NULL };
static const char *files[] = { "t1/hidden", "src/a", "src/b", "src/c", "srcfile",
			       "tgtfile", "regfile", NULL };

static void cleanup(void)
{
	char p[128];
	for (int i = 0; dirs[i]; i++)
		while (umount2(P(p, dirs[i]), MNT_DETACH) == 0)
			;
	for (int i = 0; files[i]; i++)
		while (umount2(P(p, files[i]), MNT_DETACH) == 0)
			;
	for (int i = 0; files[i]; i++)
		unlink(P(p, files[i]));
	for (int i = 0; dirs[i]; i++)
		rmdir(P(p, dirs[i]));
	rmdir(base);
}

int main(void)
{
	char p[128], q[128], buf[256], orig[PATH_MAX];
	struct stat st, st2;
	struct statfs sf;
	int fd;

	getcwd(orig, sizeof(orig));
	h_tmp(base, sizeof(base), "mount");

	EXPECT_EQ("unshare_newns", unshare(CLONE_NEWNS), 0);
	errno = 0;
	int priv = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	EXPECT_EQ("make_root_private", priv, 0);
	if (priv != 0)
		return 0; /* never mount anything that could reach the host */

	mkdir(base, 0755);
	chmod(base, 0755);
	for (int i = 0; dirs[i]; i++) {
		mkdir(P(p, dirs[i]), 0755);
		chmod(p, 0755);
	}
	h_write_file(P(p, "t1/hidden"), "under", 5, 0644);

	/* A plain tmpfs. */
	EXPECT_EQ("mount_tmpfs", mount("tmpfs", P(p, "t1"), "tmpfs", 0, NULL), 0);
	CHECK("tmpfs_hides_underlying", !exists(P(p, "t1/hidden")));
	EXPECT_EQ("tmpfs_create_file", h_write_file(P(p, "t1/f"), "data", 4, 0644), 0);
	CHECK("tmpfs_file_visible", exists(P(p, "t1/f")));
	CHECK("tmpfs_st_dev_differs", dev_of(P(p, "t1")) != dev_of(base));
	stat(P(p, "t1"), &st);
	EXPECT_EQ("tmpfs_default_mode_1777", st.st_mode & 07777, 01777);
	/* A tmpfs directory's size: 20 bytes an entry, "." and ".." too. */
	EXPECT_EQ("tmpfs_dir_size_one_entry", st.st_size, 60);
	mkdir(P(p, "t1/d"), 0755);
	stat(P(p, "t1/d"), &st);
	EXPECT_EQ("tmpfs_empty_dir_size", st.st_size, 40);
	EXPECT_EQ("tmpfs_dir_blocks", st.st_blocks, 0);
	rmdir(P(p, "t1/d"));
	stat(P(p, "t1"), &st);
	EXPECT_EQ("tmpfs_dir_size_after_rmdir", st.st_size, 60);
	statfs(P(p, "t1"), &sf);
	EXPECT_EQ("tmpfs_statfs_magic", sf.f_type, TMPFS_MAGIC);
	EXPECT_EQ("mountinfo_has_tmpfs", mountinfo_has(P(p, "t1"), "tmpfs"), 1);
	EXPECT_EQ("proc_mounts_has_tmpfs", proc_mounts_has(P(p, "t1"), "tmpfs"), 1);

	/* size=64k */
	EXPECT_EQ("mount_tmpfs_size", mount("tmpfs", P(p, "t2"), "tmpfs", 0, "size=64k"), 0);
	statfs(P(p, "t2"), &sf);
	EXPECT_EQ("tmpfs_size_statfs_bytes", (long long)sf.f_blocks * sf.f_bsize, 65536);
	{
		static char big[1 << 20];
		long total = 0, r;
		int err = 0;
		fd = open(P(p, "t2/big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		EXPECT_OK("tmpfs_size_open", fd);
		while ((r = write(fd, big + total, sizeof(big) - total)) > 0)
			total += r;
		err = errno;
		CHECKF("tmpfs_size_enospc", r == -1 && err == ENOSPC && total > 0 && total <= 65536 + 4096,
		       "total %ld r %ld errno %s", total, r, h_errname(err));
		close(fd);
		unlink(P(p, "t2/big"));
	}

	/* mode=0700 */
	EXPECT_EQ("mount_tmpfs_mode", mount("tmpfs", P(p, "t3"), "tmpfs", 0, "mode=0700"), 0);
	stat(P(p, "t3"), &st);
	EXPECT_EQ("tmpfs_mode_option", st.st_mode & 07777, 0700);

	/* umount */
	EXPECT_EQ("umount", umount2(P(p, "t1"), 0), 0);
	CHECK("umount_file_gone", !exists(P(p, "t1/f")));
	CHECK("umount_reveals_underlying", exists(P(p, "t1/hidden")));
	EXPECT_EQ("umount_st_dev_restored", dev_of(P(p, "t1")), dev_of(base));
	EXPECT_EQ("umount_mountinfo_gone", mountinfo_has(P(p, "t1"), "tmpfs"), 0);
	EXPECT_ERR("umount_again_einval", umount2(P(p, "t1"), 0), EINVAL);
	EXPECT_ERR("umount_not_mountpoint_einval", umount2(P(p, "plain"), 0), EINVAL);
	EXPECT_ERR("umount_missing_enoent", umount2(P(p, "nosuch"), 0), ENOENT);
	EXPECT_ERR("umount_bad_flags_einval", umount2(P(p, "t3"), 0x80000000), EINVAL);
	EXPECT_ERR("umount_expire_detach_einval", umount2(P(p, "t3"), MNT_EXPIRE | MNT_DETACH), EINVAL);
	EXPECT_ERR("umount_efault", umount2((char *)h_unmapped(), 0), EFAULT);
	EXPECT_ERR("umount_expire_first_eagain", umount2(P(p, "t3"), MNT_EXPIRE), EAGAIN);
	EXPECT_EQ("umount_expire_second", umount2(P(p, "t3"), MNT_EXPIRE), 0);

	/* busy mounts */
	mount("tmpfs", P(p, "t4"), "tmpfs", 0, NULL);
	h_write_file(P(p, "t4/f"), "busy", 4, 0644);
	fd = open(P(p, "t4/f"), O_RDONLY);
	EXPECT_ERR("umount_busy_open_fd_ebusy", umount2(P(p, "t4"), 0), EBUSY);
	EXPECT_EQ("umount_detach_busy", umount2(P(p, "t4"), MNT_DETACH), 0);
	CHECK("detach_hides_path", !exists(P(p, "t4/f")));
	memset(buf, 0, sizeof(buf));
	CHECKF("detached_fd_still_readable", pread(fd, buf, 4, 0) == 4 && memcmp(buf, "busy", 4) == 0,
	       "read '%s'", buf);
	close(fd);
	mount("tmpfs", P(p, "t5"), "tmpfs", 0, NULL);
	chdir(P(p, "t5"));
	EXPECT_ERR("umount_busy_cwd_ebusy", umount2(P(p, "t5"), 0), EBUSY);
	EXPECT_EQ("umount_detach_busy_cwd", umount2(P(p, "t5"), MNT_DETACH), 0);
	chdir(orig);

	/* mount errors */
	EXPECT_ERR("mount_unknown_fstype_enodev", mount("x", P(p, "plain"), "nosuchfs", 0, NULL), ENODEV);
	EXPECT_ERR("mount_missing_target_enoent", mount("tmpfs", P(p, "nosuch"), "tmpfs", 0, NULL), ENOENT);
	EXPECT_ERR("mount_null_target_efault", syscall(SYS_mount, "tmpfs", NULL, "tmpfs", 0, NULL), EFAULT);
	EXPECT_ERR("mount_bad_target_efault", syscall(SYS_mount, "tmpfs", h_unmapped(), "tmpfs", 0, NULL), EFAULT);
	EXPECT_ERR("mount_bad_fstype_efault", syscall(SYS_mount, "tmpfs", P(p, "plain"), h_unmapped(), 0, NULL), EFAULT);
	h_write_file(P(p, "regfile"), "r", 1, 0644);
	EXPECT_ERR("mount_tmpfs_on_file_enotdir", mount("tmpfs", P(p, "regfile"), "tmpfs", 0, NULL), ENOTDIR);
	EXPECT_ERR("mount_ms_nouser_einval", mount("tmpfs", P(p, "plain"), "tmpfs", MS_NOUSER, NULL), EINVAL);
	CHECK("mount_errors_left_no_mount", dev_of(P(p, "plain")) == dev_of(base));

	/* bind mounts */
	h_write_file(P(p, "src/a"), "hello", 5, 0644);
	EXPECT_EQ("bind_dir", mount(P(p, "src"), P(q, "tgt"), NULL, MS_BIND, NULL), 0);
	memset(buf, 0, sizeof(buf));
	read_str(P(p, "tgt/a"), buf, sizeof(buf));
	CHECKF("bind_content_visible", strcmp(buf, "hello") == 0, "read '%s'", buf);
	h_write_file(P(p, "tgt/b"), "b", 1, 0644);
	CHECK("bind_create_visible_in_source", exists(P(p, "src/b")));
	stat(P(p, "src/a"), &st);
	stat(P(p, "tgt/a"), &st2);
	CHECK("bind_same_inode", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
	EXPECT_EQ("mountinfo_has_bind", mountinfo_has(P(p, "tgt"), NULL), 1);
	EXPECT_ERR("bind_missing_source_enoent", mount(P(p, "nosuch"), P(q, "plain"), NULL, MS_BIND, NULL), ENOENT);
	EXPECT_ERR("bind_file_on_dir_enotdir", mount(P(p, "src/a"), P(q, "plain"), NULL, MS_BIND, NULL), ENOTDIR);
	h_write_file(P(p, "srcfile"), "filedata", 8, 0644);
	h_write_file(P(p, "tgtfile"), "", 0, 0644);
	EXPECT_EQ("bind_file", mount(P(p, "srcfile"), P(q, "tgtfile"), NULL, MS_BIND, NULL), 0);
	memset(buf, 0, sizeof(buf));
	read_str(P(p, "tgtfile"), buf, sizeof(buf));
	CHECKF("bind_file_content", strcmp(buf, "filedata") == 0, "read '%s'", buf);
	EXPECT_EQ("umount_bind_file", umount2(P(p, "tgtfile"), 0), 0);
	stat(P(p, "tgtfile"), &st);
	EXPECT_EQ("umount_bind_file_restores", st.st_size, 0);

	/* read-only remount of the bind mount */
	EXPECT_EQ("remount_bind_rdonly",
		  mount(NULL, P(p, "tgt"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
	EXPECT_ERR("rdonly_bind_create_erofs", open(P(p, "tgt/c"), O_WRONLY | O_CREAT, 0644), EROFS);
	EXPECT_ERR("rdonly_bind_open_write_erofs", open(P(p, "tgt/a"), O_WRONLY), EROFS);
	EXPECT_ERR("rdonly_bind_mkdir_erofs", mkdir(P(p, "tgt/d"), 0755), EROFS);
	EXPECT_ERR("rdonly_bind_unlink_erofs", unlink(P(p, "tgt/b")), EROFS);
	fd = open(P(p, "tgt/a"), O_RDONLY);
	EXPECT_OK("rdonly_bind_open_read", fd);
	close(fd);
	EXPECT_EQ("rdonly_bind_source_writable", h_write_file(P(p, "src/c"), "c", 1, 0644), 0);
	CHECK("rdonly_bind_sees_source_write", exists(P(p, "tgt/c")));
	statfs(P(p, "tgt"), &sf);
	CHECKF("rdonly_bind_statfs_flag", sf.f_flags & ST_RDONLY, "f_flags %#lx", (long)sf.f_flags);
	statfs(P(p, "src"), &sf);
	CHECKF("source_statfs_not_rdonly", !(sf.f_flags & ST_RDONLY), "f_flags %#lx", (long)sf.f_flags);
	EXPECT_EQ("remount_bind_rw", mount(NULL, P(p, "tgt"), NULL, MS_REMOUNT | MS_BIND, NULL), 0);
	fd = open(P(p, "tgt/a"), O_WRONLY);
	EXPECT_OK("rw_bind_open_write", fd);
	close(fd);
	EXPECT_EQ("umount_bind_dir", umount2(P(p, "tgt"), 0), 0);
	CHECK("umount_bind_dir_empty", !exists(P(p, "tgt/a")));

	/* recursive bind: the source's submounts come along (not without
	 * MS_REC) */
	mkdir(P(p, "rsrc"), 0755);
	mkdir(P(p, "rsrc/sub"), 0755);
	mkdir(P(p, "rtgt"), 0755);
	mkdir(P(p, "ntgt"), 0755);
	EXPECT_EQ("rbind_submount_tmpfs", mount("tmpfs", P(p, "rsrc/sub"), "tmpfs", 0, NULL), 0);
	h_write_file(P(p, "rsrc/sub/inner"), "in", 2, 0644);
	EXPECT_EQ("rbind_dir", mount(P(p, "rsrc"), P(q, "rtgt"), NULL, MS_BIND | MS_REC, NULL), 0);
	CHECK("rbind_sees_submount_content", exists(P(p, "rtgt/sub/inner")));
	EXPECT_EQ("rbind_mountinfo_has_copy", mountinfo_has(P(p, "rtgt/sub"), "tmpfs"), 1);
	EXPECT_EQ("plain_bind_dir", mount(P(p, "rsrc"), P(q, "ntgt"), NULL, MS_BIND, NULL), 0);
	CHECK("plain_bind_lacks_submount", !exists(P(p, "ntgt/sub/inner")));
	EXPECT_ERR("rbind_umount_busy", umount2(P(p, "rtgt"), 0), EBUSY);
	EXPECT_EQ("rbind_umount_detach", umount2(P(p, "rtgt"), MNT_DETACH), 0);
	CHECK("rbind_gone_with_submounts", !exists(P(p, "rtgt/sub")) && mountinfo_has(P(p, "rtgt/sub"), NULL) == 0);
	umount2(P(p, "ntgt"), 0);
	umount2(P(p, "rsrc/sub"), 0);

	/* read-only tmpfs */
	EXPECT_EQ("mount_tmpfs_rdonly", mount("tmpfs", P(p, "t6"), "tmpfs", MS_RDONLY, NULL), 0);
	EXPECT_ERR("tmpfs_rdonly_create_erofs", open(P(p, "t6/x"), O_WRONLY | O_CREAT, 0644), EROFS);
	statfs(P(p, "t6"), &sf);
	CHECK("tmpfs_rdonly_statfs_flag", sf.f_flags & ST_RDONLY);

	/* proc and sysfs */
	EXPECT_EQ("mount_proc", mount("proc", P(p, "proc"), "proc", 0, NULL), 0);
	CHECK("proc_self_status", exists(P(p, "proc/self/status")));
	statfs(P(p, "proc"), &sf);
	EXPECT_EQ("proc_statfs_magic", sf.f_type, PROC_SUPER_MAGIC);
	EXPECT_EQ("mount_sysfs", mount("sysfs", P(p, "sys"), "sysfs", 0, NULL), 0);
	memset(buf, 0, sizeof(buf));
	ssize_t n = read_str(P(p, "sys/devices/system/cpu/online"), buf, sizeof(buf));
	CHECKF("sysfs_cpu_online", n > 1 && buf[0] >= '0' && buf[0] <= '9' && buf[n - 1] == '\n',
	       "n %zd '%s'", n, buf);
	statfs(P(p, "sys"), &sf);
	EXPECT_EQ("sysfs_statfs_magic", sf.f_type, SYSFS_MAGIC);

	/* stacked mounts */
	mount("tmpfs", P(p, "stack"), "tmpfs", 0, NULL);
	h_write_file(P(p, "stack/first"), "1", 1, 0644);
	EXPECT_EQ("mount_stacked", mount("tmpfs", P(p, "stack"), "tmpfs", 0, NULL), 0);
	CHECK("stacked_hides_first", !exists(P(p, "stack/first")));
	h_write_file(P(p, "stack/second"), "2", 1, 0644);
	EXPECT_EQ("umount_stacked_top", umount2(P(p, "stack"), 0), 0);
	CHECK("stacked_reveals_first", exists(P(p, "stack/first")) && !exists(P(p, "stack/second")));
	EXPECT_EQ("umount_stacked_bottom", umount2(P(p, "stack"), 0), 0);

	/* a child in its own namespace: its mount is not ours */
	{
		int go[2], done[2];
		char c;
		pipe(go);
		pipe(done);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(go[0]);
			close(done[1]);
			int ok = unshare(CLONE_NEWNS) == 0 &&
				 mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
				 mount("tmpfs", P(p, "t7"), "tmpfs", 0, NULL) == 0 &&
				 h_write_file(P(p, "t7/childfile"), "c", 1, 0644) == 0 &&
				 exists(P(p, "t7/childfile"));
			write(go[1], ok ? "y" : "n", 1);
			read(done[0], &c, 1);
			_exit(0);
		}
		close(go[1]); /* so that a dead child reads as EOF */
		close(done[0]);
		c = 'n';
		read(go[0], &c, 1);
		CHECK("child_ns_mount_ok", c == 'y');
		CHECK("child_ns_mount_not_seen_by_parent", !exists(P(p, "t7/childfile")));
		CHECK("child_ns_parent_same_dev", dev_of(P(p, "t7")) == dev_of(base));
		write(done[1], "x", 1);
		waitpid(pid, NULL, 0);
		close(go[0]);
		close(done[1]);
	}

	/* a child in our namespace: its mount is ours */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(mount("tmpfs", P(p, "t8"), "tmpfs", 0, NULL) == 0 &&
		      h_write_file(P(p, "t8/childfile"), "c", 1, 0644) == 0 ? 0 : 1);
	int status, code;
	waitpid(pid, &status, 0);
	EXPECT_EQ("child_same_ns_mount_ok", status, 0);
	CHECK("child_same_ns_mount_shared", exists(P(p, "t8/childfile")));
	EXPECT_EQ("umount_child_mount", umount2(P(p, "t8"), 0), 0);

	/* A read-only root: a bind remount of "/" in a child's own namespace. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int code = 0;
		if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
			_exit(200);
		if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
			_exit(201);
		errno = 0;
		if (mkdir("/st_ro_probe", 0755) == 0)
			rmdir("/st_ro_probe");
		else if (errno == EROFS)
			code |= 1;
		errno = 0;
		int wfd = open("/etc/passwd", O_WRONLY);
		if (wfd >= 0)
			close(wfd);
		else if (errno == EROFS)
			code |= 2;
		errno = 0;
		wfd = open("/st_ro_file", O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (wfd >= 0) {
			close(wfd);
			unlink("/st_ro_file");
		} else if (errno == EROFS)
			code |= 4;
		struct stat pst;
		errno = 0;
		if (stat("/etc/passwd", &pst) == 0 && chmod("/etc/passwd", pst.st_mode & 07777) == -1 && errno == EROFS)
			code |= 8;
		int rfd = open("/etc/passwd", O_RDONLY);
		if (rfd >= 0) {
			code |= 16;
			close(rfd);
		}
		struct statfs rsf;
		if (statfs("/", &rsf) == 0 && (rsf.f_flags & ST_RDONLY))
			code |= 32;
		if (access("/etc/passwd", W_OK) == -1 && errno == EROFS && access("/etc/passwd", R_OK) == 0)
			code |= 64;
		_exit(code);
	}
	waitpid(pid, &status, 0);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
	CHECKF("rdonly_root_remount", code < 200, "status %#x", status);
	CHECKF("rdonly_root_mkdir_erofs", code < 200 && (code & 1), "code %d", code);
	CHECKF("rdonly_root_open_write_erofs", code < 200 && (code & 2), "code %d", code);
	CHECKF("rdonly_root_create_erofs", code < 200 && (code & 4), "code %d", code);
	CHECKF("rdonly_root_chmod_erofs", code < 200 && (code & 8), "code %d", code);
	CHECKF("rdonly_root_read_ok", code < 200 && (code & 16), "code %d", code);
	CHECKF("rdonly_root_statfs_flag", code < 200 && (code & 32), "code %d", code);
	CHECKF("rdonly_root_access_w_erofs", code < 200 && (code & 64), "code %d", code);
	CHECK("rdonly_root_parent_writable", h_write_file(P(p, "rwcheck"), "w", 1, 0644) == 0);
	unlink(P(p, "rwcheck"));

	/* unprivileged */
	mount("tmpfs", P(p, "t9"), "tmpfs", 0, NULL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(100);
		int code = 0;
		errno = 0;
		if (!(mount("tmpfs", P(p, "plain"), "tmpfs", 0, NULL) == -1 && errno == EPERM))
			code |= 1;
		errno = 0;
		if (!(umount2(P(p, "t9"), 0) == -1 && errno == EPERM))
			code |= 2;
		errno = 0;
		if (!(umount2(P(p, "plain"), 0) == -1 && errno == EPERM))
			code |= 4;
		errno = 0;
		if (!(umount2(P(p, "nosuch"), 0) == -1 && errno == ENOENT))
			code |= 8;
		errno = 0;
		if (!(mount("tmpfs", P(p, "nosuch"), "tmpfs", 0, NULL) == -1 && errno == ENOENT))
			code |= 16;
		errno = 0;
		if (!(umount2(P(p, "t9"), 0x80000000) == -1 && errno == EINVAL))
			code |= 32;
		errno = 0;
		if (!(mount(NULL, P(p, "t9"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == -1 && errno == EPERM))
			code |= 64;
		_exit(code);
	}
	waitpid(pid, &status, 0);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 200;
	CHECKF("nonroot_setuid", code != 100, "status %#x", status);
	CHECKF("nonroot_mount_eperm", !(code & 1), "code %d", code);
	CHECKF("nonroot_umount_eperm", !(code & 2), "code %d", code);
	CHECKF("nonroot_umount_not_mountpoint_eperm", !(code & 4), "code %d", code);
	CHECKF("nonroot_umount_missing_enoent", !(code & 8), "code %d", code);
	CHECKF("nonroot_mount_missing_target_enoent", !(code & 16), "code %d", code);
	CHECKF("nonroot_umount_bad_flags_einval", !(code & 32), "code %d", code);
	CHECKF("nonroot_remount_eperm", !(code & 64), "code %d", code);
	CHECK("nonroot_mount_still_there", dev_of(P(p, "t9")) != dev_of(base));

	cleanup();
	CHECK("cleanup_removed_dir", !exists(base));
	return 0;
}
