/* mailer - run `sendmail -t -oi` with one message on its standard input,
 * within a time limit (mailer.h).
 * Must never leave a child running or unreaped, never block past the time
 * limit, and never die of SIGPIPE.
 */
#include "config.h"   /* _GNU_SOURCE: pipe2, closefrom */

#include "notify/mailer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

/* res = st with message what (printf), then ": " and the program's output
 * (out, may be NULL or empty). */
static void set_result(struct sink_result *res, enum sink_status st, const char *out,
                       const char *what, ...) __attribute__((format(printf, 4, 5)));
static void set_result(struct sink_result *res, enum sink_status st, const char *out,
                       const char *what, ...)
{
	res->status = st;
	res->http_status = 0;
	res->retry_after_ms = 0;
	res->n_dead = 0;
	va_list ap;
	va_start(ap, what);
	vsnprintf(res->message, sizeof res->message, what, ap);
	va_end(ap);
	if (out && *out) {
		size_t l = strlen(res->message);
		snprintf(res->message + l, sizeof res->message - l, ": %s", out);
	}
}

/* What the program wrote, as one line of printable text. */
static void clean_output(char *out, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '\n' || c == '\r' || c == '\t') {
			if (j && out[j - 1] != ' ')
				out[j++] = ' ';
			continue;
		}
		out[j++] = c >= 0x20 && c != 0x7f ? (char)c : '?';
	}
	while (j && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/* In the child: never returns. */
static void run_child(const char *path, int in, int out)
{
	if (setpgid(0, 0) != 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(MAILER_EX_TEMPFAIL);
	closefrom(3);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	char *const argv[] = { (char *)path, (char *)"-t", (char *)"-oi", NULL };
	execv(path, argv);
	int e = errno;
	static const char msg[] = "cannot execute the program\n";
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	_exit(e == ENOENT || e == EACCES || e == ENOEXEC ? 126 : MAILER_EX_TEMPFAIL);
}

static void kill_and_reap(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

enum sink_status mailer_send(const char *path, const char *message, size_t len, int timeout_ms,
                             struct sink_result *res)
{
	int in[2], out[2];
	char err[160];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
		snprintf(err, sizeof err, "%s", strerror(errno));
		set_result(res, SINK_RETRY, NULL, "sendmail: cannot make a socket pair: %s", err);
		return res->status;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(err, sizeof err, "%s", strerror(errno));
		close(in[0]);
		close(in[1]);
		set_result(res, SINK_RETRY, NULL, "sendmail: cannot make a pipe: %s", err);
		return res->status;
	}
	int64_t deadline = clock_mono_ms() + timeout_ms;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, sizeof err, "%s", strerror(errno));
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		set_result(res, SINK_RETRY, NULL, "sendmail: cannot start a process: %s", err);
		return res->status;
	}
	if (pid == 0)
		run_child(path, in[1], out[1]);
	setpgid(pid, pid);   /* as the child does: whichever runs first */
	close(in[1]);
	close(out[1]);
	int to = in[0], from = out[0];
	if (fcntl(to, F_SETFL, O_NONBLOCK) != 0 || fcntl(from, F_SETFL, O_NONBLOCK) != 0) {
		snprintf(err, sizeof err, "%s", strerror(errno));
		close(to);
		close(from);
		kill_and_reap(pid);
		set_result(res, SINK_RETRY, NULL, "sendmail: cannot set up its input: %s", err);
		return res->status;
	}

	char output[MAILER_MAX_OUTPUT + 1];
	size_t n_out = 0, sent = 0;
	bool timed_out = false;
	if (len == 0) {
		close(to);
		to = -1;
	}
	/* feed the input and collect the output until the output ends */
	while (from >= 0) {
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p[2] = { { from, POLLIN, 0 }, { to, POLLOUT, 0 } };
		int r = poll(p, to >= 0 ? 2 : 1, (int)left);
		if (r < 0 && errno != EINTR) {
			timed_out = true;   /* cannot wait: treat as not finished */
			break;
		}
		if (r <= 0)
			continue;
		if (to >= 0 && p[1].revents) {
			ssize_t w = send(to, message + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == len) {
				close(to);    /* all written, or the program stopped reading */
				to = -1;
			}
		}
		if (p[0].revents) {
			char chunk[1024];
			ssize_t got = read(from, chunk, sizeof chunk);
			if (got > 0) {
				size_t take = (size_t)got;
				if (take > MAILER_MAX_OUTPUT - n_out)
					take = MAILER_MAX_OUTPUT - n_out;
				memcpy(output + n_out, chunk, take);
				n_out += take;
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(from);
				from = -1;
			}
		}
	}
	if (to >= 0)
		close(to);
	if (from >= 0)
		close(from);
	output[n_out] = '\0';
	clean_output(output, n_out);

	/* the output has ended: wait for the exit, within the same limit */
	int status = 0;
	pid_t w = 0;
	while (!timed_out) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (clock_mono_ms() >= deadline) {
			timed_out = true;
			break;
		}
		struct timespec pause = { 0, 5 * 1000000L };
		nanosleep(&pause, NULL);
	}
	if (timed_out) {
		kill_and_reap(pid);
		set_result(res, SINK_RETRY, output, "sendmail did not finish within %d ms and was "
		           "killed", timeout_ms);
		return res->status;
	}
	if (w < 0) {
		snprintf(err, sizeof err, "%s", strerror(errno));
		kill_and_reap(pid);
		set_result(res, SINK_RETRY, NULL, "sendmail: cannot learn its exit status (%s; is "
		           "SIGCHLD ignored?)", err);
		return res->status;
	}
	if (WIFSIGNALED(status)) {
		set_result(res, SINK_RETRY, output, "sendmail was killed by signal %d",
		           WTERMSIG(status));
		return res->status;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code == 0)
		set_result(res, SINK_DONE, NULL, "%s", "");
	else if (code == MAILER_EX_TEMPFAIL)
		set_result(res, SINK_RETRY, output, "sendmail exited %d (EX_TEMPFAIL: try again later)",
		           code);
	else
		set_result(res, SINK_DEAD, output, "sendmail exited %d", code);
	return res->status;
}
