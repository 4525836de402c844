/* inotify: events for changes made by the process itself (create, open,
 * modify, close, move with a shared cookie, attrib, delete, delete_self,
 * ignored), watch management and the errno of bad input. */
#define _GNU_SOURCE
#include "harness.h"
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

struct ev {
	int wd;
	unsigned mask, cookie;
	char name[64];
};

/* Read every queued event (non-blocking). */
static int drain(int in, struct ev *out, int max)
{
	char buf[4096] __attribute__((aligned(8)));
	int n = 0;
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (char *p = buf; p < buf + r && n < max;) {
			struct inotify_event *e = (struct inotify_event *)p;
			out[n].wd = e->wd;
			out[n].mask = e->mask;
			out[n].cookie = e->cookie;
			snprintf(out[n].name, sizeof(out[n].name), "%s", e->len ? e->name : "");
			n++;
			p += sizeof(*e) + e->len;
		}
	}
	return n;
}

/* Index of the first event from `from` with mask and name, or -1. */
static int find(struct ev *e, int n, int from, unsigned mask, const char *name)
{
	for (int i = from; i < n; i++)
		if (e[i].mask == mask && !strcmp(e[i].name, name))
			return i;
	return -1;
}

int main(void)
{
	char dir[64], f[96], g[96], s[96];
	struct ev e[64];
	snprintf(dir, sizeof(dir), "/tmp/st_inotify_%d", (int)getpid());
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(g, sizeof(g), "%s/g", dir);
	snprintf(s, sizeof(s), "%s/s", dir);
	mkdir(dir, 0755);

	EXPECT_ERR("init1_bad_flags_einval", inotify_init1(8), EINVAL);
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	EXPECT_OK("init1", in);
	EXPECT_ERR("add_watch_badfd", inotify_add_watch(-1, dir, IN_ALL_EVENTS), EBADF);
	EXPECT_ERR("add_watch_not_inotify_einval", inotify_add_watch(0, dir, IN_ALL_EVENTS), EINVAL);
	EXPECT_ERR("add_watch_no_events_einval", inotify_add_watch(in, dir, 0), EINVAL);
	EXPECT_ERR("add_watch_missing_enoent", inotify_add_watch(in, "/tmp/st_no_such_dir_x", IN_ALL_EVENTS), ENOENT);
	char buf[8];
	EXPECT_ERR("read_empty_nonblock_eagain", read(in, buf, sizeof(buf)), EAGAIN);

	int wd = inotify_add_watch(in, dir, IN_ALL_EVENTS);
	EXPECT_OK("add_watch_dir", wd);
	EXPECT_EQ("add_watch_same_wd", inotify_add_watch(in, dir, IN_ALL_EVENTS), wd);

	int fd = open(f, O_WRONLY | O_CREAT, 0644);
	write(fd, "a", 1);
	write(fd, "b", 1);
	close(fd);
	int q = 0;
	EXPECT_EQ("fionread", ioctl(in, FIONREAD, &q), 0);
	CHECKF("fionread_positive", q > 0, "%d", q);
	EXPECT_ERR("read_small_buffer_einval", read(in, buf, sizeof(buf)), EINVAL);
	int n = drain(in, e, 64);
	int i1 = find(e, n, 0, IN_CREATE, "f");
	int i2 = find(e, n, i1 + 1, IN_OPEN, "f");
	int i3 = find(e, n, i2 + 1, IN_MODIFY, "f");
	int i4 = find(e, n, i3 + 1, IN_CLOSE_WRITE, "f");
	CHECK("create_open_modify_close", i1 >= 0 && i2 > i1 && i3 > i2 && i4 > i3);
	CHECK("identical_modifies_merged", find(e, n, i3 + 1, IN_MODIFY, "f") < 0);
	CHECK("events_carry_wd", n > 0 && e[0].wd == wd);

	rename(f, g);
	chmod(g, 0600);
	mkdir(s, 0755);
	n = drain(in, e, 64);
	int mf = find(e, n, 0, IN_MOVED_FROM, "f"), mt = find(e, n, 0, IN_MOVED_TO, "g");
	CHECK("moved_from_to", mf >= 0 && mt > mf);
	CHECK("move_cookie_shared", mf >= 0 && mt >= 0 && e[mf].cookie != 0 && e[mf].cookie == e[mt].cookie);
	CHECK("attrib", find(e, n, 0, IN_ATTRIB, "g") >= 0);
	CHECK("mkdir_create_isdir", find(e, n, 0, IN_CREATE | IN_ISDIR, "s") >= 0);

	/* a watch on the file itself */
	int fw = inotify_add_watch(in, g, IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF);
	EXPECT_OK("add_watch_file", fw);
	EXPECT_ERR("onlydir_on_file_enotdir", inotify_add_watch(in, g, IN_MODIFY | IN_ONLYDIR), ENOTDIR);
	fd = open(g, O_WRONLY);
	write(fd, "c", 1);
	close(fd);
	unlink(g);
	rmdir(s);
	n = drain(in, e, 64);
	int m1 = -1;
	for (int i = 0; i < n; i++)
		if (e[i].wd == fw && e[i].mask == IN_MODIFY)
			m1 = i;
	CHECK("file_watch_modify_no_name", m1 >= 0 && e[m1].name[0] == 0);
	int ds = -1, ig = -1;
	for (int i = 0; i < n; i++) {
		if (e[i].wd == fw && e[i].mask == IN_DELETE_SELF)
			ds = i;
		if (e[i].wd == fw && e[i].mask == IN_IGNORED)
			ig = i;
	}
	CHECK("delete_self_then_ignored", ds >= 0 && ig > ds);
	CHECK("dir_sees_delete", find(e, n, 0, IN_DELETE, "g") >= 0);
	CHECK("dir_sees_rmdir", find(e, n, 0, IN_DELETE | IN_ISDIR, "s") >= 0);

	EXPECT_EQ("rm_watch", inotify_rm_watch(in, wd), 0);
	n = drain(in, e, 64);
	CHECK("rm_watch_ignored", n >= 1 && e[n - 1].wd == wd && e[n - 1].mask == IN_IGNORED);
	EXPECT_ERR("rm_watch_again_einval", inotify_rm_watch(in, wd), EINVAL);
	close(in);
	rmdir(dir);
	return 0;
}
