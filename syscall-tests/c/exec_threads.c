/* execve from a multi-threaded process (de_thread): exec from the leader
 * while other threads are blocked in nanosleep, pause and a futex wait;
 * exec from a non-leader thread (it takes over the pid, the parent sees one
 * exit); a failed exec (ENOENT, ENOEXEC) leaves the other threads running;
 * pending signals (with their siginfo) and the mask survive exec, ignored
 * signals stay ignored and handled ones are reset. Every scenario runs in a
 * forked child that re-executes this program (/proc/self/exe) with
 * argv[1] == "--stage"; the new image writes what it saw to a pipe and
 * exits 42, and the parent reports. */
#include "harness.h"
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>

#define RTSIG (SIGRTMIN + 2)

struct report {
	int pid, tid, ppid, threads, tasks, pre_threads, old_tid;
	/* for SIGUSR1 (kill), SIGUSR2 (tgkill), RTSIG (sigqueue) */
	int pend[3], blk[3], code[3], spid[3], value[3], blk_term;
	int int_ign, int_flags, hup_dfl, hup_flags, hup_mask_empty;
	/* failed-exec scenario */
	int enoent_ret, enoent_errno, noexec_errno, thr_errno, advanced, threads_after;
};

static char self[PATH_MAX];
static volatile int ready, futex_word, counter;
static volatile pid_t tids[4];

static int status_threads(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int count_tasks(void)
{
	int n = 0;
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Thread bodies: 1 nanosleep, 2 pause, 3 futex wait, 4 count forever. */
static void *sleeper(void *a)
{
	long kind = (long)a;
	struct timespec ts = {100, 0};
	tids[kind % 4] = (pid_t)syscall(SYS_gettid);
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (kind == 1)
			nanosleep(&ts, NULL);
		else if (kind == 2)
			pause();
		else if (kind == 3)
			syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		else if (__atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST))
			usleep(1000);
	}
	return NULL;
}

/* Starts the nanosleep/pause/futex threads and waits until they block. */
static void start_sleepers(void)
{
	pthread_t t;
	for (long k = 1; k <= 3; k++)
		pthread_create(&t, NULL, sleeper, (void *)k);
	long long deadline = h_now_ns() + 1000000000LL;
	while (ready < 3 && h_now_ns() < deadline)
		usleep(1000);
	for (int i = 1; i <= 3; i++)
		h_wait_thread_sleeping(tids[i], deadline);
	usleep(20000);
}

static void exec_stage(int fd)
{
	char a[3][16];
	snprintf(a[0], 16, "%d", fd);
	snprintf(a[1], 16, "%d", status_threads());
	snprintf(a[2], 16, "%d", (int)syscall(SYS_gettid));
	char *argv[] = {"self", "--stage", a[0], a[1], a[2], NULL};
	execv(self, argv);
}

/* (a) the leader execs while three threads sleep. */
static int child_leader(int fd)
{
	start_sleepers();
	exec_stage(fd);
	return 99;
}

/* (b) a non-leader thread execs; the leader waits in pthread_join. */
static void *t_exec(void *a)
{
	exec_stage((int)(long)a);
	_exit(98);
}

static int child_nonleader(int fd)
{
	pthread_t t;
	pthread_create(&t, NULL, sleeper, (void *)1L);
	while (ready < 1)
		usleep(1000);
	pthread_create(&t, NULL, t_exec, (void *)(long)fd);
	pthread_join(t, NULL);
	return 97;
}

/* (c) failing execs with other threads running. */
static void *t_bad_exec(void *a)
{
	char *argv[] = {"x", NULL};
	execv((char *)a, argv);
	return (void *)(long)errno;
}

static int child_failed(int fd)
{
	struct report r;
	char corrupt[64], elf[256] = {0x7f, 'E', 'L', 'F'};
	char *argv[] = {"x", NULL};
	memset(&r, 0, sizeof(r));
	h_tmp(corrupt, sizeof(corrupt), "exec_threads_corrupt");
	h_write_file(corrupt, elf, sizeof(elf), 0755);
	pthread_t t;
	start_sleepers();
	pthread_create(&t, NULL, sleeper, (void *)4L);
	while (ready < 4)
		usleep(1000);
	errno = 0;
	r.enoent_ret = execv("/tmp/st_exec_threads_missing/nothing", argv);
	r.enoent_errno = errno;
	errno = 0;
	execv(corrupt, argv);
	r.noexec_errno = errno;
	void *res;
	pthread_create(&t, NULL, t_bad_exec, "/tmp/st_exec_threads_missing/x");
	pthread_join(t, &res);
	r.thr_errno = (int)(long)res;
	int c0 = counter;
	usleep(50000);
	r.advanced = counter - c0;
	r.threads_after = status_threads();
	unlink(corrupt);
	write(fd, &r, sizeof(r));
	return 0;
}

/* (d) signal state across an exec from a multi-threaded process. */
static void on_hup(int s) { (void)s; }

static int child_signals(int fd)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGHUP, &sa, NULL);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGTERM);
	sigaddset(&m, RTSIG);
	sigprocmask(SIG_BLOCK, &m, NULL);
	start_sleepers(); /* they inherit the mask: nothing reaches them */
	kill(getpid(), SIGUSR1);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
	sigqueue(getpid(), RTSIG, (union sigval){.sival_int = 4242});
	exec_stage(fd);
	return 99;
}

/* The new image: report what it sees. */
static int stage(char **argv)
{
	struct report r;
	sigset_t s, one, pend;
	struct sigaction sa;
	siginfo_t si;
	struct timespec zero = {0, 0};

	memset(&r, 0, sizeof(r));
	r.pre_threads = atoi(argv[3]);
	r.old_tid = atoi(argv[4]);
	r.pid = getpid();
	r.tid = (int)syscall(SYS_gettid);
	r.ppid = getppid();
	r.threads = status_threads();
	r.tasks = count_tasks();
	int sigs[] = {SIGUSR1, SIGUSR2, RTSIG};
	sigpending(&pend);
	sigprocmask(SIG_BLOCK, NULL, &s);
	r.blk_term = sigismember(&s, SIGTERM);
	for (int i = 0; i < 3; i++) {
		r.pend[i] = sigismember(&pend, sigs[i]);
		r.blk[i] = sigismember(&s, sigs[i]);
		sigemptyset(&one);
		sigaddset(&one, sigs[i]);
		memset(&si, 0, sizeof(si));
		/* raw: glibc's sigtimedwait rewrites SI_TKILL as SI_USER */
		if (syscall(SYS_rt_sigtimedwait, &one, &si, &zero, _NSIG / 8) == sigs[i]) {
			r.code[i] = si.si_code;
			r.spid[i] = si.si_pid;
			r.value[i] = si.si_value.sival_int;
		}
	}
	sigaction(SIGINT, NULL, &sa);
	r.int_ign = sa.sa_handler == SIG_IGN;
	r.int_flags = sa.sa_flags;
	sigaction(SIGHUP, NULL, &sa);
	r.hup_dfl = sa.sa_handler == SIG_DFL;
	r.hup_flags = sa.sa_flags;
	r.hup_mask_empty = sigisemptyset(&sa.sa_mask);
	write(atoi(argv[2]), &r, sizeof(r));
	return 42;
}

/* Runs fn(write end) in a child; fills *r from the pipe. Returns the wait
 * status (-1 on failure); *got is how many report bytes arrived. */
static int run(int (*fn)(int), struct report *r, pid_t *pid, ssize_t *got)
{
	int p[2], st;
	memset(r, 0, sizeof(*r));
	*got = 0;
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	*pid = fork();
	if (*pid == 0) {
		close(p[0]);
		_exit(fn(p[1]));
	}
	close(p[1]);
	ssize_t n;
	while (*got < (ssize_t)sizeof(*r) && (n = read(p[0], (char *)r + *got, sizeof(*r) - *got)) > 0)
		*got += n;
	close(p[0]);
	if (waitpid(*pid, &st, 0) != *pid)
		return -1;
	return st;
}

#define EXITED(st, c) (WIFEXITED(st) && WEXITSTATUS(st) == (c))

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--stage") == 0)
		return stage(argv);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = 0;
	else
		realpath(argv[0], self);
	struct report r;
	pid_t pid;
	ssize_t got;
	int st;

	st = run(child_leader, &r, &pid, &got);
	CHECKF("leader_exec_new_image_exit", EXITED(st, 42) && got == sizeof(r), "status %#x, %zd bytes", st, got);
	EXPECT_EQ("leader_exec_was_multithreaded", r.pre_threads, 4);
	EXPECT_EQ("leader_exec_same_pid", r.pid, pid);
	EXPECT_EQ("leader_exec_tid_is_pid", r.tid, pid);
	EXPECT_EQ("leader_exec_same_parent", r.ppid, getpid());
	EXPECT_EQ("leader_exec_status_threads_1", r.threads, 1);
	EXPECT_EQ("leader_exec_one_task_entry", r.tasks, 1);

	st = run(child_nonleader, &r, &pid, &got);
	CHECKF("nonleader_exec_new_image_exit", EXITED(st, 42) && got == sizeof(r), "status %#x, %zd bytes", st, got);
	CHECKF("nonleader_exec_was_other_thread", r.pre_threads == 3 && r.old_tid > 0 && r.old_tid != pid,
	       "threads %d, old tid %d, pid %d", r.pre_threads, r.old_tid, (int)pid);
	EXPECT_EQ("nonleader_exec_getpid_unchanged", r.pid, pid);
	EXPECT_EQ("nonleader_exec_gettid_is_pid", r.tid, pid);
	EXPECT_EQ("nonleader_exec_same_parent", r.ppid, getpid());
	EXPECT_EQ("nonleader_exec_status_threads_1", r.threads, 1);
	EXPECT_EQ("nonleader_exec_one_task_entry", r.tasks, 1);
	EXPECT_ERR("nonleader_exec_single_wait_event", waitpid(-1, &st, WNOHANG), ECHILD);

	st = run(child_failed, &r, &pid, &got);
	CHECKF("failed_exec_process_survives", EXITED(st, 0) && got == sizeof(r), "status %#x, %zd bytes", st, got);
	CHECKF("failed_exec_enoent", r.enoent_ret == -1 && r.enoent_errno == ENOENT, "ret %d errno %s",
	       r.enoent_ret, h_errname(r.enoent_errno));
	EXPECT_EQ("failed_exec_corrupt_elf_enoexec", r.noexec_errno, ENOEXEC);
	EXPECT_EQ("failed_exec_from_thread_enoent", r.thr_errno, ENOENT);
	CHECKF("failed_exec_threads_keep_running", r.advanced >= 3, "counter advanced %d in 50 ms", r.advanced);
	EXPECT_EQ("failed_exec_threads_all_there", r.threads_after, 5);

	st = run(child_signals, &r, &pid, &got);
	CHECKF("signals_exec_new_image_exit", EXITED(st, 42) && got == sizeof(r), "status %#x, %zd bytes", st, got);
	EXPECT_EQ("signals_exec_status_threads_1", r.threads, 1);
	CHECK("signals_exec_mask_kept", r.blk[0] && r.blk[1] && r.blk[2] && r.blk_term);
	CHECK("signals_exec_process_pending_kept", r.pend[0]);
	CHECK("signals_exec_thread_pending_kept", r.pend[1]);
	CHECK("signals_exec_queued_rt_pending_kept", r.pend[2]);
	CHECKF("signals_exec_pending_siginfo_kept", r.code[0] == SI_USER && r.spid[0] == pid,
	       "si_code %d si_pid %d (pid %d)", r.code[0], r.spid[0], (int)pid);
	EXPECT_EQ("signals_exec_tkill_si_code_kept", r.code[1], SI_TKILL);
	CHECKF("signals_exec_rt_value_kept", r.code[2] == SI_QUEUE && r.value[2] == 4242, "si_code %d value %d",
	       r.code[2], r.value[2]);
	CHECK("signals_exec_ignored_stays_ignored", r.int_ign);
	EXPECT_EQ("signals_exec_ignored_flags_cleared", r.int_flags, 0);
	CHECK("signals_exec_handled_reset_to_default", r.hup_dfl);
	EXPECT_EQ("signals_exec_handled_flags_cleared", r.hup_flags, 0);
	CHECK("signals_exec_handled_mask_cleared", r.hup_mask_empty);
	return 0;
}
