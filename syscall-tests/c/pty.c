/* Pseudo-terminals (/dev/ptmx, /dev/pts/N), the n_tty line discipline,
 * sessions, controlling terminals and job control.
 *
 * Every group of cases uses a fresh pty so that a failure (or stray echo
 * bytes) in one group cannot leak into the next. Work that needs a session
 * (controlling terminal, job control, signals to the foreground group) runs
 * in forked children; they report through a shared page, never by printing.
 *
 * Input written to the master is processed by the line discipline
 * asynchronously, so positive checks wait with a bounded poll and negative
 * checks ("nothing was echoed") use a short poll timeout.
 *
 * The main process never opens a replica without O_NOCTTY: under
 * `setsid -w` it is a session leader without a controlling terminal and
 * would otherwise acquire one. */
#include "harness.h"
#include <poll.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#define NOTRUN (-9999)
#define NR 16
#define WAIT_MS 3000 /* bound for things that must happen */
#define QUIET_MS 150 /* how long "nothing happens" is watched */

/* A syscall result, or -errno when it failed. */
#define R(x)                                                                   \
	({                                                                     \
		errno = 0;                                                     \
		long _r = (long)(x);                                           \
		_r == -1 ? -(long)errno : _r;                                  \
	})

static int *shr; /* NR result slots shared with children */

static int open_pty(int *m, int *s, char *name, size_t n)
{
	*m = *s = -1;
	int fd = posix_openpt(O_RDWR | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (grantpt(fd) || unlockpt(fd) || ptsname_r(fd, name, n)) {
		close(fd);
		return -1;
	}
	int r = open(name, O_RDWR | O_NOCTTY);
	if (r < 0) {
		close(fd);
		return -1;
	}
	*m = fd;
	*s = r;
	return 0;
}

static void close_pty(int m, int s)
{
	if (s >= 0)
		close(s);
	if (m >= 0)
		close(m);
}

/* revents, 0 on timeout, -errno on error */
static int pollev(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, ms);
	if (r < 0)
		return -errno;
	return r == 0 ? 0 : p.revents;
}

/* Waits for POLLIN, then does one read. -ETIMEDOUT when nothing came. */
static long rd(int fd, char *buf, size_t n, int ms)
{
	int ev = pollev(fd, POLLIN, ms);
	if (ev == 0)
		return -ETIMEDOUT;
	if (ev < 0)
		return ev;
	return R(read(fd, buf, n));
}

/* Reads until `want` bytes arrived (or more: reads up to cap), the deadline
 * passes, or read fails. Returns the byte count. */
static long collect(int fd, char *buf, size_t want, size_t cap, int ms)
{
	long long deadline = h_now_ns() + ms * 1000000LL;
	size_t got = 0;
	while (got < want) {
		long long left = (deadline - h_now_ns()) / 1000000;
		if (left < 0)
			break;
		if (pollev(fd, POLLIN, (int)left) <= 0)
			break;
		ssize_t r = read(fd, buf + got, cap - got);
		if (r <= 0)
			break;
		got += r;
	}
	return got;
}

/* Printable rendering of bytes for details. */
static const char *esc(const char *b, long n)
{
	static char out[4][160];
	static int k;
	char *o = out[k++ & 3];
	size_t j = 0;
	if (n < 0) {
		snprintf(o, 160, "(%s)", h_errname((int)-n));
		return o;
	}
	o[j++] = '"';
	for (long i = 0; i < n && j < 150; i++) {
		unsigned char c = b[i];
		if (c >= 32 && c < 127 && c != '\\')
			o[j++] = c;
		else
			j += snprintf(o + j, 160 - j, "\\%03o", c);
	}
	o[j++] = '"';
	o[j] = 0;
	return o;
}

static const char *rv(long v)
{
	static char out[4][64];
	static int k;
	char *o = out[k++ & 3];
	if (v == NOTRUN)
		snprintf(o, 64, "not reached");
	else if (v < 0 && v > -4096)
		snprintf(o, 64, "-1 %s", h_errname((int)-v));
	else
		snprintf(o, 64, "%ld", v);
	return o;
}

/* got (a value or -errno) must equal want */
static void want_eq(const char *name, long got, long want)
{
	CHECKF(name, got == want, "got %s, want %s", rv(got), rv(want));
}

/* buffer result must be exactly the given bytes */
static void want_bytes(const char *name, const char *buf, long n, const char *exp, long en)
{
	CHECKF(name, n == en && memcmp(buf, exp, en) == 0, "got %s, want %s", esc(buf, n),
	       esc(exp, en));
}
#define WANT_STR(name, buf, n, lit) want_bytes(name, buf, n, lit, sizeof(lit) - 1)

static int lflags(int fd, tcflag_t on, tcflag_t off)
{
	struct termios t;
	if (tcgetattr(fd, &t))
		return -1;
	t.c_lflag = (t.c_lflag | on) & ~off;
	return tcsetattr(fd, TCSANOW, &t);
}

static int rawmode(int fd, int vmin, int vtime)
{
	struct termios t;
	if (tcgetattr(fd, &t))
		return -1;
	cfmakeraw(&t);
	t.c_cc[VMIN] = vmin;
	t.c_cc[VTIME] = vtime;
	return tcsetattr(fd, TCSANOW, &t);
}

static int wr(int fd, const char *s)
{
	return (int)write(fd, s, strlen(s));
}

/* Waits up to ms for sig (which the caller has blocked): sig or -errno. */
static int waitsig(int sig, int ms)
{
	sigset_t set;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigemptyset(&set);
	sigaddset(&set, sig);
	int r = sigtimedwait(&set, NULL, &ts);
	return r < 0 ? -errno : r;
}

static void block(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static int pending(int sig)
{
	sigset_t set;
	sigpending(&set);
	return sigismember(&set, sig);
}

/* Runs fn(arg) in a child (alarm-bounded) that fills shr[0..NR); copies the
 * slots to r. Returns the wait status. */
static int run_child(void (*fn)(void *), void *arg, int *r)
{
	int st = -1;
	for (int i = 0; i < NR; i++)
		shr[i] = NOTRUN;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(8);
		fn(arg);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	for (int i = 0; i < NR; i++)
		r[i] = shr[i];
	return st;
}

/* In a child: fresh pty, new session, replica opened without O_NOCTTY so it
 * becomes the controlling terminal. Returns the ctty fd or -1. */
static int sess_pty(int *m, int *s, char *name)
{
	if (open_pty(m, s, name, 64))
		return -1;
	if (setsid() < 0)
		return -1;
	return open(name, O_RDWR);
}

/* ------------------------------------------------------------------ */

static void t_basic(void)
{
	char name[64], buf[64];
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECKF("posix_openpt_ok", m >= 0, "errno %s", h_errname(errno));
	if (m < 0)
		return;
	struct stat st, st2;
	fstat(m, &st);
	CHECKF("master_fstat_is_ptmx", S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 &&
	       minor(st.st_rdev) == 2, "mode %o rdev %u:%u", st.st_mode, major(st.st_rdev),
	       minor(st.st_rdev));
	EXPECT_OK("grantpt_ok", grantpt(m));
	int n = -1;
	ioctl(m, TIOCGPTN, &n);
	char *p = ptsname(m);
	snprintf(buf, sizeof(buf), "/dev/pts/%d", n);
	CHECKF("ptsname_is_dev_pts_n", p && strcmp(p, buf) == 0, "ptsname %s, TIOCGPTN %d",
	       p ? p : "(null)", n);
	snprintf(name, sizeof(name), "%s", buf);

	int lk = -1;
	ioctl(m, TIOCGPTLCK, &lk);
	want_eq("tiocgptlck_new_pty_locked", lk, 1);
	EXPECT_ERR("open_replica_locked_eio", open(name, O_RDWR | O_NOCTTY), EIO);
	EXPECT_ERR("tiocgptpeer_locked_eio", ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY), EIO);
	EXPECT_OK("unlockpt_ok", unlockpt(m));
	lk = -1;
	ioctl(m, TIOCGPTLCK, &lk);
	want_eq("tiocgptlck_after_unlock_zero", lk, 0);
	int s = open(name, O_RDWR | O_NOCTTY);
	CHECKF("open_replica_unlocked_ok", s >= 0, "errno %s", h_errname(errno));
	int one = 1;
	ioctl(m, TIOCSPTLCK, &one);
	EXPECT_ERR("tiocsptlck_relock_open_eio", open(name, O_RDWR | O_NOCTTY), EIO);
	int zero = 0;
	ioctl(m, TIOCSPTLCK, &zero);

	fstat(s, &st);
	/* Unix98 replicas use majors 136..143: index N is (136 + N / 256, N % 256) */
	CHECKF("replica_fstat_chr_major_136", S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 &&
	       major(st.st_rdev) < 144, "mode %o rdev %u:%u", st.st_mode, major(st.st_rdev),
	       minor(st.st_rdev));
	want_eq("replica_rdev_is_ptn", (major(st.st_rdev) - 136) * 256 + minor(st.st_rdev), n);
	int sr = stat(name, &st2);
	CHECKF("stat_pts_path_matches_fstat",
	       sr == 0 && st2.st_rdev == st.st_rdev && st2.st_ino == st.st_ino &&
		       st2.st_dev == st.st_dev && S_ISCHR(st2.st_mode),
	       "stat %d errno %s", sr, h_errname(errno));

	int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	struct stat st3;
	CHECKF("tiocgptpeer_gives_replica", peer >= 0 && fstat(peer, &st3) == 0 &&
	       st3.st_rdev == st.st_rdev && isatty(peer),
	       "peer %d errno %s", peer, h_errname(errno));
	if (peer >= 0)
		close(peer);
	/* TIOCGPTPEER is handled by the generic tty layer, which refuses a
	 * non-master with EIO (not ENOTTY, unlike TIOCGPTN below) */
	EXPECT_ERR("tiocgptpeer_on_replica_eio", ioctl(s, TIOCGPTPEER, O_RDWR), EIO);
	EXPECT_ERR("tiocgptn_on_replica_enotty", ioctl(s, TIOCGPTN, &n), ENOTTY);

	CHECK("isatty_master", isatty(m) == 1);
	CHECK("isatty_replica", isatty(s) == 1);
	char tn[64] = "";
	int tr = ttyname_r(s, tn, sizeof(tn));
	CHECKF("ttyname_replica_is_pts_path", tr == 0 && strcmp(tn, name) == 0,
	       "ttyname_r %d (%s) name %s", tr, tn, name);

	EXPECT_ERR("unknown_ioctl_replica_enotty", ioctl(s, 0x54ee, 0), ENOTTY);
	EXPECT_ERR("unknown_ioctl_master_enotty", ioctl(m, 0x54ee, 0), ENOTTY);
	close_pty(m, s);

	/* plain /dev/ptmx works as well */
	int m2 = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	int n2 = -1;
	CHECKF("open_dev_ptmx_ok", m2 >= 0 && ioctl(m2, TIOCGPTN, &n2) == 0 && n2 >= 0,
	       "fd %d errno %s", m2, h_errname(errno));
	if (m2 >= 0)
		close(m2);

	/* not terminals */
	int pp[2];
	pipe(pp);
	errno = 0;
	int it = isatty(pp[0]);
	CHECKF("isatty_pipe_enotty", it == 0 && errno == ENOTTY, "isatty %d errno %s", it,
	       h_errname(errno));
	struct termios t;
	EXPECT_ERR("tcgetattr_pipe_enotty", tcgetattr(pp[0], &t), ENOTTY);
	close(pp[0]);
	close(pp[1]);
	char path[64];
	h_tmp(path, sizeof(path), "pty");
	h_write_file(path, "x", 1, 0600);
	int f = open(path, O_RDONLY);
	errno = 0;
	it = isatty(f);
	CHECKF("isatty_regular_file_enotty", it == 0 && errno == ENOTTY, "isatty %d errno %s",
	       it, h_errname(errno));
	close(f);
	unlink(path);
	f = open("/dev/null", O_RDWR);
	errno = 0;
	it = isatty(f);
	CHECKF("isatty_dev_null_enotty", it == 0 && errno == ENOTTY, "isatty %d errno %s", it,
	       h_errname(errno));
	close(f);
	errno = 0;
	it = isatty(h_closed_fd());
	CHECKF("isatty_closed_fd_ebadf", it == 0 && errno == EBADF, "isatty %d errno %s", it,
	       h_errname(errno));
}

static void t_termios_default(void)
{
	int m, s;
	char name[64];
	struct termios t;
	if (open_pty(&m, &s, name, sizeof(name)) || tcgetattr(s, &t)) {
		FAIL("termios_default_iflag", "setup: %s", h_errname(errno));
		return;
	}
	CHECKF("termios_default_iflag", t.c_iflag == (ICRNL | IXON), "c_iflag %#o",
	       t.c_iflag);
	CHECKF("termios_default_oflag", t.c_oflag == (OPOST | ONLCR), "c_oflag %#o",
	       t.c_oflag);
	tcflag_t lf = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	CHECKF("termios_default_lflag", t.c_lflag == lf, "c_lflag %#o want %#o", t.c_lflag,
	       lf);
	/* no HUPCL on a pty replica, unlike the generic tty default */
	CHECKF("termios_default_cflag", t.c_cflag == (B38400 | CS8 | CREAD),
	       "c_cflag %#o", t.c_cflag);
	CHECKF("termios_default_speed", cfgetospeed(&t) == B38400 && cfgetispeed(&t) == B38400,
	       "ospeed %#o ispeed %#o", cfgetospeed(&t), cfgetispeed(&t));
	static const struct {
		int i;
		int v;
	} cc[] = { { VINTR, 3 },     { VQUIT, 034 },    { VERASE, 0177 }, { VKILL, 025 },
		   { VEOF, 4 },      { VTIME, 0 },      { VMIN, 1 },      { VSTART, 021 },
		   { VSTOP, 023 },   { VSUSP, 032 },    { VEOL, 0 },      { VREPRINT, 022 },
		   { VDISCARD, 017 }, { VWERASE, 027 }, { VLNEXT, 026 },  { VEOL2, 0 } };
	int bad = -1;
	for (size_t i = 0; i < sizeof(cc) / sizeof(cc[0]); i++)
		if (t.c_cc[cc[i].i] != cc[i].v) {
			bad = (int)i;
			break;
		}
	CHECKF("termios_default_cc", bad < 0, "c_cc[%d] = %#o, want %#o", bad < 0 ? 0 : cc[bad].i,
	       bad < 0 ? 0 : t.c_cc[cc[bad].i], bad < 0 ? 0 : cc[bad].v);

	/* termios ioctls on the master act on the replica's termios */
	struct termios tm;
	t.c_lflag &= ~ECHO;
	tcsetattr(s, TCSANOW, &t);
	tcgetattr(m, &tm);
	CHECKF("master_tcgetattr_is_replica_termios", !(tm.c_lflag & ECHO), "c_lflag %#o",
	       tm.c_lflag);
	tm.c_lflag |= ECHO;
	tm.c_cc[VINTR] = 7;
	tcsetattr(m, TCSANOW, &tm);
	tcgetattr(s, &t);
	CHECKF("master_tcsetattr_sets_replica", (t.c_lflag & ECHO) && t.c_cc[VINTR] == 7,
	       "c_lflag %#o VINTR %d", t.c_lflag, t.c_cc[VINTR]);
	close_pty(m, s);
}

static void t_output(void)
{
	int m, s;
	char name[64], buf[64];
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("opost_onlcr_crlf", "setup: %s", h_errname(errno));
		return;
	}
	wr(s, "a\n");
	long n = collect(m, buf, 3, sizeof(buf), WAIT_MS);
	WANT_STR("opost_onlcr_crlf", buf, n, "a\r\n");
	struct termios t;
	tcgetattr(s, &t);
	t.c_oflag &= ~OPOST;
	tcsetattr(s, TCSANOW, &t);
	wr(s, "b\n");
	n = collect(m, buf, 2, sizeof(buf), WAIT_MS);
	WANT_STR("opost_off_newline_unchanged", buf, n, "b\n");
	/* TIOCOUTQ: a pty keeps no output queue of its own (data is already
	 * with the master), so it reports 0 even with unread master data */
	wr(s, "unread");
	pollev(m, POLLIN, WAIT_MS);
	int q = -1;
	int r = ioctl(s, TIOCOUTQ, &q);
	CHECKF("tiocoutq_zero", r == 0 && q == 0, "ioctl %d errno %s outq %d", r,
	       h_errname(errno), q);
	CHECK("poll_master_pollin_after_replica_write", pollev(m, POLLIN, WAIT_MS) & POLLIN);
	CHECK("poll_replica_pollout", pollev(s, POLLOUT, WAIT_MS) & POLLOUT);
	CHECK("poll_master_pollout", pollev(m, POLLOUT, WAIT_MS) & POLLOUT);
	close_pty(m, s);
}

static void t_canon(void)
{
	int m, s;
	char name[64], buf[64];
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("canon_line", "setup: %s", h_errname(errno));
		return;
	}
	lflags(s, 0, ECHO); /* keep the master quiet */
	wr(m, "hello\n");
	long n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_line", buf, n, "hello\n");

	wr(m, "ab\ncd\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_one_line_per_read", buf, n, "ab\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_next_read_next_line", buf, n, "cd\n");

	wr(m, "hello\n");
	n = rd(s, buf, 2, WAIT_MS);
	WANT_STR("canon_short_read_partial_line", buf, n, "he");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_short_read_rest_of_line", buf, n, "llo\n");

	wr(m, "abc\177d\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_verase", buf, n, "abd\n");
	wr(m, "abc\025xy\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_vkill", buf, n, "xy\n");
	wr(m, "\004");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	want_eq("canon_veof_line_start_reads_zero", n, 0);
	/* the EOF char is not part of the data and no newline is added */
	wr(m, "ab\004");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_veof_after_chars", buf, n, "ab");
	wr(m, "cr\r");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_icrnl", buf, n, "cr\n");

	/* FIONREAD counts completed lines only in canonical mode */
	wr(m, "ab\ncd");
	pollev(s, POLLIN, WAIT_MS);
	int q = -1;
	ioctl(s, FIONREAD, &q);
	want_eq("fionread_canon_complete_lines_only", q, 3);
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_read_before_partial", buf, n, "ab\n");
	/* a partial line is not readable: no POLLIN */
	want_eq("poll_replica_partial_line_no_pollin", pollev(s, POLLIN, QUIET_MS), 0);
	wr(m, "\n");
	CHECK("poll_replica_full_line_pollin", pollev(s, POLLIN, WAIT_MS) & POLLIN);
	q = -1;
	ioctl(s, TIOCINQ, &q);
	want_eq("tiocinq_line", q, 3);
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("canon_partial_completed", buf, n, "cd\n");

	/* tcflush(TCIFLUSH) drops queued input */
	wr(m, "junk\n");
	pollev(s, POLLIN, WAIT_MS);
	EXPECT_OK("tcflush_tciflush_ok", tcflush(s, TCIFLUSH));
	q = -1;
	ioctl(s, FIONREAD, &q);
	want_eq("tcflush_tciflush_empties", q, 0);
	wr(m, "x\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("tcflush_next_line", buf, n, "x\n");
	EXPECT_ERR("tcflush_bad_queue_einval", tcflush(s, 7), EINVAL);
	EXPECT_OK("tcdrain_ok", tcdrain(s));
	EXPECT_OK("tcsendbreak_ok", tcsendbreak(s, 0));

	/* ISIG flushes pending input (no NOFLSH); with no session there is
	 * no process group to signal */
	wr(m, "lost\003");
	wr(m, "kept\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("isig_flushes_partial_line", buf, n, "kept\n");
	lflags(s, 0, ISIG);
	wr(m, "\003\n");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("isig_off_ctrl_c_is_data", buf, n, "\003\n");
	close_pty(m, s);
}

static void t_echo(void)
{
	int m, s;
	char name[64], buf[64], sb[64];
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("echo_line_crlf", "setup: %s", h_errname(errno));
		return;
	}
	wr(m, "hi\n");
	long n = collect(m, buf, 4, sizeof(buf), WAIT_MS);
	WANT_STR("echo_line_crlf", buf, n, "hi\r\n");
	n = rd(s, sb, sizeof(sb), WAIT_MS);
	WANT_STR("echo_replica_gets_line", sb, n, "hi\n");

	/* ECHOE: erase echoes backspace-space-backspace */
	wr(m, "ab\177\n");
	n = collect(m, buf, 7, sizeof(buf), WAIT_MS);
	WANT_STR("echoe_erase_bytes", buf, n, "ab\b \b\r\n");
	rd(s, sb, sizeof(sb), WAIT_MS);
	/* ECHOCTL: ^C echoes as caret notation, no newline */
	wr(m, "\003");
	n = collect(m, buf, 2, sizeof(buf), WAIT_MS);
	if (n == 2)
		n += collect(m, buf + 2, 1, sizeof(buf) - 2, QUIET_MS);
	WANT_STR("echoctl_ctrl_c", buf, n, "^C");
	/* ECHOCTL for a plain control char in a line; the data stays raw */
	wr(m, "\001\n");
	n = collect(m, buf, 4, sizeof(buf), WAIT_MS);
	WANT_STR("echoctl_ctrl_a", buf, n, "^A\r\n");
	n = rd(s, sb, sizeof(sb), WAIT_MS);
	WANT_STR("echoctl_data_raw", sb, n, "\001\n");

	/* ECHO off: nothing comes back */
	lflags(s, 0, ECHO);
	wr(m, "quiet\n");
	n = rd(s, sb, sizeof(sb), WAIT_MS);
	WANT_STR("echo_off_replica_gets_line", sb, n, "quiet\n");
	want_eq("echo_off_nothing_echoed", pollev(m, POLLIN, QUIET_MS), 0);
	close_pty(m, s);
}

static void t_noncanon(void)
{
	int m, s;
	char name[64], buf[64];
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("noncanon_vmin1_one_byte", "setup: %s", h_errname(errno));
		return;
	}
	rawmode(s, 1, 0);
	wr(m, "x");
	long n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("noncanon_vmin1_one_byte", buf, n, "x");
	wr(m, "a\177\r");
	n = collect(s, buf, 3, sizeof(buf), WAIT_MS);
	WANT_STR("noncanon_raw_no_editing", buf, n, "a\177\r");
	want_eq("noncanon_raw_no_echo", pollev(m, POLLIN, QUIET_MS), 0);

	wr(m, "abcd");
	pollev(s, POLLIN, WAIT_MS);
	int q = -1;
	ioctl(s, FIONREAD, &q);
	want_eq("fionread_noncanon_all_bytes", q, 4);
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("noncanon_read_all_available", buf, n, "abcd");

	/* VMIN=3, VTIME=0: poll waits for VMIN bytes */
	rawmode(s, 3, 0);
	wr(m, "ab");
	want_eq("noncanon_vmin3_poll_two_bytes_quiet", pollev(s, POLLIN, QUIET_MS), 0);
	wr(m, "c");
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("noncanon_vmin3_read", buf, n, "abc");

	rawmode(s, 0, 0);
	long long t0 = h_now_ns();
	n = R(read(s, buf, sizeof(buf)));
	long long dt = (h_now_ns() - t0) / 1000000;
	CHECKF("noncanon_vmin0_vtime0_empty_zero", n == 0 && dt < 1000, "read %s after %lld ms",
	       rv(n), dt);
	wr(m, "z");
	pollev(s, POLLIN, WAIT_MS);
	n = R(read(s, buf, sizeof(buf)));
	WANT_STR("noncanon_vmin0_vtime0_data", buf, n, "z");

	rawmode(s, 0, 1);
	t0 = h_now_ns();
	n = R(read(s, buf, sizeof(buf)));
	dt = (h_now_ns() - t0) / 1000000;
	CHECKF("noncanon_vmin0_vtime1_timeout", n == 0 && dt >= 80 && dt < 2000,
	       "read %s after %lld ms", rv(n), dt);
	close_pty(m, s);
}

static void t_winsz(void)
{
	int m, s;
	char name[64];
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("winsz_default_zero", "setup: %s", h_errname(errno));
		return;
	}
	struct winsize w;
	memset(&w, 0xff, sizeof(w));
	ioctl(s, TIOCGWINSZ, &w);
	CHECKF("winsz_default_zero", w.ws_row == 0 && w.ws_col == 0 && w.ws_xpixel == 0 &&
	       w.ws_ypixel == 0, "%u x %u", w.ws_row, w.ws_col);
	struct winsize set = { .ws_row = 24, .ws_col = 80, .ws_xpixel = 640, .ws_ypixel = 480 };
	EXPECT_OK("tiocswinsz_master_ok", ioctl(m, TIOCSWINSZ, &set));
	memset(&w, 0, sizeof(w));
	ioctl(s, TIOCGWINSZ, &w);
	CHECKF("winsz_master_set_replica_sees", memcmp(&w, &set, sizeof(w)) == 0,
	       "%u x %u (%u x %u px)", w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel);
	set.ws_row = 50;
	set.ws_col = 132;
	ioctl(s, TIOCSWINSZ, &set);
	memset(&w, 0, sizeof(w));
	ioctl(m, TIOCGWINSZ, &w);
	CHECKF("winsz_replica_set_master_sees", w.ws_row == 50 && w.ws_col == 132, "%u x %u",
	       w.ws_row, w.ws_col);
	close_pty(m, s);
}

static void t_hangup_main(void)
{
	int m, s;
	char name[64], buf[64];
	struct stat st;
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("master_close_replica_read_eof", "setup: %s", h_errname(errno));
		return;
	}
	close(m);
	/* the master's close hangs the replica up (tty_vhangup): reads see
	 * EOF, writes and termios ioctls fail EIO */
	want_eq("master_close_replica_read_eof", R(read(s, buf, sizeof(buf))), 0);
	want_eq("master_close_replica_write_eio", R(write(s, "x", 1)), -EIO);
	int ev = pollev(s, POLLIN | POLLOUT, 0);
	CHECKF("master_close_replica_pollhup", ev > 0 && (ev & POLLHUP), "revents %#x", ev);
	struct termios t;
	want_eq("master_close_replica_tcgetattr_eio", R(tcgetattr(s, &t)), -EIO);
	want_eq("master_close_pts_node_removed", R(stat(name, &st)), -ENOENT);
	close(s);

	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("replica_close_master_reads_data", "setup: %s", h_errname(errno));
		return;
	}
	lflags(s, 0, ECHO);
	wr(s, "bye\n");
	close(s);
	/* queued output is still delivered, then EIO */
	long n = collect(m, buf, 5, sizeof(buf), WAIT_MS);
	WANT_STR("replica_close_master_reads_data", buf, n, "bye\r\n");
	want_eq("replica_close_master_read_eio", R(read(m, buf, sizeof(buf))), -EIO);
	ev = pollev(m, POLLIN, 0);
	CHECKF("replica_close_master_pollhup", ev > 0 && (ev & (POLLHUP | POLLIN)) == POLLHUP,
	       "revents %#x", ev);
	/* the master can still write: the input waits for the next opener */
	want_eq("replica_close_master_write_ok", R(write(m, "zz\n", 3)), 3);
	s = open(name, O_RDWR | O_NOCTTY);
	CHECKF("replica_reopen_ok", s >= 0, "errno %s", h_errname(errno));
	ev = pollev(m, POLLIN, 0);
	CHECKF("replica_reopen_clears_pollhup", ev >= 0 && !(ev & POLLHUP), "revents %#x", ev);
	n = rd(s, buf, sizeof(buf), WAIT_MS);
	WANT_STR("replica_reopen_reads_queued_input", buf, n, "zz\n");
	struct termios t2;
	tcgetattr(s, &t2);
	CHECKF("replica_reopen_keeps_termios", !(t2.c_lflag & ECHO), "c_lflag %#o",
	       t2.c_lflag);
	close_pty(m, s);

	/* before the replica is ever opened the master is not hung up */
	m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (m < 0 || grantpt(m) || unlockpt(m)) {
		FAIL("master_before_replica_open_no_pollhup", "setup: %s", h_errname(errno));
		return;
	}
	ev = pollev(m, POLLIN | POLLOUT, 0);
	want_eq("master_before_replica_open_no_pollhup", ev, POLLOUT);
	want_eq("master_before_replica_open_read_eagain", R(read(m, buf, sizeof(buf))),
		-EAGAIN);
	close(m);
}

static void t_not_ctty_main(void)
{
	int m, s;
	char name[64];
	if (open_pty(&m, &s, name, sizeof(name))) {
		FAIL("tcgetpgrp_not_ctty_enotty", "setup: %s", h_errname(errno));
		return;
	}
	pid_t sid;
	want_eq("tcgetpgrp_not_ctty_enotty", R(tcgetpgrp(s)), -ENOTTY);
	want_eq("tiocgsid_not_ctty_enotty", R(ioctl(s, TIOCGSID, &sid)), -ENOTTY);
	want_eq("tcsetpgrp_not_ctty_enotty", R(tcsetpgrp(s, getpgrp())), -ENOTTY);
	want_eq("tiocnotty_not_ctty_enotty", R(ioctl(s, TIOCNOTTY)), -ENOTTY);
	/* through the master the replica's (absent) foreground group reads 0 */
	want_eq("tcgetpgrp_master_no_session_zero", R(tcgetpgrp(m)), 0);
	want_eq("tiocgsid_master_no_session_enotty", R(ioctl(m, TIOCGSID, &sid)), -ENOTTY);
	close_pty(m, s);
}

/* ---------------------------- sessions ---------------------------- */

static void c_acquire(void *arg)
{
	(void)arg;
	int m, s;
	char name[64];
	if (open_pty(&m, &s, name, sizeof(name)))
		return;
	if (setsid() != getpid())
		return;
	shr[1] = R(open("/dev/tty", O_RDWR));
	/* opening the master never makes it the controlling terminal */
	int m2 = posix_openpt(O_RDWR);
	shr[2] = R(open("/dev/tty", O_RDWR));
	close(m2);
	/* nor does an O_NOCTTY open of the replica */
	int nc = open(name, O_RDWR | O_NOCTTY);
	shr[3] = nc >= 0 ? R(open("/dev/tty", O_RDWR)) : NOTRUN;
	int fd = open(name, O_RDWR);
	int t = open("/dev/tty", O_RDWR);
	shr[4] = t >= 0 ? 1 : -errno;
	pid_t sid = -1;
	shr[5] = ioctl(fd, TIOCGSID, &sid) == 0 ? sid == getpid() : -errno;
	shr[6] = R(tcgetpgrp(fd)) == getpid();
	shr[7] = R(tcgetpgrp(s)) == getpid(); /* any fd of the ctty */
	shr[8] = t >= 0 && R(tcgetpgrp(t)) == getpid();
	/* a child inherits the controlling terminal */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		int f = open("/dev/tty", O_RDWR);
		_exit(f >= 0 ? 0 : errno);
	}
	int st;
	waitpid(c, &st, 0);
	shr[9] = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + st;
}

static void t_acquire(void)
{
	int r[NR];
	run_child(c_acquire, NULL, r);
	want_eq("dev_tty_without_ctty_enxio", r[1], -ENXIO);
	want_eq("master_open_not_ctty", r[2], -ENXIO);
	want_eq("replica_open_noctty_not_ctty", r[3], -ENXIO);
	want_eq("open_replica_acquires_ctty", r[4], 1);
	want_eq("tiocgsid_is_session", r[5], 1);
	want_eq("tcgetpgrp_fg_is_leader_group", r[6], 1);
	want_eq("tcgetpgrp_via_noctty_fd", r[7], 1);
	want_eq("tcgetpgrp_via_dev_tty", r[8], 1);
	want_eq("ctty_inherited_by_child", r[9], 0);
}

static void t_master_sees_session(void)
{
	int m, s;
	char name[64];
	int ready[2], done[2];
	if (open_pty(&m, &s, name, sizeof(name)) || pipe(ready) || pipe(done)) {
		FAIL("master_tiocgsid_sees_session", "setup: %s", h_errname(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(8);
		close(ready[0]);
		close(done[1]);
		setsid();
		int fd = open(name, O_RDWR);
		char c = fd >= 0 ? 'y' : 'n';
		write(ready[1], &c, 1);
		read(done[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	char c = 0;
	read(ready[0], &c, 1);
	pid_t sid = -1;
	int r = ioctl(m, TIOCGSID, &sid);
	CHECKF("master_tiocgsid_sees_session", c == 'y' && r == 0 && sid == pid,
	       "ready %c ioctl %d errno %s sid %d child %d", c, r, h_errname(errno), sid, pid);
	pid_t pg = tcgetpgrp(m);
	CHECKF("master_tcgetpgrp_sees_fg_group", pg == pid, "tcgetpgrp %d child %d", pg, pid);
	write(done[1], "x", 1);
	close(done[1]);
	close(ready[0]);
	waitpid(pid, NULL, 0);
	close_pty(m, s);
}

static void c_sctty(void *arg)
{
	(void)arg;
	int m, s, m2, s2;
	char name[64], name2[64];
	if (open_pty(&m, &s, name, sizeof(name)) || open_pty(&m2, &s2, name2, sizeof(name2)))
		return;
	/* not a session leader */
	shr[0] = R(ioctl(s, TIOCSCTTY, 0));
	setsid();
	shr[1] = R(ioctl(s, TIOCSCTTY, 0));
	int t = open("/dev/tty", O_RDWR);
	shr[2] = t >= 0 ? 1 : -errno;
	/* already ours: no-op success */
	shr[3] = R(ioctl(s, TIOCSCTTY, 0));
	/* a leader that already has a ctty cannot take another */
	shr[4] = R(ioctl(s2, TIOCSCTTY, 0));
	/* another session cannot take ours (without stealing) */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		setsid();
		_exit(ioctl(s, TIOCSCTTY, 0) == 0 ? 0 : errno);
	}
	int st;
	waitpid(c, &st, 0);
	shr[5] = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + st;
}

static void t_sctty(void)
{
	int r[NR];
	run_child(c_sctty, NULL, r);
	want_eq("tiocsctty_not_leader_eperm", r[0], -EPERM);
	want_eq("tiocsctty_leader_ok", r[1], 0);
	want_eq("tiocsctty_then_dev_tty_ok", r[2], 1);
	want_eq("tiocsctty_again_ok", r[3], 0);
	want_eq("tiocsctty_second_tty_eperm", r[4], -EPERM);
	want_eq("tiocsctty_other_sessions_tty_eperm", r[5], EPERM);
}

static void c_setpgrp(void *arg)
{
	(void)arg;
	int m, s, p[2];
	char name[64];
	/* a process group in our old session (the caller's own group may be
	 * invisible under a pid namespace, which would give ESRCH) */
	if (pipe(p))
		return;
	fflush(stdout);
	pid_t other = fork();
	if (other == 0) {
		char c;
		close(p[1]);
		setpgid(0, 0);
		read(p[0], &c, 1);
		_exit(0);
	}
	setpgid(other, other);
	int fd = sess_pty(&m, &s, name);
	if (fd < 0)
		return;
	fflush(stdout);
	pid_t g = fork();
	if (g == 0) {
		char c;
		close(p[1]);
		setpgid(0, 0);
		read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	setpgid(g, g);
	shr[0] = R(tcsetpgrp(fd, g));
	shr[1] = R(tcgetpgrp(fd)) == g;
	/* now in the background: SIGTTOU blocked lets us take it back */
	block(SIGTTOU);
	shr[2] = R(tcsetpgrp(fd, getpid()));
	shr[3] = R(tcgetpgrp(fd)) == getpid();
	shr[4] = R(tcsetpgrp(fd, other)); /* exists, other session */
	shr[5] = R(tcsetpgrp(fd, INT_MAX));
	shr[6] = R(tcsetpgrp(fd, -1));
	close(p[1]);
	waitpid(g, NULL, 0);
	waitpid(other, NULL, 0);
}

static void t_setpgrp(void)
{
	int r[NR];
	run_child(c_setpgrp, NULL, r);
	want_eq("tcsetpgrp_same_session_ok", r[0], 0);
	want_eq("tcgetpgrp_after_tcsetpgrp", r[1], 1);
	want_eq("tcsetpgrp_bg_sigttou_blocked_ok", r[2], 0);
	want_eq("tcgetpgrp_back_to_leader", r[3], 1);
	want_eq("tcsetpgrp_other_session_eperm", r[4], -EPERM);
	want_eq("tcsetpgrp_nonexistent_esrch", r[5], -ESRCH);
	want_eq("tcsetpgrp_negative_einval", r[6], -EINVAL);
}

static void c_notty(void *arg)
{
	(void)arg;
	int m, s;
	char name[64];
	int fd = sess_pty(&m, &s, name);
	if (fd < 0)
		return;
	block(SIGHUP);
	block(SIGCONT);
	/* a non-leader just drops its ctty */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		if (ioctl(fd, TIOCNOTTY) != 0)
			_exit(1);
		_exit(open("/dev/tty", O_RDWR) < 0 && errno == ENXIO ? 0 : 2);
	}
	int st;
	waitpid(c, &st, 0);
	shr[0] = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + st;
	shr[1] = pending(SIGHUP);
	shr[2] = open("/dev/tty", O_RDWR) >= 0;
	/* the leader: the foreground group (ourselves) gets SIGHUP+SIGCONT */
	shr[3] = R(ioctl(fd, TIOCNOTTY));
	shr[4] = pending(SIGHUP);
	shr[5] = pending(SIGCONT);
	shr[6] = R(open("/dev/tty", O_RDWR));
	shr[7] = R(ioctl(fd, TIOCNOTTY));
	pid_t sid;
	shr[8] = R(ioctl(m, TIOCGSID, &sid));
}

static void t_notty(void)
{
	int r[NR];
	run_child(c_notty, NULL, r);
	want_eq("tiocnotty_non_leader_drops_ctty", r[0], 0);
	want_eq("tiocnotty_non_leader_no_sighup", r[1], 0);
	want_eq("tiocnotty_non_leader_leader_keeps_ctty", r[2], 1);
	want_eq("tiocnotty_leader_ok", r[3], 0);
	want_eq("tiocnotty_leader_fg_gets_sighup", r[4], 1);
	want_eq("tiocnotty_leader_fg_gets_sigcont", r[5], 1);
	want_eq("tiocnotty_leader_dev_tty_enxio", r[6], -ENXIO);
	want_eq("tiocnotty_again_enotty", r[7], -ENOTTY);
	want_eq("tiocnotty_leader_tty_has_no_session", r[8], -ENOTTY);
}

static void c_isig(void *arg)
{
	(void)arg;
	int m, s;
	char name[64];
	int fd = sess_pty(&m, &s, name);
	if (fd < 0)
		return;
	block(SIGINT);
	block(SIGQUIT);
	block(SIGTSTP);
	wr(m, "\003");
	shr[0] = waitsig(SIGINT, WAIT_MS);
	wr(m, "\034");
	shr[1] = waitsig(SIGQUIT, WAIT_MS);
	wr(m, "\032");
	shr[2] = waitsig(SIGTSTP, WAIT_MS);
	/* VINTR changed: the new char signals, the old one is data */
	struct termios t;
	tcgetattr(fd, &t);
	t.c_cc[VINTR] = 'q';
	tcsetattr(fd, TCSANOW, &t);
	char buf[8];
	wr(m, "\003\n");
	long n = rd(fd, buf, sizeof(buf), WAIT_MS);
	shr[3] = n == 2 && memcmp(buf, "\003\n", 2) == 0;
	shr[4] = pending(SIGINT);
	wr(m, "q");
	shr[5] = waitsig(SIGINT, WAIT_MS);
}

static void t_isig(void)
{
	int r[NR];
	run_child(c_isig, NULL, r);
	want_eq("isig_ctrl_c_sigint_to_fg", r[0], SIGINT);
	want_eq("isig_ctrl_backslash_sigquit", r[1], SIGQUIT);
	want_eq("isig_ctrl_z_sigtstp", r[2], SIGTSTP);
	want_eq("isig_old_vintr_is_data", r[3], 1);
	want_eq("isig_old_vintr_no_signal", r[4], 0);
	want_eq("isig_new_vintr_sigint", r[5], SIGINT);
}

static void c_winch(void *arg)
{
	(void)arg;
	int m, s;
	char name[64];
	int fd = sess_pty(&m, &s, name);
	if (fd < 0)
		return;
	block(SIGWINCH);
	struct winsize w = { .ws_row = 30, .ws_col = 100 };
	shr[0] = R(ioctl(m, TIOCSWINSZ, &w));
	shr[1] = waitsig(SIGWINCH, WAIT_MS);
	/* same size again: no signal */
	ioctl(m, TIOCSWINSZ, &w);
	shr[2] = waitsig(SIGWINCH, QUIET_MS);
	w.ws_col = 101;
	ioctl(fd, TIOCSWINSZ, &w);
	shr[3] = waitsig(SIGWINCH, WAIT_MS);
}

static void t_winch(void)
{
	int r[NR];
	run_child(c_winch, NULL, r);
	want_eq("tiocswinsz_master_sigwinch_fg", r[1], SIGWINCH);
	want_eq("tiocswinsz_unchanged_no_sigwinch", r[2], -EAGAIN);
	want_eq("tiocswinsz_replica_sigwinch_fg", r[3], SIGWINCH);
}

static void c_hup(void *arg)
{
	(void)arg;
	int m, s;
	char name[64], buf[8];
	int fd = sess_pty(&m, &s, name);
	if (fd < 0)
		return;
	block(SIGHUP);
	block(SIGCONT);
	shr[0] = R(close(m));
	shr[1] = waitsig(SIGHUP, WAIT_MS);
	shr[2] = waitsig(SIGCONT, WAIT_MS);
	shr[3] = R(read(fd, buf, sizeof(buf)));
	shr[4] = R(write(fd, "x", 1));
	shr[5] = R(open("/dev/tty", O_RDWR));
	/* the session leader's ctty is gone with the hangup */
	pid_t sid;
	shr[6] = R(ioctl(fd, TIOCGSID, &sid));
}

static void t_hup(void)
{
	int r[NR];
	run_child(c_hup, NULL, r);
	want_eq("hup_session_leader_sighup", r[1], SIGHUP);
	want_eq("hup_session_leader_sigcont", r[2], SIGCONT);
	want_eq("hup_ctty_read_eof", r[3], 0);
	want_eq("hup_ctty_write_eio", r[4], -EIO);
	want_eq("hup_dev_tty_enxio", r[5], -ENXIO);
	want_eq("hup_ctty_ioctl_eio", r[6], -EIO);
}

/* --------------------------- job control --------------------------- */

enum {
	JC_READ_STOP,
	JC_READ_IGN,
	JC_READ_BLOCKED,
	JC_READ_HANDLER,
	JC_WRITE_NOTOSTOP,
	JC_WRITE_TOSTOP,
	JC_WRITE_TOSTOP_IGN,
	JC_SETPGRP_STOP,
	JC_SETPGRP_IGN,
	JC_TCSETATTR_STOP,
	JC_FG_READ,
};

#define JC_OK 200
static volatile sig_atomic_t jc_hits;
static void jc_handler(int sig)
{
	(void)sig;
	jc_hits++;
}

/* In a session leader with a ctty: forks a process into a new background
 * group that does one terminal operation; shr[0] gets its outcome:
 * 1000+sig when stopped, the exit code (errno or JC_OK), 2000+sig when
 * killed. */
static void c_jobctl(void *arg)
{
	int mode = (int)(intptr_t)arg;
	int m, s;
	char name[64];
	int fd = sess_pty(&m, &s, name);
	if (fd < 0)
		return;
	if (mode == JC_WRITE_TOSTOP || mode == JC_WRITE_TOSTOP_IGN)
		lflags(fd, TOSTOP, 0);
	if (mode == JC_FG_READ)
		wr(m, "line\n");
	fflush(stdout);
	pid_t g = fork();
	if (g == 0) {
		char buf[16];
		struct sigaction sa;
		long r = 0;
		alarm(4);
		if (mode != JC_FG_READ)
			setpgid(0, 0);
		switch (mode) {
		case JC_READ_STOP:
		case JC_FG_READ:
			r = R(read(fd, buf, sizeof(buf)));
			break;
		case JC_READ_IGN:
			signal(SIGTTIN, SIG_IGN);
			r = R(read(fd, buf, sizeof(buf)));
			break;
		case JC_READ_BLOCKED:
			block(SIGTTIN);
			r = R(read(fd, buf, sizeof(buf)));
			break;
		case JC_READ_HANDLER:
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = jc_handler; /* no SA_RESTART */
			sigaction(SIGTTIN, &sa, NULL);
			r = R(read(fd, buf, sizeof(buf)));
			if (r == -EINTR && jc_hits != 1)
				r = -150;
			break;
		case JC_WRITE_NOTOSTOP:
		case JC_WRITE_TOSTOP:
			r = R(write(fd, "x", 1));
			break;
		case JC_WRITE_TOSTOP_IGN:
			signal(SIGTTOU, SIG_IGN);
			r = R(write(fd, "x", 1));
			break;
		case JC_SETPGRP_STOP:
			r = R(tcsetpgrp(fd, getpid()));
			break;
		case JC_SETPGRP_IGN:
			signal(SIGTTOU, SIG_IGN);
			r = R(tcsetpgrp(fd, getpid()));
			if (r == 0 && tcgetpgrp(fd) != getpid())
				r = -151;
			break;
		case JC_TCSETATTR_STOP: {
			struct termios t;
			tcgetattr(fd, &t);
			r = R(tcsetattr(fd, TCSANOW, &t));
			break;
		}
		}
		if (r < 0)
			_exit((int)-r);
		if (mode == JC_FG_READ)
			_exit(r == 5 && memcmp(buf, "line\n", 5) == 0 ? JC_OK : 152);
		_exit(mode == JC_WRITE_NOTOSTOP || mode == JC_WRITE_TOSTOP_IGN ? (r == 1 ? JC_OK : 153)
									       : JC_OK);
	}
	if (mode != JC_FG_READ)
		setpgid(g, g);
	int st;
	if (waitpid(g, &st, WUNTRACED) != g)
		return;
	if (WIFSTOPPED(st)) {
		shr[0] = 1000 + WSTOPSIG(st);
		kill(g, SIGKILL);
		waitpid(g, &st, 0);
	} else if (WIFEXITED(st)) {
		shr[0] = WEXITSTATUS(st);
	} else {
		shr[0] = 2000 + WTERMSIG(st);
	}
}

/* The background group is orphaned (its only member's parent is outside the
 * session): a read fails EIO instead of stopping it. */
static void c_orphan(void *arg)
{
	(void)arg;
	int m, s, p[2];
	char name[64];
	int fd = sess_pty(&m, &s, name);
	if (fd < 0 || pipe(p))
		return;
	fflush(stdout);
	pid_t g = fork();
	if (g == 0) {
		pid_t me = getpid();
		close(p[0]);
		if (fork() == 0) {
			char buf[8];
			int r;
			alarm(4);
			setpgid(0, 0);
			for (int i = 0; i < 3000 && getppid() == me; i++)
				usleep(1000);
			if (getppid() == me)
				r = -1000;
			else
				r = (int)R(read(fd, buf, sizeof(buf)));
			write(p[1], &r, sizeof(r));
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(g, NULL, 0);
	int r = NOTRUN;
	if (pollev(p[0], POLLIN, 6000) > 0)
		read(p[0], &r, sizeof(r));
	shr[0] = r;
}

static void t_jobctl(void)
{
	static const struct {
		const char *name;
		int mode;
		int want;
	} cases[] = {
		{ "jc_fg_read_ok", JC_FG_READ, JC_OK },
		{ "jc_bg_read_sigttin_stops", JC_READ_STOP, 1000 + SIGTTIN },
		{ "jc_bg_read_sigttin_ignored_eio", JC_READ_IGN, EIO },
		{ "jc_bg_read_sigttin_blocked_eio", JC_READ_BLOCKED, EIO },
		{ "jc_bg_read_sigttin_caught_eintr", JC_READ_HANDLER, EINTR },
		{ "jc_bg_write_without_tostop_ok", JC_WRITE_NOTOSTOP, JC_OK },
		{ "jc_bg_write_tostop_sigttou_stops", JC_WRITE_TOSTOP, 1000 + SIGTTOU },
		{ "jc_bg_write_tostop_sigttou_ignored_ok", JC_WRITE_TOSTOP_IGN, JC_OK },
		{ "jc_bg_tcsetpgrp_sigttou_stops", JC_SETPGRP_STOP, 1000 + SIGTTOU },
		{ "jc_bg_tcsetpgrp_sigttou_ignored_ok", JC_SETPGRP_IGN, JC_OK },
		{ "jc_bg_tcsetattr_sigttou_stops", JC_TCSETATTR_STOP, 1000 + SIGTTOU },
	};
	int r[NR];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_child(c_jobctl, (void *)(intptr_t)cases[i].mode, r);
		CHECKF(cases[i].name, r[0] == cases[i].want, "got %d, want %d", r[0],
		       cases[i].want);
	}
	run_child(c_orphan, NULL, r);
	want_eq("jc_orphaned_bg_read_eio", r[0], -EIO);
}

int main(void)
{
	alarm(20);
	shr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shr == MAP_FAILED) {
		FAIL("setup_shared_page", "mmap: %s", h_errname(errno));
		return 0;
	}
	t_basic();
	t_termios_default();
	t_output();
	t_canon();
	t_echo();
	t_noncanon();
	t_winsz();
	t_hangup_main();
	t_not_ctty_main();
	t_acquire();
	t_master_sees_session();
	t_sctty();
	t_setpgrp();
	t_notty();
	t_isig();
	t_winch();
	t_hup();
	t_jobctl();
	return 0;
}
