/* System V message queues: msgget by key and IPC_PRIVATE, msgsnd/msgrcv
 * with every msgtyp mode, MSG_EXCEPT, MSG_NOERROR, MSG_COPY, blocking
 * senders and receivers woken by the other side, IPC_RMID waking a waiter
 * with EIDRM, IPC_STAT/IPC_SET/IPC_INFO/MSG_INFO/MSG_STAT, permission
 * checks for an unprivileged uid, and the errno of each kind of bad input. */
#define _GNU_SOURCE
#include "harness.h"
#include <linux/capability.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define NOBODY 65534

struct mbuf {
	long mtype;
	char mtext[8192];
};

/* Every queue this program creates, removed at exit and on SIGALRM. */
static int queues[32];
static int nqueues;

static int track(int id)
{
	if (id >= 0 && nqueues < (int)(sizeof(queues) / sizeof(queues[0])))
		queues[nqueues++] = id;
	return id;
}

static void cleanup(void)
{
	for (int i = 0; i < nqueues; i++)
		syscall(SYS_msgctl, queues[i], IPC_RMID, NULL);
}

static void on_alarm(int s)
{
	cleanup();
	signal(s, SIG_DFL);
	raise(s);
}

static int snd(int id, long type, const char *text, int flg)
{
	static struct mbuf m;
	m.mtype = type;
	size_t n = strlen(text);
	memcpy(m.mtext, text, n);
	return msgsnd(id, &m, n, flg);
}

/* Receives into *m; returns the msgrcv result and NUL-terminates the text. */
static long rcv(int id, struct mbuf *m, size_t sz, long typ, int flg)
{
	memset(m, 0, sizeof(*m));
	long r = msgrcv(id, m, sz, typ, flg);
	if (r >= 0 && r < (long)sizeof(m->mtext))
		m->mtext[r] = 0;
	return r;
}

static long qnum(int id)
{
	struct msqid_ds ds;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -1;
	return (long)ds.msg_qnum;
}

/* Waits until pid is asleep (state S in /proc/pid/stat), i.e. blocked in the
 * call it announced just before. Gives up after 2 s. */
static void wait_sleeping(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 2000; i++) {
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = 0;
				char *p = strrchr(buf, ')');
				if (p && p[1] == ' ' && p[2] == 'S')
					return;
			}
		}
		usleep(1000);
	}
}

/* Forks a child that writes one byte to a pipe and then runs fn(id); the
 * parent returns after reading that byte and seeing the child asleep. */
static pid_t spawn_blocker(int (*fn)(int), int id)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		if (write(p[1], "x", 1) != 1)
			_exit(99);
		_exit(fn(id));
	}
	close(p[1]);
	char b;
	if (c > 0 && read(p[0], &b, 1) == 1)
		wait_sleeping(c);
	close(p[0]);
	return c;
}

static int exit_code(pid_t c)
{
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs fn(arg) in a child; its exit code, or 128 + the killing signal. */
static int run_code(int (*fn)(void *), void *arg)
{
	int st = h_run_child(fn, arg);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int child_rcv_hello(int id)
{
	struct mbuf m;
	long r = rcv(id, &m, 100, 9, 0);
	return r == 5 && m.mtype == 9 && memcmp(m.mtext, "hello", 5) == 0 ? 0 : 1;
}

static int child_rcv_eidrm(int id)
{
	struct mbuf m;
	long r = rcv(id, &m, 100, 0, 0);
	return r == -1 && errno == EIDRM ? 0 : (r == -1 ? 10 + (errno & 0x3f) : 2);
}

static int child_snd_blocking(int id)
{
	return snd(id, 1, "0123456789012345678901234567890123456789", 0) == 0 ? 0 : 1;
}

static void on_usr1(int s) { (void)s; }

static int child_rcv_eintr(int id)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART; /* System V IPC calls are never restarted */
	sigaction(SIGUSR1, &sa, NULL);
	struct mbuf m;
	long r = rcv(id, &m, 100, 0, 0);
	return r == -1 && errno == EINTR ? 0 : 1;
}

/* Probes run as uid 65534 against a queue of mode 0600 owned by root. */
static int child_nobody(void *arg)
{
	int id = (int)(long)arg;
	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 90;
	struct mbuf m = { 1, "x" };
	struct msqid_ds ds;
	if (!(msgsnd(id, &m, 1, IPC_NOWAIT) == -1 && errno == EACCES))
		return 1;
	if (!(msgrcv(id, &m, 10, 0, IPC_NOWAIT) == -1 && errno == EACCES))
		return 2;
	if (!(msgctl(id, IPC_STAT, &ds) == -1 && errno == EACCES))
		return 3;
	memset(&ds, 0, sizeof(ds));
	ds.msg_perm.mode = 0666;
	ds.msg_qbytes = 100;
	if (!(msgctl(id, IPC_SET, &ds) == -1 && errno == EPERM))
		return 4;
	if (!(msgctl(id, IPC_RMID, NULL) == -1 && errno == EPERM))
		return 5;
	return 0;
}

/* The same queue after the parent set its mode to 0622: writable by others
 * but not readable. */
static int child_nobody_write_only(void *arg)
{
	int id = (int)(long)arg;
	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 90;
	struct mbuf m = { 4, "nobody" };
	if (msgsnd(id, &m, 6, IPC_NOWAIT) != 0)
		return 1;
	if (!(msgrcv(id, &m, 10, 0, IPC_NOWAIT) == -1 && errno == EACCES))
		return 2;
	return 0;
}

static int child_nobody_msgget(void *arg)
{
	int key = (int)(long)arg;
	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 90;
	if (!(msgget(key, 0400) == -1 && errno == EACCES))
		return 1;
	/* asking for no permission bits finds the queue */
	if (msgget(key, 0) < 0)
		return 2;
	return 0;
}

static int child_nobody_stat_any(void *arg)
{
	int idx = (int)(long)arg;
	if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 90;
	struct msqid_ds ds;
	if (!(msgctl(idx, MSG_STAT, &ds) == -1 && errno == EACCES))
		return 1;
	if (msgctl(idx, MSG_STAT_ANY, &ds) < 0)
		return 2;
	return 0;
}

static int have_cap_sys_resource(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return (d[CAP_SYS_RESOURCE / 32].effective >> (CAP_SYS_RESOURCE % 32)) & 1;
}

int main(void)
{
	alarm(30);
	signal(SIGALRM, on_alarm);
	atexit(cleanup);

	static struct mbuf m;
	struct msqid_ds ds;
	pid_t c;

	/* ---- msgget ---- */
	int id = track(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
	EXPECT_OK("msgget_private", id);
	int id2 = track(msgget(IPC_PRIVATE, 0600));
	CHECKF("msgget_private_distinct", id2 >= 0 && id2 != id, "ids %d %d", id, id2);

	key_t key = 0x4d570000 + (getpid() & 0xffff);
	int kid = track(msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	EXPECT_OK("msgget_key_create", kid);
	EXPECT_EQ("msgget_key_finds_same", msgget(key, 0), kid);
	EXPECT_EQ("msgget_key_creat_finds_same", msgget(key, IPC_CREAT | 0600), kid);
	EXPECT_ERR("msgget_key_excl_eexist", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	EXPECT_ERR("msgget_missing_key_enoent", msgget(key + 0x10000, 0600), ENOENT);

	/* ---- round trip and stat ---- */
	EXPECT_EQ("msgsnd", snd(id, 7, "hello world", 0), 0);
	EXPECT_EQ("msgsnd_empty_text", snd(id, 8, "", 0), 0);
	EXPECT_EQ("stat_after_send", msgctl(id, IPC_STAT, &ds), 0);
	EXPECT_EQ("stat_qnum", ds.msg_qnum, 2);
	EXPECT_EQ("stat_cbytes", ds.msg_cbytes, 11);
	EXPECT_EQ("stat_qbytes_default", ds.msg_qbytes, 16384);
	EXPECT_EQ("stat_lspid", ds.msg_lspid, getpid());
	EXPECT_EQ("stat_lrpid_none", ds.msg_lrpid, 0);
	CHECK("stat_stime_set", ds.msg_stime != 0);
	EXPECT_EQ("stat_rtime_unset", ds.msg_rtime, 0);
	CHECK("stat_ctime_set", ds.msg_ctime != 0);
	EXPECT_EQ("stat_mode", ds.msg_perm.mode & 0777, 0600);
	CHECK("stat_uids", ds.msg_perm.uid == geteuid() && ds.msg_perm.cuid == geteuid());
	CHECK("stat_gids", ds.msg_perm.gid == getegid() && ds.msg_perm.cgid == getegid());
	EXPECT_EQ("stat_private_key", ds.msg_perm.__key, IPC_PRIVATE);
	struct msqid_ds kds;
	msgctl(kid, IPC_STAT, &kds);
	EXPECT_EQ("stat_key", kds.msg_perm.__key, key);

	long r = rcv(id, &m, 100, 0, 0);
	CHECKF("msgrcv_round_trip", r == 11 && m.mtype == 7 && strcmp(m.mtext, "hello world") == 0,
	       "r %ld type %ld text '%s'", r, m.mtype, m.mtext);
	r = rcv(id, &m, 100, 0, 0);
	CHECKF("msgrcv_empty_text", r == 0 && m.mtype == 8, "r %ld type %ld", r, m.mtype);
	msgctl(id, IPC_STAT, &ds);
	CHECKF("stat_after_receive", ds.msg_qnum == 0 && ds.msg_cbytes == 0 && ds.msg_lrpid == getpid() && ds.msg_rtime != 0,
	       "qnum %lu cbytes %lu lrpid %d rtime %ld", (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes,
	       (int)ds.msg_lrpid, (long)ds.msg_rtime);
	EXPECT_ERR("msgrcv_nowait_empty_enomsg", rcv(id, &m, 100, 0, IPC_NOWAIT), ENOMSG);

	/* ---- message selection ---- */
	snd(id, 5, "a5", 0);
	snd(id, 3, "b3", 0);
	snd(id, 7, "c7", 0);
	snd(id, 3, "d3", 0);
	snd(id, 2, "e2", 0);
	r = rcv(id, &m, 100, 3, IPC_NOWAIT);
	CHECKF("msgtyp_positive_first_of_type", r == 2 && strcmp(m.mtext, "b3") == 0, "r %ld text '%s'", r, m.mtext);
	r = rcv(id, &m, 100, 5, IPC_NOWAIT | MSG_EXCEPT);
	CHECKF("msg_except_first_other_type", r == 2 && strcmp(m.mtext, "c7") == 0, "r %ld text '%s'", r, m.mtext);
	r = rcv(id, &m, 100, -4, IPC_NOWAIT);
	CHECKF("msgtyp_negative_lowest_type", r == 2 && m.mtype == 2 && strcmp(m.mtext, "e2") == 0,
	       "r %ld type %ld text '%s'", r, m.mtype, m.mtext);
	EXPECT_ERR("msgtyp_negative_none_enomsg", rcv(id, &m, 100, -2, IPC_NOWAIT), ENOMSG);
	EXPECT_ERR("msgtyp_positive_none_enomsg", rcv(id, &m, 100, 9, IPC_NOWAIT), ENOMSG);
	r = rcv(id, &m, 100, 0, IPC_NOWAIT);
	CHECKF("msgtyp_zero_first", r == 2 && strcmp(m.mtext, "a5") == 0, "r %ld text '%s'", r, m.mtext);
	r = rcv(id, &m, 100, -100, IPC_NOWAIT);
	CHECKF("msgtyp_negative_fifo_in_type", r == 2 && strcmp(m.mtext, "d3") == 0, "r %ld text '%s'", r, m.mtext);

	/* ---- truncation ---- */
	snd(id, 1, "truncate me", 0);
	EXPECT_ERR("msgrcv_too_small_e2big", rcv(id, &m, 5, 0, IPC_NOWAIT), E2BIG);
	EXPECT_EQ("e2big_keeps_message", qnum(id), 1);
	r = rcv(id, &m, 5, 0, IPC_NOWAIT | MSG_NOERROR);
	CHECKF("msg_noerror_truncates", r == 5 && strcmp(m.mtext, "trunc") == 0, "r %ld text '%s'", r, m.mtext);
	EXPECT_EQ("msg_noerror_discards_rest", qnum(id), 0);

	/* ---- bad input ---- */
	m.mtype = 0;
	EXPECT_ERR("msgsnd_mtype_zero_einval", msgsnd(id, &m, 1, IPC_NOWAIT), EINVAL);
	m.mtype = -3;
	EXPECT_ERR("msgsnd_mtype_negative_einval", msgsnd(id, &m, 1, IPC_NOWAIT), EINVAL);
	m.mtype = 1;
	EXPECT_ERR("msgsnd_size_negative_einval", syscall(SYS_msgsnd, id, &m, (size_t)-1, IPC_NOWAIT), EINVAL);
	EXPECT_ERR("msgsnd_size_over_msgmax_einval", msgsnd(id, &m, 8193, IPC_NOWAIT), EINVAL);
	EXPECT_EQ("msgsnd_size_msgmax", msgsnd(id, &m, 8192, IPC_NOWAIT), 0);
	EXPECT_EQ("msgrcv_size_msgmax", msgrcv(id, &m, 8192, 0, IPC_NOWAIT), 8192);
	EXPECT_ERR("msgrcv_size_negative_einval", syscall(SYS_msgrcv, id, &m, (size_t)-1, 0, IPC_NOWAIT), EINVAL);
	EXPECT_ERR("msgsnd_efault", msgsnd(id, h_unmapped(), 4, IPC_NOWAIT), EFAULT);
	EXPECT_EQ("msgsnd_efault_nothing_queued", qnum(id), 0);
	snd(id, 1, "lost", 0);
	EXPECT_ERR("msgrcv_efault", msgrcv(id, h_unmapped(), 100, 0, IPC_NOWAIT), EFAULT);
	/* Linux dequeues the message before copying it out, so it is lost. */
	EXPECT_EQ("msgrcv_efault_consumes_message", qnum(id), 0);
	EXPECT_ERR("msgsnd_bad_id_einval", msgsnd(0x7ffffff0, &m, 1, IPC_NOWAIT), EINVAL);
	EXPECT_ERR("msgsnd_negative_id_einval", msgsnd(-1, &m, 1, IPC_NOWAIT), EINVAL);
	EXPECT_ERR("msgctl_bad_cmd_einval", syscall(SYS_msgctl, id, 99, &ds), EINVAL);
	EXPECT_ERR("msgctl_negative_id_einval", syscall(SYS_msgctl, -1, IPC_STAT, &ds), EINVAL);
	EXPECT_ERR("msgctl_stat_efault", syscall(SYS_msgctl, id, IPC_STAT, h_unmapped()), EFAULT);

	/* ---- MSG_COPY: a copy of the n-th message, needing IPC_NOWAIT ---- */
	snd(id, 4, "first", 0);
	snd(id, 6, "second", 0);
	EXPECT_ERR("msg_copy_without_nowait_einval", rcv(id, &m, 100, 0, MSG_COPY), EINVAL);
	EXPECT_ERR("msg_copy_with_except_einval", rcv(id, &m, 100, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT), EINVAL);
	r = rcv(id, &m, 100, 1, MSG_COPY | IPC_NOWAIT);
	CHECKF("msg_copy_by_index", r == 6 && m.mtype == 6 && strcmp(m.mtext, "second") == 0,
	       "r %ld type %ld text '%s'", r, m.mtype, m.mtext);
	EXPECT_EQ("msg_copy_keeps_message", qnum(id), 2);
	EXPECT_ERR("msg_copy_past_end_enomsg", rcv(id, &m, 100, 2, MSG_COPY | IPC_NOWAIT), ENOMSG);
	EXPECT_ERR("msg_copy_too_small_e2big", rcv(id, &m, 2, 0, MSG_COPY | IPC_NOWAIT), E2BIG);
	rcv(id, &m, 100, 0, IPC_NOWAIT);
	rcv(id, &m, 100, 0, IPC_NOWAIT);

	/* ---- a blocked receiver is woken by a send ---- */
	c = spawn_blocker(child_rcv_hello, id);
	EXPECT_EQ("wake_other_type_sent", snd(id, 2, "other", 0), 0);
	EXPECT_EQ("wake_receiver_send", snd(id, 9, "hello", 0), 0);
	EXPECT_EQ("blocked_msgrcv_woken", exit_code(c), 0);
	msgctl(id, IPC_STAT, &ds);
	CHECKF("stat_lrpid_child", ds.msg_lrpid == c && ds.msg_qnum == 1, "lrpid %d child %d qnum %lu",
	       (int)ds.msg_lrpid, (int)c, (unsigned long)ds.msg_qnum);
	rcv(id, &m, 100, 0, IPC_NOWAIT);

	/* a receiver blocked in msgrcv is not restarted after a handler, even
	 * with SA_RESTART */
	c = spawn_blocker(child_rcv_eintr, id);
	kill(c, SIGUSR1);
	EXPECT_EQ("msgrcv_sa_restart_eintr", exit_code(c), 0);

	/* ---- IPC_SET, a full queue, and a blocked sender ---- */
	msgctl(id, IPC_STAT, &ds);
	ds.msg_perm.mode = 0640;
	ds.msg_qbytes = 100;
	EXPECT_EQ("ipc_set", msgctl(id, IPC_SET, &ds), 0);
	memset(&ds, 0, sizeof(ds));
	msgctl(id, IPC_STAT, &ds);
	CHECKF("ipc_set_applied", (ds.msg_perm.mode & 0777) == 0640 && ds.msg_qbytes == 100, "mode %o qbytes %lu",
	       ds.msg_perm.mode & 0777, (unsigned long)ds.msg_qbytes);
	EXPECT_EQ("fill_1", snd(id, 1, "0123456789012345678901234567890123456789012345", 0), 0);
	EXPECT_EQ("fill_2", snd(id, 1, "0123456789012345678901234567890123456789012345", 0), 0);
	EXPECT_ERR("full_nowait_eagain", snd(id, 1, "0123456789", IPC_NOWAIT), EAGAIN);
	EXPECT_EQ("full_still_fits_exactly", snd(id, 1, "01234567", IPC_NOWAIT), 0);
	c = spawn_blocker(child_snd_blocking, id);
	EXPECT_EQ("full_sender_blocked", qnum(id), 3);
	CHECK("free_space", rcv(id, &m, 100, 0, IPC_NOWAIT) == 46);
	EXPECT_EQ("blocked_msgsnd_woken", exit_code(c), 0);
	msgctl(id, IPC_STAT, &ds);
	CHECKF("blocked_msgsnd_queued", ds.msg_qnum == 3 && ds.msg_cbytes == 94 && ds.msg_lspid == c,
	       "qnum %lu cbytes %lu lspid %d", (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes, (int)ds.msg_lspid);
	while (rcv(id, &m, 100, 0, IPC_NOWAIT) >= 0)
		;

	/* the message count is limited by msg_qbytes too */
	msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 2;
	msgctl(id, IPC_SET, &ds);
	snd(id, 1, "", IPC_NOWAIT);
	snd(id, 1, "", IPC_NOWAIT);
	EXPECT_ERR("qnum_limited_by_qbytes_eagain", snd(id, 1, "", IPC_NOWAIT), EAGAIN);
	while (rcv(id, &m, 100, 0, IPC_NOWAIT) >= 0)
		;

	/* raising msg_qbytes up to MSGMNB is allowed; above it needs
	 * CAP_SYS_RESOURCE, which root may or may not have */
	msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 16384;
	EXPECT_EQ("ipc_set_raise_to_msgmnb", msgctl(id, IPC_SET, &ds), 0);
	ds.msg_qbytes = 20000;
	errno = 0;
	int cap = have_cap_sys_resource();
	int sr = msgctl(id, IPC_SET, &ds);
	int se = errno;
	msgctl(id, IPC_STAT, &ds);
	if (cap)
		CHECKF("ipc_set_above_msgmnb", sr == 0 && ds.msg_qbytes == 20000, "with CAP_SYS_RESOURCE: r %d errno %s qbytes %lu",
		       sr, h_errname(se), (unsigned long)ds.msg_qbytes);
	else
		CHECKF("ipc_set_above_msgmnb", sr == -1 && se == EPERM && ds.msg_qbytes == 16384,
		       "without CAP_SYS_RESOURCE: r %d errno %s qbytes %lu", sr, h_errname(se), (unsigned long)ds.msg_qbytes);

	/* ---- permissions for another uid ---- */
	ds.msg_perm.mode = 0600;
	ds.msg_qbytes = 16384;
	msgctl(id, IPC_SET, &ds);
	EXPECT_EQ("nobody_denied", run_code(child_nobody, (void *)(long)id), 0);
	msgctl(id, IPC_STAT, &ds);
	ds.msg_perm.mode = 0622;
	msgctl(id, IPC_SET, &ds);
	EXPECT_EQ("nobody_write_only", run_code(child_nobody_write_only, (void *)(long)id), 0);
	r = rcv(id, &m, 100, 0, IPC_NOWAIT);
	CHECKF("nobody_message_received", r == 6 && m.mtype == 4 && strcmp(m.mtext, "nobody") == 0, "r %ld", r);
	EXPECT_EQ("nobody_msgget_eacces", run_code(child_nobody_msgget, (void *)(long)key), 0);

	/* ---- IPC_INFO, MSG_INFO, MSG_STAT ---- */
	struct msginfo mi;
	memset(&mi, 0, sizeof(mi));
	int hi = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	CHECKF("ipc_info_highest_index", hi >= 0, "r %d errno %s", hi, h_errname(errno));
	CHECKF("ipc_info_limits", mi.msgmax == 8192 && mi.msgmnb == 16384 && mi.msgmni == 32000,
	       "msgmax %d msgmnb %d msgmni %d", mi.msgmax, mi.msgmnb, mi.msgmni);
	EXPECT_EQ("ipc_info_msgssz", mi.msgssz, 16);
	snd(kid, 1, "abc", 0);
	snd(kid, 1, "defg", 0);
	memset(&mi, 0, sizeof(mi));
	int hi2 = msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	CHECKF("msg_info_highest_index", hi2 == hi, "r %d want %d", hi2, hi);
	/* msgpool: queues in use; msgmap: messages queued; msgtql: bytes queued */
	CHECKF("msg_info_usage", mi.msgpool >= 3 && mi.msgmap >= 2 && mi.msgtql >= 7, "msgpool %d msgmap %d msgtql %d",
	       mi.msgpool, mi.msgmap, mi.msgtql);
	int found = -1, idx = -1;
	for (int i = 0; i <= hi && found < 0; i++) {
		int r2 = msgctl(i, MSG_STAT, &ds);
		if (r2 == kid) {
			found = r2;
			idx = i;
		}
	}
	CHECKF("msg_stat_returns_id", found == kid, "kid %d not found up to index %d", kid, hi);
	CHECKF("msg_stat_fields", found == kid && ds.msg_qnum == 2 && ds.msg_cbytes == 7 && ds.msg_perm.__key == key,
	       "qnum %lu cbytes %lu", (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);
	EXPECT_EQ("msg_stat_any_returns_id", msgctl(idx, MSG_STAT_ANY, &ds), kid);
	EXPECT_EQ("msg_stat_any_nobody", run_code(child_nobody_stat_any, (void *)(long)idx), 0);
	EXPECT_ERR("msg_stat_unused_index_einval", msgctl(hi + 1, MSG_STAT, &ds), EINVAL);

	/* ---- IPC_RMID wakes a blocked receiver with EIDRM ---- */
	EXPECT_EQ("rmid_key", msgctl(kid, IPC_RMID, NULL), 0);
	EXPECT_ERR("rmid_key_gone_enoent", msgget(key, 0), ENOENT);
	c = spawn_blocker(child_rcv_eidrm, id);
	EXPECT_EQ("rmid", msgctl(id, IPC_RMID, NULL), 0);
	EXPECT_EQ("rmid_waiter_eidrm", exit_code(c), 0);
	EXPECT_ERR("removed_stat_einval", msgctl(id, IPC_STAT, &ds), EINVAL);
	EXPECT_ERR("removed_msgsnd_einval", snd(id, 1, "x", IPC_NOWAIT), EINVAL);
	EXPECT_ERR("removed_msgrcv_einval", rcv(id, &m, 100, 0, IPC_NOWAIT), EINVAL);
	EXPECT_ERR("removed_rmid_einval", msgctl(id, IPC_RMID, NULL), EINVAL);
	EXPECT_EQ("rmid_private_2", msgctl(id2, IPC_RMID, NULL), 0);
	return 0;
}
