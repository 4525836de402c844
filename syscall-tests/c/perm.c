/* Permission checks by uid, gid and mode for an unprivileged process:
 * open for reading and writing, O_TRUNC, truncate, creating and removing
 * names in a directory (and the sticky bit), chmod, chown and utimensat by
 * owner and non-owner. The files are made as root, then a child drops to
 * uid/gid 65534 and tries. Run as root (natively and in the sandbox). */
#define _GNU_SOURCE
#include "harness.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>

static char dir[64], file[96], sticky[64], rootf[96], mine[96], priv[64], privf[96];

static void as_nobody(void)
{
	EXPECT_EQ("drop_groups", setgroups(0, NULL), 0);
	EXPECT_EQ("drop_gid", setgid(65534), 0);
	EXPECT_EQ("drop_uid", setuid(65534), 0);

	EXPECT_OK("open_read_allowed", open(file, O_RDONLY));
	EXPECT_ERR("open_write_eacces", open(file, O_WRONLY), EACCES);
	EXPECT_ERR("open_rdwr_eacces", open(file, O_RDWR), EACCES);
	EXPECT_ERR("open_trunc_eacces", open(file, O_RDONLY | O_TRUNC), EACCES);
	EXPECT_ERR("truncate_eacces", truncate(file, 0), EACCES);
	EXPECT_ERR("chmod_not_owner_eperm", chmod(file, 0777), EPERM);
	EXPECT_ERR("chown_not_owner_eperm", chown(file, 65534, -1), EPERM);
	EXPECT_ERR("chgrp_not_owner_eperm", chown(file, -1, 65534), EPERM);
	struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	EXPECT_ERR("utimensat_times_not_owner_eperm", utimensat(AT_FDCWD, file, ts, 0), EPERM);
	EXPECT_ERR("utimensat_now_no_write_eacces", utimensat(AT_FDCWD, file, NULL, 0), EACCES);
	EXPECT_ERR("access_w_eacces", access(file, W_OK), EACCES);
	char *argv[] = { file, NULL };
	EXPECT_ERR("exec_owner_only_x_eacces", execv(file, argv), EACCES);

	char p[128];
	snprintf(p, sizeof(p), "%s/new", dir);
	EXPECT_ERR("create_in_root_dir_eacces", open(p, O_WRONLY | O_CREAT, 0644), EACCES);
	EXPECT_ERR("mkdir_in_root_dir_eacces", mkdir(p, 0755), EACCES);
	EXPECT_ERR("unlink_in_root_dir_eacces", unlink(file), EACCES);
	EXPECT_ERR("rename_in_root_dir_eacces", rename(file, p), EACCES);
	EXPECT_ERR("symlink_in_root_dir_eacces", symlink("x", p), EACCES);

	/* A directory others may not search. */
	struct stat sb;
	EXPECT_ERR("stat_through_unsearchable_eacces", stat(privf, &sb), EACCES);
	EXPECT_ERR("open_through_unsearchable_eacces", open(privf, O_RDONLY), EACCES);
	EXPECT_ERR("chdir_unsearchable_eacces", chdir(priv), EACCES);
	EXPECT_OK("stat_unsearchable_dir_itself", stat(priv, &sb));

	/* A sticky, world-writable directory. */
	int fd = open(mine, O_WRONLY | O_CREAT | O_EXCL, 0600);
	EXPECT_OK("create_in_sticky_dir", fd);
	close(fd);
	EXPECT_ERR("unlink_others_in_sticky_eperm", unlink(rootf), EPERM);
	snprintf(p, sizeof(p), "%s/moved", sticky);
	EXPECT_ERR("rename_others_in_sticky_eperm", rename(rootf, p), EPERM);
	/* One's own file. */
	EXPECT_EQ("chmod_own", chmod(mine, 0640), 0);
	EXPECT_EQ("chgrp_own_to_own_group", chown(mine, -1, 65534), 0);
	EXPECT_ERR("chgrp_own_to_other_group_eperm", chown(mine, -1, 0), EPERM);
	EXPECT_ERR("chown_own_to_root_eperm", chown(mine, 0, -1), EPERM);
	EXPECT_EQ("chown_own_to_self_ok", chown(mine, 65534, -1), 0);
	EXPECT_EQ("utimensat_own_times", utimensat(AT_FDCWD, mine, ts, 0), 0);
	EXPECT_EQ("rename_own_in_sticky", rename(mine, p), 0);
	EXPECT_EQ("unlink_own_in_sticky", unlink(p), 0);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/st_perm_%d", (int)getpid());
	snprintf(file, sizeof(file), "%s/f", dir);
	snprintf(sticky, sizeof(sticky), "/tmp/st_sticky_%d", (int)getpid());
	snprintf(rootf, sizeof(rootf), "%s/rootf", sticky);
	snprintf(mine, sizeof(mine), "%s/mine", sticky);
	EXPECT_EQ("mkdir_dir", mkdir(dir, 0755), 0);
	EXPECT_EQ("chmod_dir", chmod(dir, 0755), 0);
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	EXPECT_OK("create_file", fd);
	write(fd, "data", 4);
	close(fd);
	EXPECT_EQ("chmod_file", chmod(file, 0744), 0);
	snprintf(priv, sizeof(priv), "/tmp/st_priv_%d", (int)getpid());
	snprintf(privf, sizeof(privf), "%s/f", priv);
	EXPECT_EQ("mkdir_priv", mkdir(priv, 0700), 0);
	fd = open(privf, O_WRONLY | O_CREAT, 0644);
	EXPECT_OK("create_privf", fd);
	close(fd);
	EXPECT_EQ("mkdir_sticky", mkdir(sticky, 0777), 0);
	EXPECT_EQ("chmod_sticky", chmod(sticky, 01777), 0);
	fd = open(rootf, O_WRONLY | O_CREAT, 0666);
	EXPECT_OK("create_rootf", fd);
	close(fd);
	EXPECT_EQ("chmod_rootf", chmod(rootf, 0666), 0);

	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		as_nobody();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	CHECKF("child_done", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	/* Root is not held back. */
	fd = open(file, O_RDWR);
	EXPECT_OK("root_open_rdwr", fd);
	close(fd);
	EXPECT_EQ("root_chown_any", chown(rootf, 65534, 65534), 0);
	EXPECT_EQ("root_unlink_in_sticky", unlink(rootf), 0);
	unlink(file);
	rmdir(dir);
	rmdir(sticky);
	unlink(privf);
	rmdir(priv);
	return 0;
}
