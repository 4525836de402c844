/* SIGPIPE and EPIPE on writes to a pipe/socket without readers. */
#include "harness.h"
#include <sys/socket.h>

static volatile int pipe_hits;
static void on_pipe(int s) { (void)s; pipe_hits++; }

static void broken(int p[2])
{
	pipe(p);
	close(p[0]);
}

int main(void)
{
	int p[2], st;
	sigset_t set, pend;

	/* default action kills */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int q[2];
		signal(SIGPIPE, SIG_DFL);
		broken(q);
		write(q[1], "x", 1);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECKF("default_sigpipe_kills", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "status %#x", st);

	signal(SIGPIPE, SIG_IGN);
	broken(p);
	EXPECT_ERR("ignored_write_epipe", write(p[1], "x", 1), EPIPE);
	struct iovec iov = {"ab", 2};
	EXPECT_ERR("ignored_writev_epipe", writev(p[1], &iov, 1), EPIPE);
	close(p[1]);

	signal(SIGPIPE, on_pipe);
	broken(p);
	pipe_hits = 0;
	EXPECT_ERR("handled_write_epipe", write(p[1], "x", 1), EPIPE);
	EXPECT_EQ("handler_ran", pipe_hits, 1);
	close(p[1]);

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	broken(p);
	pipe_hits = 0;
	EXPECT_ERR("blocked_write_epipe", write(p[1], "x", 1), EPIPE);
	sigpending(&pend);
	CHECK("blocked_sigpipe_pending", sigismember(&pend, SIGPIPE));
	EXPECT_EQ("blocked_handler_not_run", pipe_hits, 0);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	EXPECT_EQ("unblocked_handler_runs", pipe_hits, 1);
	close(p[1]);

	/* reader closes while data is buffered */
	pipe(p);
	write(p[1], "buffered", 8);
	close(p[0]);
	pipe_hits = 0;
	EXPECT_ERR("write_after_reader_closed_epipe", write(p[1], "x", 1), EPIPE);
	EXPECT_EQ("sigpipe_each_write", pipe_hits, 1);
	close(p[1]);

	/* sockets: SIGPIPE unless MSG_NOSIGNAL */
	int sv[2];
	EXPECT_EQ("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	pipe_hits = 0;
	EXPECT_ERR("socket_send_nosignal_epipe", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_EQ("socket_nosignal_no_handler", pipe_hits, 0);
	EXPECT_ERR("socket_write_epipe", write(sv[0], "x", 1), EPIPE);
	EXPECT_EQ("socket_write_raises_sigpipe", pipe_hits, 1);
	close(sv[0]);

	/* a pipe whose reader is a dead child */
	pipe(p);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		_exit(0);
	}
	close(p[0]);
	waitpid(pid, NULL, 0);
	pipe_hits = 0;
	EXPECT_ERR("reader_exited_epipe", write(p[1], "x", 1), EPIPE);
	EXPECT_EQ("reader_exited_sigpipe", pipe_hits, 1);
	close(p[1]);
	return 0;
}
