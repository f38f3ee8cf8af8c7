// SPDX-License-Identifier: Apache-2.0
//
// Jobs: scenario statements that may sleep in the kernel, run on pthreads of the worker
// (the job threads) so that the worker's loop keeps answering; how the loop starts a job,
// sees that it sleeps in userfaultfd (/proc/self/task/TID), and polls it later.

#include "internal.h"

#if defined(__linux__)

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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

enum { MML_PHASE_IDLE = 0, MML_PHASE_GIVEN = 1, MML_PHASE_RUNNING = 2, MML_PHASE_DONE = 3 };
/// mml_reply.state when the worker could not start or find the job (not the job's result).
#define MML_JOB_REFUSED 2

/// One job thread and the job it runs.
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
/// 1: the job threads run; -1: due (the loop starts them before its next request); 0: not yet.
static int mml_pool_ready;

/// FUTEX_WAIT on *w while it holds `val`, at most `ms` (-1: no limit).
static void mml_futex_wait(_Atomic uint32_t *w, uint32_t val, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, ms >= 0 ? &ts : NULL, NULL, 0);
}

/// FUTEX_WAKE of every waiter on *w.
static void mml_futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/// Maps the job stacks (once, in a worker the controller spawned; forked children inherit them).
void mml_stacks_init(void)
{
	size_t len = MML_STACKS * MML_STACK_SIZE;
	char *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (r != MAP_FAILED) {
		for (int i = 0; i < MML_STACKS; i++)
			mprotect(r + i * MML_STACK_SIZE, (size_t)mml_page, PROT_NONE);
		mml_stack_base = r;
	}
}

/// Runs the job given to `j` on this job thread, into j->rp (and j->reply_fd for a fork).
static void mml_run_job(struct mml_job *j)
{
	const uint64_t *a = j->rq.arg;
	struct mml_reply *rp = &j->rp;
	switch (a[0]) {
	case MML_JOB_LOAD:
		mml_do_load((uintptr_t)a[1], rp);
		break;
	case MML_JOB_STORE:
		mml_do_store((uintptr_t)a[1], a[2], rp);
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
		int child_sock;
		pid_t pid = mml_fork_worker(-1, -1, &child_sock);
		if (pid == 0) {
			// The new worker is this thread alone: its loop runs here, on this job stack;
			// the parent's job threads do not exist in it.
			mml_worker_loop();
			_exit(0);
		}
		if (pid < 0) {
			mml_fail(rp, (int)-pid);
			break;
		}
		rp->ret = pid;
		j->reply_fd = child_sock;
		break;
	}
	default:
		mml_fail(rp, ENOSYS);
	}
}

/// A job thread: waits for a job, runs it, says it is done; forever.
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
int mml_pool_start(void)
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

/// Starts the job threads if a fork left them due (mml_pool_forget); the loop calls it.
void mml_pool_start_if_due(void)
{
	if (mml_pool_ready == -1)
		mml_pool_start();
}

/// In a freshly forked worker: forgets the parent's job threads (they do not exist here);
/// when the parent had started them (or had them due), they are due: the loop starts them
/// before its first request.
void mml_pool_forget(void)
{
	int wanted = mml_pool_ready;
	memset(mml_jobs, 0, sizeof mml_jobs);
	mml_pool_ready = wanted ? -1 : 0;
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
	if (mml_read_text(path, buf, sizeof buf) <= 0)
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
	if (mml_read_text(path, buf, sizeof buf) > 0 && strstr(buf, "userfault"))
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

/// MML_OP_JOB_START: gives the job to an idle job thread and waits (bounded) until it finished or sleeps.
void mml_job_start(const struct mml_request *rq, struct mml_reply *rp, int *reply_fd)
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

/// MML_OP_JOB_POLL: waits at most `wait_ms` more for job `id` (generation << 8 | slot).
void mml_job_poll(uint64_t id, int wait_ms, struct mml_reply *rp, int *reply_fd)
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

#endif // __linux__
