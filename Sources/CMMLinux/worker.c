// SPDX-License-Identifier: Apache-2.0
//
// The worker: a forked process that performs a scenario's calls and accesses on its own
// address space. This file holds its state, the accesses that catch their fault (SIGSEGV,
// SIGBUS), its set-up after fork, forking a worker (mml_fork_worker: the one place a worker
// and its socketpair are made), the request loop that dispatches each opcode, and
// mml_spawn_worker, the controller's entry.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67	// include/uapi/linux/prctl.h, Linux 6.4+
#endif

/// A worker with no request for this long exits by itself (a bounded wait on its side).
#define MML_WORKER_IDLE_MS (300 * 1000)

// Per thread: a scenario's access may run on a job thread (see jobs.c).
static __thread sigjmp_buf mml_jb;
static __thread volatile sig_atomic_t mml_got_sig, mml_got_code;
static int mml_sock = -1;	// this worker's command socket
int mml_pagemap = -1;		// /proc/self/pagemap of this worker
long mml_page = 4096;
static pid_t mml_parent = 0;

// ---- accesses ---------------------------------------------------------------------------

/// SIGSEGV/SIGBUS in a worker: records the signal and its si_code, back to the access.
static void mml_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	mml_got_sig = sig;
	mml_got_code = si->si_code;
	siglongjmp(mml_jb, 1);
}

/// A load of the first word of the page at `a`: 0, or the signal it raised.
int mml_load(uintptr_t a, uint64_t *out)
{
	mml_got_sig = 0;
	mml_got_code = 0;
	if (sigsetjmp(mml_jb, 1) == 0) {
		*out = *(volatile uint64_t *)a;
		return 0;
	}
	return mml_got_sig;
}

/// Fills the page at `a` with `token`: 0, or the signal the first faulting store raised.
int mml_store(uintptr_t a, uint64_t token)
{
	mml_got_sig = 0;
	mml_got_code = 0;
	if (sigsetjmp(mml_jb, 1) == 0) {
		volatile uint64_t *w = (volatile uint64_t *)a;
		for (long i = 0; i < mml_page / 8; i++)
			w[i] = token;
		return 0;
	}
	return mml_got_sig;
}

/// pwrite(2) of one page filled with `token` at `offset` on `fd`: bytes written, or -1
/// (errno set).
static ssize_t mml_pwrite_page(int fd, uint64_t offset, uint64_t token)
{
	uint64_t *buf = malloc((size_t)mml_page);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	for (long i = 0; i < mml_page / 8; i++)
		buf[i] = token;
	ssize_t n = pwrite(fd, buf, (size_t)mml_page, (off_t)offset);
	int e = errno;
	free(buf);
	errno = e;
	return n;
}

/// mml_load into a reply: value, or the signal and its si_code.
void mml_do_load(uintptr_t a, struct mml_reply *rp)
{
	rp->sig = mml_load(a, &rp->value);
	rp->code = rp->sig ? mml_got_code : 0;
}

/// mml_store into a reply: the signal and its si_code, if any.
void mml_do_store(uintptr_t a, uint64_t token, struct mml_reply *rp)
{
	rp->sig = mml_store(a, token);
	rp->code = rp->sig ? mml_got_code : 0;
}

/// The /proc/self/pagemap word of the page at `a`; *err is 0 or the errno.
uint64_t mml_pagemap_word(uintptr_t a, int *err)
{
	uint64_t w = 0;
	*err = 0;
	if (pread(mml_pagemap, &w, 8, (off_t)(a / (uintptr_t)mml_page) * 8) != 8)
		*err = errno ? errno : EIO;
	return w;
}

/// Sets a failed reply: ret -1, err e.
void mml_fail(struct mml_reply *rp, int e)
{
	rp->ret = -1;
	rp->err = e;
}

// ---- a new worker -----------------------------------------------------------------------

/// Closes every descriptor from `lowfd` up.
static void mml_close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lowfd; fd < 4096; fd++)
		close(fd);
}

/// Sets up a freshly forked worker: only `sock` (as fd 3) and the standard streams stay
/// open, default signal dispositions (faults caught), dies with its parent.
static void mml_worker_setup(int sock, int cpu)
{
	if (sock != 3) {
		dup2(sock, 3);
		close(sock);
	}
	mml_close_from(4);
	mml_sock = 3;
	// Dies with the process that forked it (the controller, or the worker of the parent
	// process): a SIGKILL of the controller takes every worker with it. A parent already gone
	// before this line is seen by getppid().
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != mml_parent)
		_exit(7);
	prctl(PR_SET_NAME, "mmlab-worker");	// what ps shows
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	int dfl[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGTRAP, SIGILL, SIGFPE, SIGUSR1, SIGUSR2 };
	for (unsigned i = 0; i < sizeof dfl / sizeof dfl[0]; i++)
		sigaction(dfl[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);	// child workers are reaped automatically
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = mml_on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set))
			_exit(8);
	}
	mml_page = sysconf(_SC_PAGESIZE);
	mml_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

/// Forks a new worker connected to this process by a fresh socketpair (the controller's
/// mml_spawn_worker, a worker's MML_OP_FORK and a job's MML_JOB_FORK all come here).
/// In the parent: the child's pid with this side's end of the socket in *sock, or -errno.
/// In the child: 0, once it is set up as a worker (mml_worker_setup, pinned to `cpu`
/// unless -1: else the parent's pinning is inherited), having closed what it inherited from
/// a worker parent (that one's socket and pagemap, and `stray_fd` unless -1) and forgotten
/// that one's job threads. The caller then runs the loop (mml_worker_loop).
pid_t mml_fork_worker(int cpu, int stray_fd, int *sock)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		// Its own channel, its own pagemap; the parent's job threads do not exist here.
		mml_parent = parent;
		mml_close(mml_pagemap);
		mml_close(mml_sock);
		close(sv[0]);
		mml_close(stray_fd);
		mml_pool_forget();
		mml_worker_setup(sv[1], cpu);
		return 0;
	}
	close(sv[1]);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		return -e;
	}
	*sock = sv[0];
	return pid;
}

// ---- the request loop -------------------------------------------------------------------

/// The request loop of a worker; never returns.
void mml_worker_loop(void)
{
	for (;;) {
		mml_pool_start_if_due();
		struct pollfd p = { mml_sock, POLLIN, 0 };
		int r = poll(&p, 1, MML_WORKER_IDLE_MS);
		if (r == 0)
			_exit(4);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			_exit(5);
		}
		struct mml_request rq;
		int fd = -1;
		ssize_t n = mml_recv(mml_sock, &rq, sizeof rq, &fd);
		if (n == 0)
			_exit(0);	// the controller is gone
		if (n != (ssize_t)sizeof rq)
			_exit(6);
		struct mml_reply rp;
		memset(&rp, 0, sizeof rp);
		int reply_fd = -1, err = 0;
		const void *payload = NULL;
		size_t payload_len = 0;
		uint8_t msg[32];
		switch (rq.op) {
		case MML_OP_PING:
			rp.ret = getpid();
			break;
		case MML_OP_EXIT:
			mml_send(mml_sock, &rp, sizeof rp, -1);
			_exit(0);
		case MML_OP_MMAP:
			mml_do_mmap(&rq, fd, &rp);
			break;
		case MML_OP_MUNMAP:
			rp.ret = munmap((void *)(uintptr_t)rq.arg[0], rq.arg[1]);
			rp.err = rp.ret ? errno : 0;
			break;
		case MML_OP_MPROTECT:
			rp.ret = mprotect((void *)(uintptr_t)rq.arg[0], rq.arg[1], mml_prot(rq.arg[2]));
			rp.err = rp.ret ? errno : 0;
			break;
		case MML_OP_MADVISE:
			rp.ret = madvise((void *)(uintptr_t)rq.arg[0], rq.arg[1], (int)rq.arg[2]);
			rp.err = rp.ret ? errno : 0;
			break;
		case MML_OP_LOAD:
			mml_do_load((uintptr_t)rq.arg[0], &rp);
			break;
		case MML_OP_STORE:
			mml_do_store((uintptr_t)rq.arg[0], rq.arg[1], &rp);
			break;
		case MML_OP_PAGEMAP:
			rp.value = mml_pagemap_word((uintptr_t)rq.arg[0], &err);
			rp.ret = err ? -1 : 0;
			rp.err = err;
			break;
		case MML_OP_CLEAR_REFS:
			mml_do_clear_refs(rq.arg[0], &rp);
			break;
		case MML_OP_PIN:
			mml_do_pin(rq.arg[0], rq.arg[1], &rp);
			break;
		case MML_OP_UNPIN:
			mml_do_unpin(rq.arg[0], &rp);
			break;
		case MML_OP_PRCTL:
			rp.ret = prctl((int)rq.arg[0], (unsigned long)rq.arg[1], 0UL, 0UL, 0UL);
			rp.err = rp.ret < 0 ? errno : 0;
			if (rp.ret == 0 && rq.arg[0] == PR_SET_MEMORY_MERGE && rq.arg[1] != 0)
				mml_unmerge_own_vmas();
			break;
		case MML_OP_PROBE:
			mml_do_probe(&rp);
			break;
		case MML_OP_PUNCH:
			rp.ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)rq.arg[0], (off_t)rq.arg[1]);
			rp.err = rp.ret ? errno : 0;
			break;
		case MML_OP_PWRITE:
			rp.ret = mml_pwrite_page(fd, rq.arg[0], rq.arg[1]);
			rp.err = rp.ret < 0 ? errno : 0;
			break;
		case MML_OP_FORK: {
			int child_sock;
			pid_t pid = mml_fork_worker(-1, fd, &child_sock);
			if (pid == 0)
				continue;	// the new worker: this loop is its loop
			if (pid < 0) {
				mml_fail(&rp, (int)-pid);
				break;
			}
			rp.ret = pid;
			reply_fd = child_sock;
			break;
		}
		case MML_OP_JOB_START:
			mml_job_start(&rq, &rp, &reply_fd);
			break;
		case MML_OP_JOB_POLL:
			mml_job_poll(rq.arg[0], (int)rq.arg[1], &rp, &reply_fd);
			break;
		case MML_OP_UFFD_CREATE:
			mml_do_uffd_create(rq.arg[0], &rp);
			break;
		case MML_OP_UFFD_IOCTL:
			mml_do_uffd_ioctl(rq.arg, &rp);
			break;
		case MML_OP_UFFD_READ: {
			ssize_t got = read((int)rq.arg[0], msg, sizeof msg);
			if (got == (ssize_t)sizeof msg) {
				payload = msg;
				payload_len = sizeof msg;
			} else {
				mml_fail(&rp, got < 0 ? errno : EIO);
			}
			break;
		}
		case MML_OP_PAGEMAP_SCAN:
			mml_do_pagemap_scan(rq.arg, &rp, &payload, &payload_len);
			break;
		default:
			mml_fail(&rp, ENOSYS);
		}
		if (fd >= 0)
			close(fd);
		if (mml_send_data(mml_sock, &rp, sizeof rp, payload, payload_len, reply_fd))
			_exit(3);
		if (reply_fd >= 0)
			close(reply_fd);
	}
}

/// Forks a worker pinned to `cpu` (-1: not pinned) for the controller (see the header).
pid_t mml_spawn_worker(int cpu, int *sock)
{
	pid_t pid = mml_fork_worker(cpu, -1, sock);
	if (pid == 0) {
		mml_stacks_init();
		mml_copy_buf_init();
		mml_worker_loop();
		_exit(0);
	}
	return pid;
}

#endif // __linux__
