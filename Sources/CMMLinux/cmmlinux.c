// SPDX-License-Identifier: Apache-2.0
//
// The C shim of the live backend (see include/cmmlinux.h). The worker half runs in a forked
// copy of the controller: it uses plain system calls only (no malloc, no stdio, no locks), so
// that whatever state the Swift runtime's other threads held at fork time never matters.

#if defined(__linux__)
#define _GNU_SOURCE
#endif

#include "cmmlinux.h"

#include <errno.h>
#include <string.h>

#if defined(__linux__)

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

/// The 2 MiB grid mappings are placed on (PMD size on x86-64).
#define MML_PMD (2UL << 20)
/// A worker with no request for this long exits by itself (a bounded wait on its side).
#define MML_WORKER_IDLE_MS (300 * 1000)

// ---- small helpers (async-signal-safe) ---------------------------------------------------

static long mml_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void mml_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
	}
}

/// Writes the decimal form of v (may be negative) into buf; returns the length.
static int mml_itoa(long v, char *buf)
{
	char tmp[24];
	int n = 0, len = 0;
	unsigned long u = v < 0 ? (unsigned long)(-v) : (unsigned long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = 0;
	return len;
}

static void mml_close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lowfd; fd < 4096; fd++)
		close(fd);
}

// ---- the worker ---------------------------------------------------------------------------

// Per thread: a scenario's access may run on a job thread (see "jobs" below).
static __thread sigjmp_buf mml_jb;
static __thread volatile sig_atomic_t mml_got_sig, mml_got_code;
static int mml_sock = -1;	// this worker's command socket
static int mml_pagemap = -1;	// /proc/self/pagemap of this worker
static long mml_page = 4096;
static pid_t mml_parent = 0;

static void mml_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	mml_got_sig = sig;
	mml_got_code = si->si_code;
	siglongjmp(mml_jb, 1);
}

/// A load of the first word of the page at `a`: 0, or the signal it raised.
static int mml_load(uintptr_t a, uint64_t *out)
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
static int mml_store(uintptr_t a, uint64_t token)
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

static uint64_t mml_pagemap_word(uintptr_t a, int *err)
{
	uint64_t w = 0;
	*err = 0;
	if (pread(mml_pagemap, &w, 8, (off_t)(a / (uintptr_t)mml_page) * 8) != 8)
		*err = errno ? errno : EIO;
	return w;
}

static int mml_prot(uint64_t p)
{
	switch (p) {
	case MML_PROT_R:
		return PROT_READ;
	case MML_PROT_RW:
		return PROT_READ | PROT_WRITE;
	default:
		return PROT_NONE;
	}
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
/// Where the next mapping's reservation is tried (16 TiB: far from the program, its heap
/// and the top-down mmap area of libraries and stacks). Inherited by forked workers.
#define MML_MAP_BASE 0x100000000000UL
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67	// include/uapi/linux/prctl.h, Linux 6.4+
#endif
static uintptr_t mml_map_cursor = MML_MAP_BASE;

/// Places a mapping as the model does: on a 2 MiB boundary; `align` >= 2 MiB (a power of
/// two) on a multiple of it; a smaller `align` exactly that many bytes past a 2 MiB
/// boundary. A PROT_NONE reservation with 2 MiB of slack on both sides is taken first and
/// its slack given back afterwards, so no two mappings are ever closer than 2 MiB (they
/// never merge).
/// Parses a hexadecimal number at *p, advancing it.
static uint64_t mml_parse_hex(const char **p, const char *end)
{
	uint64_t v = 0;
	for (; *p < end; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			break;
		v = v << 4 | (uint64_t)d;
	}
	return v;
}

static char mml_maps_buf[1 << 20];

/// After prctl(PR_SET_MEMORY_MERGE, 1) every compatible VMA of the worker is mergeable: the
/// scenario's, and also the worker's own (the controller's image it was forked from, libc,
/// its stacks), which the model does not have and whose pages would merge and count. This
/// makes every VMA outside the scenario's window [first reservation, mml_map_cursor)
/// unmergeable again (MADV_UNMERGEABLE, errors ignored), reading /proc/self/maps without
/// allocating (the worker is a fork of a multi-threaded process).
static void mml_unmerge_own_vmas(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, mml_maps_buf + n, sizeof(mml_maps_buf) - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(mml_maps_buf))
			break;
	}
	close(fd);
	const char *p = mml_maps_buf, *end = mml_maps_buf + n;
	while (p < end) {
		uint64_t start = mml_parse_hex(&p, end);
		if (p < end && *p == '-')
			p++;
		uint64_t stop = mml_parse_hex(&p, end);
		while (p < end && *p != '\n')
			p++;
		if (p < end)
			p++;
		if (stop <= start)
			continue;
		if (stop <= MML_MAP_BASE || start >= mml_map_cursor)
			(void)madvise((void *)(uintptr_t)start, stop - start, MADV_UNMERGEABLE);
	}
}

static void mml_do_mmap(const struct mml_request *rq, int fd, struct mml_reply *rp)
{
	uint64_t len = rq->arg[0], prot = rq->arg[1], shared = rq->arg[2], off = rq->arg[3], align = rq->arg[4];
	if (align < (uint64_t)mml_page || align % (uint64_t)mml_page ||
	    (align >= MML_PMD && (align & (align - 1)))) {
		rp->ret = -1;
		rp->err = EINVAL;
		return;
	}
	uint64_t big = align >= MML_PMD ? align : MML_PMD;
	uint64_t extra = align < MML_PMD ? align : 0;
	uint64_t plen = (len + (uint64_t)mml_page - 1) & ~((uint64_t)mml_page - 1);
	uint64_t rlen = plen + big + extra + 2 * MML_PMD;
	// Bottom-up, as the model's placement: each reservation is tried at the cursor (above
	// the previous one), so a later mapping has a higher address. This matters to KSM,
	// which scans an mm's VMAs in address order. If the cursor's range is taken (or the
	// kernel ignores MAP_FIXED_NOREPLACE), the kernel picks (top-down).
	char *r = MAP_FAILED;
	for (int tries = 0; tries < 64 && r == MAP_FAILED; tries++) {
		r = mmap((void *)mml_map_cursor, rlen, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (r != MAP_FAILED && (uintptr_t)r != mml_map_cursor) {
			munmap(r, rlen);	// an old kernel took it as a hint only
			r = MAP_FAILED;
			break;
		}
		if (r == MAP_FAILED && errno != EEXIST)
			break;
		if (r == MAP_FAILED)
			mml_map_cursor += 1UL << 30;	// something is there: try 1 GiB higher
	}
	if (r != MAP_FAILED)
		mml_map_cursor = ((uintptr_t)r + rlen + MML_PMD - 1) & ~(uintptr_t)(MML_PMD - 1);
	else
		r = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED) {
		rp->ret = -1;
		rp->err = errno;
		return;
	}
	uintptr_t a = (((uintptr_t)r + MML_PMD + big - 1) & ~(uintptr_t)(big - 1)) + extra;
	int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0);
	void *p = mmap((void *)a, len, mml_prot(prot), flags, fd, fd < 0 ? 0 : (off_t)off);
	if (p == MAP_FAILED) {
		rp->ret = -1;
		rp->err = errno;
		munmap(r, rlen);
		return;
	}
	if (a > (uintptr_t)r)
		munmap(r, a - (uintptr_t)r);
	if ((uintptr_t)r + rlen > a + plen)
		munmap((void *)(a + plen), (uintptr_t)r + rlen - (a + plen));
	rp->ret = 0;
	rp->value = a;
}

static void mml_do_probe(struct mml_reply *rp)
{
	// The zero page: read-fault an untouched private anonymous page.
	char *z = mmap(NULL, (size_t)mml_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (z == MAP_FAILED) {
		rp->ret = -1;
		rp->err = errno;
		return;
	}
	uint64_t v = 0;
	int err = 0;
	if (mml_load((uintptr_t)z, &v)) {
		rp->ret = -1;
		rp->err = EFAULT;
		munmap(z, (size_t)mml_page);
		return;
	}
	rp->value = mml_pagemap_word((uintptr_t)z, &err);
	// Soft-dirty: a page written in a new VMA reads soft-dirty (VM_SOFTDIRTY) exactly when
	// the kernel is built with CONFIG_MEM_SOFT_DIRTY.
	mml_store((uintptr_t)z, 1);
	int err2 = 0;
	rp->value2 = mml_pagemap_word((uintptr_t)z, &err2);
	munmap(z, (size_t)mml_page);
	rp->ret = (err || err2) ? -1 : 0;
	rp->err = err ? err : err2;
}

static void mml_do_clear_refs(uint64_t value, struct mml_reply *rp)
{
	char buf[32];
	int n = mml_itoa((long)value, buf);
	buf[n++] = '\n';
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		rp->ret = -1;
		rp->err = errno;
		return;
	}
	ssize_t w = write(fd, buf, (size_t)n);
	rp->ret = w < 0 ? -1 : 0;
	rp->err = w < 0 ? errno : 0;
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
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != mml_parent)
		_exit(7);
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

static int mml_send_data(int sock, const void *buf, size_t len, const void *data, size_t dlen, int fd)
{
	struct iovec iov[2] = { { (void *)buf, len }, { (void *)data, dlen } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = iov;
	m.msg_iovlen = dlen ? 2 : 1;
	if (fd >= 0) {
		memset(&u, 0, sizeof u);
		m.msg_control = u.buf;
		m.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do {
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(len + dlen) ? 0 : -EPROTO;
}

static int mml_send(int sock, const void *buf, size_t len, int fd)
{
	return mml_send_data(sock, buf, len, NULL, 0, fd);
}

/// Receives one message; a passed fd goes to *fd (else -1). Returns the length or -errno.
static ssize_t mml_recv_data(int sock, void *buf, size_t len, void *data, size_t dlen, int *fd)
{
	struct iovec iov[2] = { { buf, len }, { data, dlen } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = iov;
	m.msg_iovlen = data && dlen ? 2 : 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	ssize_t n;
	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	*fd = -1;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

static ssize_t mml_recv(int sock, void *buf, size_t len, int *fd)
{
	return mml_recv_data(sock, buf, len, NULL, 0, fd);
}


// ---- jobs: scenario statements that may sleep in the kernel --------------------------------
//
// A statement that can sleep in userfaultfd (an access that traps, madvise/munmap/fork that
// wait for their non-cooperative event to be read) runs on a job thread of the worker, so that
// the worker's own loop keeps answering. The loop starts the job and waits (bounded) until it
// finished or sleeps in userfaultfd, which it sees in /proc/self/task/TID (state S or D, wchan
// handle_userfault or userfaultfd_event_wait_completion). A sleeping job is polled later: a
// thread woken by an ioctl or by the read of its event is runnable at once, so a poll that
// finds it still asleep in userfaultfd can answer "asleep" without waiting.
//
// The job threads run on stacks of one region mapped when the worker starts, before the
// scenario maps anything, so that their stacks never land in a hole the scenario left. A child
// forked by a job runs its loop on the forking thread's stack and makes its own job threads on
// the region's other stacks (the region has one stack more than there are job threads).

#define MML_JOB_SLOTS 16
#define MML_STACKS (MML_JOB_SLOTS + 1)
#define MML_STACK_SIZE (512UL << 10)
/// A thread asleep outside userfaultfd this long also counts as asleep (when wchan is not
/// readable); a job neither finished nor asleep after MML_JOB_START_MS is reported asleep.
#define MML_JOB_ASLEEP_ELSEWHERE_MS 200
#define MML_JOB_START_MS 3000
/// The copy source buffer (UFFDIO_COPY) mapped at start-up; larger copies map one for the call.
#define MML_COPY_BUF (1UL << 20)

enum { MML_PHASE_IDLE = 0, MML_PHASE_GIVEN = 1, MML_PHASE_RUNNING = 2, MML_PHASE_DONE = 3 };
/// mml_reply.state when the worker could not start or find the job (not the job's result).
#define MML_JOB_REFUSED 2

struct mml_job {
	pthread_t thread;
	int exists;
	_Atomic int tid;
	_Atomic uint32_t phase;
	uint32_t gen;
	struct mml_request rq;
	struct mml_reply rp;
	int reply_fd;
};

static struct mml_job mml_jobs[MML_JOB_SLOTS];
static char *mml_stack_base;	// MML_STACKS stacks, each with a guard page at its bottom
static char *mml_copy_buf;
static int mml_pool_ready;
static void mml_worker_loop(void);
static void mml_worker_setup(int sock, int cpu);

static void mml_futex_wait(_Atomic uint32_t *w, uint32_t val, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, ms >= 0 ? &ts : NULL, NULL, 0);
}

static void mml_futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/// Maps the job stacks and the copy buffer (once, in a worker the controller spawned; forked
/// children inherit both).
static void mml_regions_init(void)
{
	size_t len = MML_STACKS * MML_STACK_SIZE;
	char *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (r != MAP_FAILED) {
		for (int i = 0; i < MML_STACKS; i++)
			mprotect(r + i * MML_STACK_SIZE, (size_t)mml_page, PROT_NONE);
		mml_stack_base = r;
	}
	char *c = mmap(NULL, MML_COPY_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c != MAP_FAILED)
		mml_copy_buf = c;
}

static void mml_run_job(struct mml_job *j)
{
	const uint64_t *a = j->rq.arg;
	struct mml_reply *rp = &j->rp;
	switch (a[0]) {
	case MML_JOB_LOAD:
		rp->sig = mml_load((uintptr_t)a[1], &rp->value);
		rp->code = rp->sig ? mml_got_code : 0;
		break;
	case MML_JOB_STORE:
		rp->sig = mml_store((uintptr_t)a[1], a[2]);
		rp->code = rp->sig ? mml_got_code : 0;
		break;
	case MML_JOB_MADVISE:
		rp->ret = madvise((void *)(uintptr_t)a[1], a[2], (int)a[3]);
		rp->err = rp->ret ? errno : 0;
		break;
	case MML_JOB_MUNMAP:
		rp->ret = munmap((void *)(uintptr_t)a[1], a[2]);
		rp->err = rp->ret ? errno : 0;
		break;
	case MML_JOB_FORK: {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			rp->ret = -1;
			rp->err = errno;
			break;
		}
		mml_parent = getpid();
		pid_t pid = fork();
		if (pid == 0) {
			// The new worker is this thread alone: its loop runs here, on this job stack;
			// the parent's job threads do not exist in it.
			close(mml_pagemap);
			close(mml_sock);
			close(sv[0]);
			memset(mml_jobs, 0, sizeof mml_jobs);
			int wanted = mml_pool_ready;
			mml_pool_ready = 0;
			mml_worker_setup(sv[1], -1);
			if (wanted)
				mml_pool_ready = -1;	// started by the loop before its first request
			mml_worker_loop();
			_exit(0);
		}
		close(sv[1]);
		if (pid < 0) {
			rp->ret = -1;
			rp->err = errno;
			close(sv[0]);
			break;
		}
		rp->ret = pid;
		j->reply_fd = sv[0];
		break;
	}
	default:
		rp->ret = -1;
		rp->err = ENOSYS;
	}
}

static void *mml_job_main(void *arg)
{
	struct mml_job *j = arg;
	atomic_store(&j->tid, (int)syscall(SYS_gettid));
	mml_futex_wake((_Atomic uint32_t *)&j->tid);
	for (;;) {
		uint32_t ph = atomic_load(&j->phase);
		if (ph != MML_PHASE_GIVEN) {
			mml_futex_wait(&j->phase, ph, -1);
			continue;
		}
		memset(&j->rp, 0, sizeof j->rp);
		j->reply_fd = -1;
		atomic_store(&j->phase, MML_PHASE_RUNNING);
		mml_run_job(j);
		atomic_store(&j->phase, MML_PHASE_DONE);
		mml_futex_wake(&j->phase);
	}
	return NULL;
}

/// Starts the job threads (once per worker). 0 or -errno.
static int mml_pool_start(void)
{
	if (mml_pool_ready == 1)
		return 0;
	if (!mml_stack_base)
		return -ENOMEM;
	// The stack this thread runs on, when it is one of the region's (a forked child's loop).
	char here;
	uintptr_t h = (uintptr_t)&here, b = (uintptr_t)mml_stack_base;
	long mine = h >= b && h < b + MML_STACKS * MML_STACK_SIZE ? (long)((h - b) / MML_STACK_SIZE) : -1;
	long st = 0;
	for (int i = 0; i < MML_JOB_SLOTS; i++, st++) {
		if (st == mine)
			st++;
		struct mml_job *j = &mml_jobs[i];
		memset(j, 0, sizeof *j);
		j->reply_fd = -1;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, mml_stack_base + st * MML_STACK_SIZE + mml_page,
				      MML_STACK_SIZE - (size_t)mml_page);
		int e = pthread_create(&j->thread, &attr, mml_job_main, j);
		pthread_attr_destroy(&attr);
		if (e)
			return -e;
		j->exists = 1;
	}
	// Each thread knows its tid before it gets a job.
	for (int i = 0; i < MML_JOB_SLOTS; i++) {
		long deadline = mml_now_ms() + 2000;
		while (atomic_load(&mml_jobs[i].tid) == 0 && mml_now_ms() < deadline)
			mml_futex_wait((_Atomic uint32_t *)&mml_jobs[i].tid, 0, 10);
	}
	mml_pool_ready = 1;
	return 0;
}

/// Reads a small /proc file into buf (NUL-terminated); its length or -1.
static int mml_read_small(const char *path, char *buf, int len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, (size_t)len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

/// 2: the thread sleeps in userfaultfd; 1: it sleeps elsewhere (or wchan cannot tell); 0: it runs.
static int mml_thread_sleep(int tid)
{
	char path[64], buf[512];
	int n = 0;
	const char *pre = "/proc/self/task/";
	while (*pre)
		path[n++] = *pre++;
	n += mml_itoa(tid, path + n);
	int base = n;
	const char *stat = "/stat";
	for (const char *p = stat; *p;)
		path[n++] = *p++;
	path[n] = 0;
	if (mml_read_small(path, buf, sizeof buf) <= 0)
		return 0;
	char *rp = strrchr(buf, ')');
	if (!rp || !rp[1] || !rp[2])
		return 0;
	char state = rp[2];
	if (state != 'S' && state != 'D')
		return 0;
	n = base;
	for (const char *p = "/wchan"; *p;)
		path[n++] = *p++;
	path[n] = 0;
	if (mml_read_small(path, buf, sizeof buf) > 0 && strstr(buf, "userfault"))
		return 2;
	return 1;
}

/// Waits at most `wait_ms` for job `slot` to finish or to sleep in userfaultfd; fills the reply.
static void mml_job_wait(int slot, int wait_ms, struct mml_reply *rp, int *reply_fd)
{
	struct mml_job *j = &mml_jobs[slot];
	long deadline = mml_now_ms() + wait_ms, elsewhere_since = -1;
	for (;;) {
		uint32_t ph = atomic_load(&j->phase);
		if (ph == MML_PHASE_DONE) {
			*rp = j->rp;
			rp->state = MML_JOB_DONE;
			*reply_fd = j->reply_fd;
			j->reply_fd = -1;
			atomic_store(&j->phase, MML_PHASE_IDLE);
			return;
		}
		long now = mml_now_ms();
		if (ph == MML_PHASE_RUNNING) {
			int sl = mml_thread_sleep(atomic_load(&j->tid));
			if (sl == 1 && elsewhere_since < 0)
				elsewhere_since = now;
			if (sl != 1)
				elsewhere_since = -1;
			if (sl == 2 || (sl == 1 && now - elsewhere_since >= MML_JOB_ASLEEP_ELSEWHERE_MS))
				break;
		}
		if (now >= deadline)
			break;
		mml_futex_wait(&j->phase, ph, 1);
	}
	memset(rp, 0, sizeof *rp);
	rp->state = MML_JOB_ASLEEP;
	rp->value2 = ((uint64_t)j->gen << 8) | (uint64_t)slot;
}

static void mml_job_start(const struct mml_request *rq, struct mml_reply *rp, int *reply_fd)
{
	int e = mml_pool_start();
	if (e) {
		rp->state = MML_JOB_REFUSED;
		rp->ret = -1;
		rp->err = -e;
		return;
	}
	for (int i = 0; i < MML_JOB_SLOTS; i++) {
		struct mml_job *j = &mml_jobs[i];
		if (!j->exists || atomic_load(&j->phase) != MML_PHASE_IDLE)
			continue;
		j->rq = *rq;
		j->gen++;
		atomic_store(&j->phase, MML_PHASE_GIVEN);
		mml_futex_wake(&j->phase);
		mml_job_wait(i, MML_JOB_START_MS, rp, reply_fd);
		return;
	}
	rp->state = MML_JOB_REFUSED;
	rp->ret = -1;
	rp->err = EBUSY;	// every job thread is busy
}

static void mml_job_poll(uint64_t id, int wait_ms, struct mml_reply *rp, int *reply_fd)
{
	int slot = (int)(id & 0xff);
	if (slot >= MML_JOB_SLOTS || !mml_jobs[slot].exists || mml_jobs[slot].gen != (uint32_t)(id >> 8) ||
	    atomic_load(&mml_jobs[slot].phase) == MML_PHASE_IDLE) {
		rp->state = MML_JOB_REFUSED;
		rp->ret = -1;
		rp->err = ESRCH;
		return;
	}
	mml_job_wait(slot, wait_ms, rp, reply_fd);
}

// ---- userfaultfd and PAGEMAP_SCAN (include/uapi/linux/userfaultfd.h, fs.h) --------------------

#define MML_USERFAULTFD_IOC_NEW 0xAA00UL
#define MML_UFFDIO_API 0xC018AA3FUL
#define MML_UFFDIO_REGISTER 0xC020AA00UL
#define MML_UFFDIO_UNREGISTER 0x8010AA01UL
#define MML_UFFDIO_WAKE 0x8010AA02UL
#define MML_UFFDIO_COPY 0xC028AA03UL
#define MML_UFFDIO_ZEROPAGE 0xC020AA04UL
#define MML_UFFDIO_WRITEPROTECT 0xC018AA06UL
#define MML_UFFDIO_CONTINUE 0xC020AA07UL
#define MML_UFFDIO_POISON 0xC020AA08UL
#define MML_PAGEMAP_SCAN 0xC0606610UL
#define MML_SYS_userfaultfd 323

static void mml_fail(struct mml_reply *rp, int e)
{
	rp->ret = -1;
	rp->err = e;
}

static void mml_do_uffd_create(uint64_t features, struct mml_reply *rp)
{
	// The job threads exist before anything can sleep in this userfaultfd.
	int e = mml_pool_start();
	if (e)
		return mml_fail(rp, -e);
	int fd = -1;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, MML_USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
	}
	if (fd < 0)
		fd = (int)syscall(MML_SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return mml_fail(rp, errno);
	struct {
		uint64_t api, features, ioctls;
	} api = { 0xAA, features, 0 };
	if (ioctl(fd, MML_UFFDIO_API, &api)) {
		e = errno;
		close(fd);
		return mml_fail(rp, e);
	}
	rp->ret = fd;
	rp->value = api.features;
}

static void mml_do_uffd_ioctl(const uint64_t *a, struct mml_reply *rp)
{
	int fd = (int)a[0];
	uint64_t start = a[2], len = a[3], fl = a[4], token = a[5];
	uint64_t dontwake = fl & MML_UFFD_F_DONTWAKE ? 1 : 0, wp = fl & MML_UFFD_F_WP ? 1 : 0;
	long r;
	switch (a[1]) {
	case MML_UFFD_REGISTER: {
		struct { uint64_t start, len, mode, ioctls; } x = { start, len, fl, 0 };
		r = ioctl(fd, MML_UFFDIO_REGISTER, &x);
		rp->value = x.ioctls;
		break;
	}
	case MML_UFFD_UNREGISTER: {
		struct { uint64_t start, len; } x = { start, len };
		r = ioctl(fd, MML_UFFDIO_UNREGISTER, &x);
		break;
	}
	case MML_UFFD_WAKE: {
		struct { uint64_t start, len; } x = { start, len };
		r = ioctl(fd, MML_UFFDIO_WAKE, &x);
		break;
	}
	case MML_UFFD_WRITEPROTECT: {
		struct { uint64_t start, len, mode; } x = { start, len, wp | dontwake << 1 };
		r = ioctl(fd, MML_UFFDIO_WRITEPROTECT, &x);
		break;
	}
	case MML_UFFD_COPY: {
		char *src = mml_copy_buf;
		int mapped = 0;
		if (len > MML_COPY_BUF || !src) {
			src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (src == MAP_FAILED)
				return mml_fail(rp, errno);
			mapped = 1;
		}
		for (uint64_t off = 0, i = 0; off < len; off += (uint64_t)mml_page, i++) {
			uint64_t t = fl & MML_UFFD_F_SEQ ? token + i : token;
			uint64_t *w = (uint64_t *)(src + off);
			for (uint64_t k = 0; k < (uint64_t)mml_page / 8 && off + k * 8 < len; k++)
				w[k] = t;
		}
		struct { uint64_t dst, src, len, mode; int64_t copy; } x = { start, (uint64_t)(uintptr_t)src, len,
									     dontwake | wp << 1, 0 };
		r = ioctl(fd, MML_UFFDIO_COPY, &x);
		int e = errno;
		rp->value = (uint64_t)x.copy;
		if (mapped)
			munmap(src, len);
		errno = e;
		break;
	}
	case MML_UFFD_ZEROPAGE: {
		struct { uint64_t start, len, mode; int64_t done; } x = { start, len, dontwake, 0 };
		r = ioctl(fd, MML_UFFDIO_ZEROPAGE, &x);
		rp->value = (uint64_t)x.done;
		break;
	}
	case MML_UFFD_CONTINUE: {
		struct { uint64_t start, len, mode; int64_t done; } x = { start, len, dontwake | wp << 1, 0 };
		r = ioctl(fd, MML_UFFDIO_CONTINUE, &x);
		rp->value = (uint64_t)x.done;
		break;
	}
	case MML_UFFD_POISON: {
		struct { uint64_t start, len, mode; int64_t done; } x = { start, len, dontwake, 0 };
		r = ioctl(fd, MML_UFFDIO_POISON, &x);
		rp->value = (uint64_t)x.done;
		break;
	}
	default:
		return mml_fail(rp, ENOSYS);
	}
	rp->ret = r < 0 ? -1 : 0;
	rp->err = r < 0 ? errno : 0;
}

struct mml_page_region {
	uint64_t start, end, categories;
};
static struct mml_page_region mml_regions[MML_SCAN_MAX_REGIONS];

/// PAGEMAP_SCAN into mml_regions; the number of regions in rp->ret.
static void mml_do_pagemap_scan(const uint64_t *a, struct mml_reply *rp)
{
	struct {
		uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
			category_anyof_mask, return_mask;
	} x = { 96, a[2], a[0], a[1], 0, (uint64_t)(uintptr_t)mml_regions, MML_SCAN_MAX_REGIONS, a[4],
		a[3] & 0xffff, (a[3] >> 16) & 0xffff, (a[3] >> 32) & 0xffff, (a[3] >> 48) & 0xffff };
	long n = ioctl(mml_pagemap, MML_PAGEMAP_SCAN, &x);
	if (n < 0)
		return mml_fail(rp, errno);
	rp->ret = n;
	rp->value = x.walk_end;
}

/// The request loop of a worker; never returns.
static void mml_worker_loop(void)
{
	for (;;) {
		if (mml_pool_ready == -1)
			mml_pool_start();
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
			rp.sig = mml_load((uintptr_t)rq.arg[0], &rp.value);
			rp.code = rp.sig ? mml_got_code : 0;
			break;
		case MML_OP_STORE:
			rp.sig = mml_store((uintptr_t)rq.arg[0], rq.arg[1]);
			rp.code = rp.sig ? mml_got_code : 0;
			break;
		case MML_OP_PAGEMAP:
			rp.value = mml_pagemap_word((uintptr_t)rq.arg[0], &err);
			rp.ret = err ? -1 : 0;
			rp.err = err;
			break;
		case MML_OP_CLEAR_REFS:
			mml_do_clear_refs(rq.arg[0], &rp);
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
		case MML_OP_FORK: {
			int sv[2];
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
				rp.ret = -1;
				rp.err = errno;
				break;
			}
			mml_parent = getpid();
			pid_t pid = fork();
			if (pid == 0) {
				// The new worker: its own channel, its own pagemap; pinning is inherited.
				close(mml_pagemap);
				close(mml_sock);
				close(sv[0]);
				if (fd >= 0)
					close(fd);
				int wanted = mml_pool_ready;
				memset(mml_jobs, 0, sizeof mml_jobs);
				mml_pool_ready = 0;
				mml_worker_setup(sv[1], -1);
				if (wanted)
					mml_pool_ready = -1;
				continue;
			}
			close(sv[1]);
			if (pid < 0) {
				rp.ret = -1;
				rp.err = errno;
				close(sv[0]);
				break;
			}
			rp.ret = pid;
			reply_fd = sv[0];
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
			mml_do_pagemap_scan(rq.arg, &rp);
			if (rp.ret > 0) {
				payload = mml_regions;
				payload_len = (size_t)rp.ret * sizeof mml_regions[0];
			}
			break;
		default:
			rp.ret = -1;
			rp.err = ENOSYS;
		}
		if (fd >= 0)
			close(fd);
		if (mml_send_data(mml_sock, &rp, sizeof rp, payload, payload_len, reply_fd))
			_exit(3);
		if (reply_fd >= 0)
			close(reply_fd);
	}
}

pid_t mml_spawn_worker(int cpu, int *sock)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		mml_parent = parent;
		close(sv[0]);
		mml_worker_setup(sv[1], cpu);
		mml_regions_init();
		mml_worker_loop();
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

int mml_call(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
	     int timeout_ms)
{
	return mml_call_data(sock, rq, send_fd, rp, recv_fd, NULL, 0, NULL, timeout_ms);
}

int mml_call_data(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
		  void *data, int data_len, int *data_got, int timeout_ms)
{
	int fd = -1;
	if (data_got)
		*data_got = 0;
	if (recv_fd)
		*recv_fd = -1;
	int r = mml_send(sock, rq, sizeof *rq, send_fd);
	if (r)
		return r;
	long deadline = mml_now_ms() + timeout_ms;
	for (;;) {
		long left = deadline - mml_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { sock, POLLIN, 0 };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		break;
	}
	ssize_t n = mml_recv_data(sock, rp, sizeof *rp, data, data && data_len > 0 ? (size_t)data_len : 0, &fd);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if (n > (ssize_t)sizeof *rp && data_got)
		*data_got = (int)(n - (ssize_t)sizeof *rp);
	else if (n != (ssize_t)sizeof *rp) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	if (recv_fd)
		*recv_fd = fd;
	else if (fd >= 0)
		close(fd);
	return 0;
}

int mml_wait_gone(pid_t pid, int timeout_ms)
{
	for (int round = 0; round < 2; round++) {
		long deadline = mml_now_ms() + timeout_ms;
		while (mml_now_ms() < deadline) {
			int st;
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid)
				return round;
			if (r < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH)
				return round;
			mml_sleep_ms(2);
		}
		kill(pid, SIGKILL);
	}
	return -1;
}

int mml_memfd(const char *name, uint64_t bytes)
{
	int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void mml_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/// struct kvm_create_guest_memfd (include/uapi/linux/kvm.h).
struct mml_kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};
#define MML_KVM_CREATE_VM 0xAE01UL		/* _IO(KVMIO, 0x01) */
#define MML_KVM_CREATE_GUEST_MEMFD 0xC040AED4UL /* _IOWR(KVMIO, 0xd4, 64 bytes) */

int mml_guest_memfd(int *vm_fd, uint64_t size, uint64_t flags)
{
	if (*vm_fd < 0) {
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm < 0)
			return -errno;
		int vm;
		do {
			vm = ioctl(kvm, MML_KVM_CREATE_VM, 0UL);	// type 0: no private memory
		} while (vm < 0 && errno == EINTR);
		int e = errno;
		close(kvm);	// the VM holds its own reference to KVM
		if (vm < 0)
			return -e;
		fcntl(vm, F_SETFD, FD_CLOEXEC);
		*vm_fd = vm;
	}
	struct mml_kvm_create_guest_memfd args;
	memset(&args, 0, sizeof args);
	args.size = size;
	args.flags = flags;
	int fd = ioctl(*vm_fd, MML_KVM_CREATE_GUEST_MEMFD, &args);
	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

long mml_pread(int fd, uint64_t offset, uint64_t *value)
{
	uint64_t buf = 0;
	ssize_t n = pread(fd, &buf, sizeof buf, (off_t)offset);
	*value = buf;
	return n < 0 ? -errno : (long)n;
}

uint32_t mml_geteuid(void)
{
	return (uint32_t)geteuid();
}

int mml_is_linux(void)
{
	return 1;
}

void mml_kernel_release(char *buf, int len)
{
	struct utsname u;
	if (len <= 0)
		return;
	buf[0] = 0;
	if (uname(&u) == 0) {
		strncpy(buf, u.release, (size_t)len - 1);
		buf[len - 1] = 0;
	}
}

// ---- host set-up and restore ---------------------------------------------------------------

#define MML_MAX_SWAPS 8
/// The signals that end a run early: interruptions, and crashes of the controller itself
/// (the host is restored before the process dies of them).
#define MML_HOST_SIGNALS 10
static const int mml_host_signals[MML_HOST_SIGNALS] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
							 SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE };
#define MML_MAX_WORKERS 256
#define MML_MAX_KSM_KNOBS 8
#define MML_KSM_DIR "/sys/kernel/mm/ksm/"

/// Every change to the host, in one place. Read by the signal handler, so it is plain data.
static struct {
	volatile pid_t owner;
	volatile int page_cluster_changed;
	char old_page_cluster[32];
	volatile int nswaps;
	char swap_path[MML_MAX_SWAPS][256];
	volatile int swap_state[MML_MAX_SWAPS];	 // 0 none, 1 file created, 2 swapped on
	volatile pid_t workers[MML_MAX_WORKERS];
	volatile pid_t killed[MML_MAX_WORKERS];
	volatile int handlers;
	struct sigaction old[MML_HOST_SIGNALS];
	volatile int lock_fd;	// the flock'ed lock file + 1 (0: none)
	volatile int nksm;	// KSM knobs changed (/sys/kernel/mm/ksm/NAME), in the order first set
	char ksm_name[MML_MAX_KSM_KNOBS][32];
	char ksm_old[MML_MAX_KSM_KNOBS][64];
	volatile int ksm_unmerge;	// write run=2 before restoring (drops the run's KSM state)
} H;


static int mml_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? errno : 0;
	close(fd);
	return n < 0 ? -e : 0;
}

/// MML_KSM_DIR + name into path (96 bytes).
static void mml_ksm_path(char *path, const char *name)
{
	size_t d = strlen(MML_KSM_DIR), n = strlen(name);
	if (n > 95 - d)
		n = 95 - d;
	memcpy(path, MML_KSM_DIR, d);
	memcpy(path + d, name, n);
	path[d + n] = 0;
}

/// Reads a small sysfs file into buf (NUL-terminated): its length, or -errno.
static int mml_read_sysfs(const char *path, char *buf, int len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, (size_t)len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return (int)n;
}

static void mml_host_uninstall(void)
{
	if (!H.handlers)
		return;
	H.handlers = 0;
	for (int i = 0; i < MML_HOST_SIGNALS; i++)
		sigaction(mml_host_signals[i], &H.old[i], NULL);
}

int mml_host_restore(void)
{
	int failed = 0;
	if (H.owner != getpid())
		return 0;
	for (int i = 0; i < MML_MAX_WORKERS; i++) {
		pid_t p = H.workers[i];
		H.killed[i] = 0;
		if (p > 0) {
			kill(p, SIGKILL);
			H.killed[i] = p;
			H.workers[i] = 0;
		}
	}
	// Reap what was killed (bounded): the controller is their parent or, for orphaned
	// child workers, their subreaper; nothing is left as a zombie when it dies next.
	// Only the pids killed here are waited for: other children of the host program (a test
	// runner's) are not ours to reap.
	long deadline = mml_now_ms() + 2000;
	for (;;) {
		int alive = 0;
		for (int i = 0; i < MML_MAX_WORKERS; i++) {
			pid_t p = H.killed[i];
			if (p <= 0)
				continue;
			int st;
			pid_t r = waitpid(p, &st, WNOHANG);
			if (r == p || (r < 0 && errno == ECHILD && kill(p, 0) < 0 && errno == ESRCH))
				H.killed[i] = 0;
			else
				alive = 1;
		}
		if (!alive || mml_now_ms() >= deadline)
			break;
		mml_sleep_ms(2);
	}
	for (int i = H.nswaps - 1; i >= 0; i--) {
		if (H.swap_state[i] == 2) {
			if (syscall(SYS_swapoff, H.swap_path[i]) != 0)
				failed++;
			H.swap_state[i] = 1;
		}
		if (H.swap_state[i] == 1) {
			if (unlink(H.swap_path[i]) != 0 && errno != ENOENT)
				failed++;
			H.swap_state[i] = 0;
		}
	}
	H.nswaps = 0;
	if (H.nksm > 0) {
		// The workers are gone. run=2 unmerges and frees every rmap item and the slots of
		// exited mms at once (otherwise they wait for ksmd's next scan); then the knobs
		// go back, run last.
		char path[96];
		if (H.ksm_unmerge) {
			mml_ksm_path(path, "run");
			if (mml_write_file(path, "2\n"))
				failed++;
			H.ksm_unmerge = 0;
		}
		int run = -1;
		for (int i = H.nksm - 1; i >= 0; i--) {
			if (!strcmp(H.ksm_name[i], "run")) {
				run = i;
				continue;
			}
			mml_ksm_path(path, H.ksm_name[i]);
			if (mml_write_file(path, H.ksm_old[i]))
				failed++;
		}
		if (run >= 0) {
			mml_ksm_path(path, "run");
			if (mml_write_file(path, H.ksm_old[run]))
				failed++;
		}
		H.nksm = 0;
	}
	if (H.page_cluster_changed) {
		if (mml_write_file("/proc/sys/vm/page-cluster", H.old_page_cluster))
			failed++;
		H.page_cluster_changed = 0;
	}
	mml_host_uninstall();
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	if (H.lock_fd > 0) {
		close(H.lock_fd - 1);	// releases the flock
		H.lock_fd = 0;
	}
	return failed;
}

int mml_host_lock(const char *path, int timeout_ms)
{
	if (H.lock_fd > 0)
		return 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	long deadline = mml_now_ms() + timeout_ms;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		if ((e != EWOULDBLOCK && e != EINTR) || mml_now_ms() >= deadline) {
			close(fd);
			return -(e == EINTR ? EWOULDBLOCK : e);
		}
		mml_sleep_ms(20);
	}
	H.lock_fd = fd + 1;
	return 0;
}

static void mml_on_host_signal(int sig)
{
	mml_host_restore();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
}

void mml_host_begin(void)
{
	H.owner = getpid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (H.handlers)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = mml_on_host_signal;
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < MML_HOST_SIGNALS; i++)
		sigaction(mml_host_signals[i], &sa, &H.old[i]);
	H.handlers = 1;
}

void mml_host_note_worker(pid_t pid)
{
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (H.workers[i] == 0) {
			H.workers[i] = pid;
			return;
		}
}

void mml_host_forget_worker(pid_t pid)
{
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (H.workers[i] == pid)
			H.workers[i] = 0;
}

int mml_host_set_page_cluster(int value)
{
	if (!H.page_cluster_changed) {
		int fd = open("/proc/sys/vm/page-cluster", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ssize_t n = read(fd, H.old_page_cluster, sizeof H.old_page_cluster - 1);
		int e = errno;
		close(fd);
		if (n <= 0)
			return n < 0 ? -e : -EIO;
		H.old_page_cluster[n] = 0;
	}
	char buf[24];
	int len = mml_itoa(value, buf);
	buf[len++] = '\n';
	buf[len] = 0;
	H.page_cluster_changed = 1;	// from here on, restore writes the old value back
	return mml_write_file("/proc/sys/vm/page-cluster", buf);
}

int mml_ksm_read(const char *name, int64_t *value)
{
	char path[96], buf[64];
	mml_ksm_path(path, name);
	int n = mml_read_sysfs(path, buf, sizeof buf);
	if (n < 0)
		return n;
	char *p = buf;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	int64_t v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*value = neg ? -v : v;
	return 0;
}

int mml_host_set_ksm(const char *name, const char *value)
{
	char path[96];
	if (strlen(name) >= sizeof H.ksm_name[0])
		return -EINVAL;
	mml_ksm_path(path, name);
	int known = 0;
	for (int i = 0; i < H.nksm; i++)
		known |= !strcmp(H.ksm_name[i], name);
	if (!known) {
		if (H.nksm >= MML_MAX_KSM_KNOBS)
			return -ENOSPC;
		char buf[64];
		int n = mml_read_sysfs(path, buf, sizeof buf);
		if (n < 0)
			return n;
		// A choice ("[none] scan-time") is written back as the bracketed word.
		char *open_b = strchr(buf, '['), *close_b = open_b ? strchr(open_b, ']') : NULL;
		int i = H.nksm;
		if (open_b && close_b) {
			size_t w = (size_t)(close_b - open_b - 1);
			memcpy(H.ksm_old[i], open_b + 1, w);
			H.ksm_old[i][w] = 0;
		} else {
			memcpy(H.ksm_old[i], buf, (size_t)n + 1);
		}
		memcpy(H.ksm_name[i], name, strlen(name) + 1);
		H.nksm = i + 1;	// from here on, restore writes the old value back
	}
	return mml_write_file(path, value);
}

void mml_host_ksm_unmerge_at_restore(int on)
{
	H.ksm_unmerge = on;
}

/// The version-1 swap header (include/linux/swap.h, union swap_header.info), at byte 1024.
struct mml_swap_info {
	uint32_t version;
	uint32_t last_page;
	uint32_t nr_badpages;
	unsigned char sws_uuid[16];
	unsigned char sws_volume[16];
	uint32_t padding[117];
	uint32_t badpages[1];
};

int mml_host_add_swapfile(const char *path, uint64_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = bytes / (uint64_t)page;
	if (pages < 10 || strlen(path) >= sizeof H.swap_path[0])
		return -EINVAL;
	if (H.nswaps >= MML_MAX_SWAPS)
		return -ENOSPC;
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int i = H.nswaps;
	strcpy(H.swap_path[i], path);
	H.swap_state[i] = 1;
	H.nswaps = i + 1;
	static char zeros[1 << 16];
	int e = 0;
	for (uint64_t done = 0; done < pages * (uint64_t)page && !e;) {
		uint64_t chunk = pages * (uint64_t)page - done;
		if (chunk > sizeof zeros)
			chunk = sizeof zeros;
		ssize_t n = write(fd, zeros, (size_t)chunk);
		if (n <= 0)
			e = n < 0 ? errno : EIO;
		else
			done += (uint64_t)n;
	}
	if (!e) {
		char head[8192];
		memset(head, 0, sizeof head);
		struct mml_swap_info info;
		memset(&info, 0, sizeof info);
		info.version = 1;
		info.last_page = (uint32_t)(pages - 1);
		uint64_t id = ((uint64_t)getpid() << 32) ^ (uint64_t)mml_now_ms();
		memcpy(info.sws_uuid, &id, sizeof id);
		memcpy(head + 1024, &info, sizeof info);
		memcpy(head + page - 10, "SWAPSPACE2", 10);
		if (pwrite(fd, head, (size_t)page, 0) != page)
			e = errno ? errno : EIO;
	}
	if (!e && fsync(fd))
		e = errno;
	close(fd);
	if (!e && syscall(SYS_swapon, path, 0) != 0)
		e = errno;
	if (e) {
		unlink(path);
		H.swap_state[i] = 0;
		H.nswaps = i;
		return -e;
	}
	H.swap_state[i] = 2;
	return 0;
}

int mml_active_swaps(void)
{
	int fd = open("/proc/swaps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096];
	int lines = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines > 0 ? lines - 1 : 0;
}

#else // not Linux: the package still builds; the live backend refuses to run.

pid_t mml_spawn_worker(int cpu, int *sock)
{
	(void)cpu;
	(void)sock;
	return -ENOSYS;
}
int mml_call(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
	     int timeout_ms)
{
	(void)sock, (void)rq, (void)send_fd, (void)rp, (void)recv_fd, (void)timeout_ms;
	return -ENOSYS;
}
int mml_call_data(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
		  void *data, int data_len, int *data_got, int timeout_ms)
{
	(void)sock, (void)rq, (void)send_fd, (void)rp, (void)recv_fd, (void)data, (void)data_len, (void)data_got,
		(void)timeout_ms;
	return -ENOSYS;
}
int mml_wait_gone(pid_t pid, int timeout_ms)
{
	(void)pid, (void)timeout_ms;
	return 0;
}
int mml_memfd(const char *name, uint64_t bytes)
{
	(void)name, (void)bytes;
	return -ENOSYS;
}
void mml_close(int fd)
{
	(void)fd;
}
int mml_guest_memfd(int *vm_fd, uint64_t size, uint64_t flags)
{
	(void)vm_fd, (void)size, (void)flags;
	return -ENOSYS;
}
long mml_pread(int fd, uint64_t offset, uint64_t *value)
{
	(void)fd, (void)offset;
	*value = 0;
	return -ENOSYS;
}
uint32_t mml_geteuid(void)
{
	return 0xffffffffu;
}
int mml_is_linux(void)
{
	return 0;
}
void mml_kernel_release(char *buf, int len)
{
	if (len > 0)
		buf[0] = 0;
}
void mml_host_begin(void)
{
}
int mml_host_lock(const char *path, int timeout_ms)
{
	(void)path, (void)timeout_ms;
	return -ENOSYS;
}
int mml_host_restore(void)
{
	return 0;
}
void mml_host_note_worker(pid_t pid)
{
	(void)pid;
}
void mml_host_forget_worker(pid_t pid)
{
	(void)pid;
}
int mml_host_set_page_cluster(int value)
{
	(void)value;
	return -ENOSYS;
}
int mml_host_add_swapfile(const char *path, uint64_t bytes)
{
	(void)path, (void)bytes;
	return -ENOSYS;
}
int mml_active_swaps(void)
{
	return -ENOSYS;
}
int mml_ksm_read(const char *name, int64_t *value)
{
	(void)name, (void)value;
	return -ENOSYS;
}
int mml_host_set_ksm(const char *name, const char *value)
{
	(void)name, (void)value;
	return -ENOSYS;
}
void mml_host_ksm_unmerge_at_restore(int on)
{
	(void)on;
}

#endif
