// SPDX-License-Identifier: Apache-2.0
//
// The guardian of a live run: a small process the controller forks when it takes the host
// lock (mml_host_begin). It waits for the controller to finish or die; when the controller
// died without restoring the host (SIGKILL, the OOM killer: no handler runs), it restores
// the host from the run's journal with the steps of mml_journal_execute (host.c), removes
// the journal, says what it did on standard error and exits. It is a fork of a
// multi-threaded process, so it uses async-signal-safe calls only.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Closes the descriptors from `from` to `to`.
static void mml_close_span(int from, unsigned to)
{
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
	if (from < 0 || (unsigned)from > to || syscall(SYS_close_range, (unsigned)from, to, 0) == 0)
		return;
	for (unsigned fd = (unsigned)from; fd <= to && fd < 4096; fd++)
		close((int)fd);
}

/// Closes every descriptor from 3 up but `a` and `b` (-1: none).
static void mml_close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a, from = 3;
	if (lo >= from) {
		mml_close_span(from, (unsigned)lo - 1);
		from = lo + 1;
	}
	if (hi >= from) {
		mml_close_span(from, (unsigned)hi - 1);
		from = hi + 1;
	}
	mml_close_span(from, ~0U);
}

/// The guardian: waits for the controller `owner` to finish or die, and restores the host
/// from the journal when it died. Holds only standard error, its end of the socket `sock`
/// and the host lock `lock_fd` (the next live run waits until the restore is done). Never
/// returns.
static __attribute__((noreturn)) void mml_guardian(const char *journal, int sock, int lock_fd, pid_t owner)
{
	mml_close_all_but(sock, lock_fd);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < 65; sig++) {
		// Interruptions meant for the run (the terminal's ^C, a SIGTERM to the group) do not
		// end the guardian: it ends by itself once the controller is done.
		int ignore = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT || sig == SIGPIPE
			     || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU || sig == SIGUSR1 || sig == SIGUSR2;
		sa.sa_handler = ignore ? SIG_IGN : SIG_DFL;
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "mmlab-guardian");
	prctl(PR_SET_CHILD_SUBREAPER, 0);

	// The controller is dead when its pidfd reads (exit_notify(): its threads are gone and its
	// children were sent their PR_SET_PDEATHSIG), or when we are no longer its child. The
	// socket's EOF comes earlier (exit_files()), so after it only the death is waited for.
	int pfd = mml_pidfd_open(owner);
	int eof = 0;
	while (getppid() == owner) {
		struct pollfd p[2] = { { pfd, POLLIN, 0 }, { sock, POLLIN, 0 } };
		int n = poll(p, eof ? 1 : 2, pfd >= 0 ? -1 : 5);	// without a pidfd: getppid() every 5 ms
		if (n < 0 && errno != EINTR)
			mml_sleep_ms(5);
		if (n <= 0)
			continue;
		if (p[0].revents & POLLIN)
			break;
		if (!eof && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char c = 0;
			ssize_t r = recv(sock, &c, 1, 0);
			if (r == 1 && c == 'q')
				_exit(0);	// the run ended and restored the host itself
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				eof = 1;
		}
	}
	static struct mml_journal j;
	static char done_buf[2048], bad_buf[1024], msg[4096];
	char why[300];
	int r = mml_journal_load(journal, &j, why, sizeof why);
	if (r == 0 || (r > 0 && j.owner != owner))
		_exit(0);	// the controller restored and removed it before it died
	struct mml_text m = { msg, 0, sizeof msg, 0 };
	mml_put(&m, "mmlab: the live run (pid ");
	mml_put_u(&m, (unsigned long long)owner);
	mml_put(&m, ") ended without restoring the host; its guardian (pid ");
	mml_put_u(&m, (unsigned long long)getpid());
	int failed = 1;
	if (r < 0) {
		mml_put(&m, ") cannot use the journal ");
		mml_put(&m, journal);
		mml_put(&m, ": ");
		mml_put(&m, why);
		mml_put(&m, "; the next live run reports it\n");
	} else {
		struct mml_text done = { done_buf, 0, sizeof done_buf, 0 }, bad = { bad_buf, 0, sizeof bad_buf, 0 };
		failed = mml_journal_execute(&j, 1, &done, &bad);
		if (!failed)
			mml_journal_remove(journal, 1);
		if (!failed && !done.len)
			_exit(0);	// it had changed nothing yet: nothing to tell
		mml_put(&m, ") restored it: ");
		mml_put(&m, done_buf);
		if (failed) {
			mml_put(&m, "; could not restore: ");
			mml_put(&m, bad_buf);
			mml_put(&m, " (the journal ");
			mml_put(&m, journal);
			mml_put(&m, " stays for the next live run)");
		}
		mml_put(&m, "\n");
	}
	ssize_t ignored = write(2, msg, (size_t)m.len);
	(void)ignored;
	_exit(failed ? 1 : 0);
}

/// Forks the guardian of the journal at `journal` (see internal.h): its pid, or -errno.
pid_t mml_guardian_start(const char *journal, int lock_fd, int *sock)
{
	int sv[2];
	// A socket pair, not a pipe: telling a guardian that was killed to quit must not raise
	// SIGPIPE in the controller (send with MSG_NOSIGNAL); its EOF is a pipe's.
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid_t owner = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[1]);
		mml_guardian(journal, sv[0], lock_fd, owner);
	}
	int e = errno;
	close(sv[0]);
	if (pid < 0) {
		close(sv[1]);
		return -e;
	}
	*sock = sv[1];
	return pid;
}

/// Tells the guardian the run is over (the host is restored) and waits (bounded) until it is gone.
void mml_guardian_stop(int sock, pid_t pid)
{
	send(sock, "q", 1, MSG_NOSIGNAL);
	close(sock);
	if (pid > 0)
		mml_wait_gone(pid, 2000);
}

#endif // __linux__
