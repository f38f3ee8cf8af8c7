// SPDX-License-Identifier: Apache-2.0
//
// Host set-up and restore: vm.page-cluster (and any sysctl), swap files, KSM knobs, the
// worker pids and the host-wide lock of live runs. Every change is first recorded in one
// plain-data record (H) and written to the journal (journal.c) before it is made, so that
// the host can be given back on every path:
//
//  * the normal end and the SIGINT/SIGTERM/crash handlers: mml_host_restore, from H, with
//    async-signal-safe calls only;
//  * SIGKILL or the OOM killer, which no handler sees: the guardian (guardian.c), a small
//    process forked at set-up that waits for the controller to die and restores from the journal;
//  * the guardian killed too: the next live run, before it saves anything (mml_host_recover).
//
// All three run a journal's steps with one function, mml_journal_execute.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/// The signals that end a run early: interruptions, and crashes of the controller itself
/// (the host is restored before the process dies of them).
#define MML_HOST_SIGNALS 10
static const int mml_host_signals[MML_HOST_SIGNALS] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
							 SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE };
#define MML_KSM_DIR "/sys/kernel/mm/ksm/"
/// How long a restore waits for killed workers to be gone.
#define MML_KILL_WAIT_MS 2000

/// Every change to the host, in one place. Read by the signal handler, so it is plain data.
static struct {
	struct mml_host_record rec;	// what changed; rec.owner is the run's process
	char journal[256];		// the journal's path while a run owns the record ("": none)
	volatile int dirty;		// host changes recorded that no durable journal holds yet
	volatile int durable;		// a durable journal was written (so its removal is synced too)
	volatile int guardian_fd;	// our end of the guardian's socket + 1 (0: none)
	volatile int handlers;
	struct sigaction old[MML_HOST_SIGNALS];
	volatile int lock_fd;		// the flock'ed lock file + 1 (0: none)
	int restoring;			// a restore runs (atomic)
} H;

// ---- small helpers --------------------------------------------------------------------------

/// Writes the string s to the file at path: 0 or -errno.
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

/// /proc/sys/ + name with its dots as slashes into path (96 bytes).
static void mml_sysctl_path(char *path, const char *name)
{
	size_t d = strlen("/proc/sys/"), n = strlen(name);
	if (n > 95 - d)
		n = 95 - d;
	memcpy(path, "/proc/sys/", d);
	for (size_t i = 0; i < n; i++)
		path[d + i] = name[i] == '.' ? '/' : name[i];
	path[d + n] = 0;
}

/// The value a knob or sysctl file shows, as it is written back, into out (64 bytes): a
/// choice ("[none] scan-time") as its bracketed word, else its one word. 0 or -EINVAL.
static int mml_old_value(const char *text, char *out)
{
	const char *open_b = strchr(text, '['), *close_b = open_b ? strchr(open_b, ']') : NULL;
	const char *from = text, *to;
	if (open_b && close_b) {
		from = open_b + 1;
		to = close_b;
	} else {
		while (*from == ' ' || *from == '\t')
			from++;
		to = from;
		while (*to && *to != ' ' && *to != '\t' && *to != '\n')
			to++;
		for (const char *p = to; *p; p++)
			if (*p != ' ' && *p != '\t' && *p != '\n')
				return -EINVAL;	// more than one word: not a value this record can hold
	}
	if (to - from < 1 || to - from > 63)
		return -EINVAL;
	memcpy(out, from, (size_t)(to - from));
	out[to - from] = 0;
	return mml_valid_value(out) ? 0 : -EINVAL;
}

/// "errno N" for a failure text.
static void mml_put_errno(struct mml_text *t, int e)
{
	mml_put(t, " (errno ");
	mml_put_u(t, (unsigned long long)e);
	mml_put(t, ")");
}

/// Appends ", " before each item after the first.
static void mml_put_item(struct mml_text *t)
{
	if (t && t->len > 0)
		mml_put(t, ", ");
}

// ---- running a journal ----------------------------------------------------------------------

/// SIGKILL to `pid` if it is still the process that started at `start` (through a pidfd,
/// so that a pid reused in between is never hit): 1 when sent, else 0.
int mml_kill_same(pid_t pid, unsigned long long start)
{
	if (!mml_proc_alive(pid, start))
		return 0;
	int pfd = mml_pidfd_open(pid);
	int sent = 0;
	if (pfd >= 0) {
		if (mml_proc_alive(pid, start))
			sent = syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0;
		close(pfd);
	} else if (pfd == -ENOSYS) {
		sent = kill(pid, SIGKILL) == 0;
	}
	return sent;
}

/// Runs a journal's steps in their order: first SIGKILL to every worker that still runs,
/// waiting (bounded) until each is gone, reaped when it is our child; then each swap file
/// turned off and deleted, each KSM knob and sysctl written back. With `same_boot` 0 (a
/// journal of an earlier boot: its pids mean nothing, the reboot reset the knobs) only the
/// swap files are deleted. What was done goes to `done`, what failed to `bad` (either may be
/// NULL). Returns the number of steps that failed.
int mml_journal_execute(const struct mml_journal *j, int same_boot, struct mml_text *done, struct mml_text *bad)
{
	static pid_t killed[MML_MAX_WORKERS];
	static unsigned long long killed_start[MML_MAX_WORKERS];
	int nkilled = 0, failed = 0;
	for (int i = 0; i < j->nsteps && same_boot; i++) {
		const struct mml_step *s = &j->step[i];
		if (s->kind == MML_STEP_WORKER && nkilled < MML_MAX_WORKERS && mml_kill_same(s->pid, s->start)) {
			killed[nkilled] = s->pid;
			killed_start[nkilled++] = s->start;
		}
	}
	long deadline = mml_now_ms() + MML_KILL_WAIT_MS;
	int left = nkilled;
	while (left > 0) {
		left = 0;
		for (int i = 0; i < nkilled; i++) {
			if (!killed[i])
				continue;
			int st;
			pid_t r = waitpid(killed[i], &st, WNOHANG);
			if (r == killed[i] || (r < 0 && errno == ECHILD && !mml_proc_alive(killed[i], killed_start[i])))
				killed[i] = 0;	// reaped, or a zombie of someone else: its memory is gone
			else
				left++;
		}
		if (left == 0 || mml_now_ms() >= deadline)
			break;
		mml_sleep_ms(1);
	}
	if (nkilled > left && done) {
		mml_put_item(done);
		mml_put_u(done, (unsigned long long)(nkilled - left));
		mml_put(done, nkilled - left == 1 ? " worker killed" : " workers killed");
	}
	for (int i = 0; i < nkilled && left > 0; i++)
		if (killed[i]) {
			failed++;
			if (bad) {
				mml_put_item(bad);
				mml_put(bad, "worker ");
				mml_put_u(bad, (unsigned long long)killed[i]);
				mml_put(bad, " still runs after SIGKILL");
			}
		}
	for (int i = 0; i < j->nsteps; i++) {
		const struct mml_step *s = &j->step[i];
		char path[96];
		int e = 0;
		switch (s->kind) {
		case MML_STEP_WORKER:
			continue;
		case MML_STEP_SWAP: {
			int on = syscall(SYS_swapoff, s->value) == 0;
			if (!on && errno != EINVAL && errno != ENOENT) {
				e = errno;	// still in use: it must not be deleted
			} else if (unlink(s->value) == 0) {
				if (done) {
					mml_put_item(done);
					mml_put(done, on ? "swap file " : "inactive swap file ");
					mml_put(done, s->value);
					mml_put(done, on ? " turned off and deleted" : " deleted");
				}
			} else if (errno != ENOENT) {
				e = errno;
			}
			if (e && bad) {
				mml_put_item(bad);
				mml_put(bad, "swapoff or delete of ");
				mml_put(bad, s->value);
				mml_put_errno(bad, e);
			}
			break;
		}
		case MML_STEP_KSM:
		case MML_STEP_SYSCTL: {
			if (!same_boot)
				continue;
			char value[72];
			size_t n = strlen(s->value);
			memcpy(value, s->value, n);
			value[n] = '\n';
			value[n + 1] = 0;
			if (s->kind == MML_STEP_KSM)
				mml_ksm_path(path, s->name);
			else
				mml_sysctl_path(path, s->name);
			e = -mml_write_file(path, value);
			struct mml_text *t = e ? bad : done;
			if (t) {
				mml_put_item(t);
				mml_put(t, s->kind == MML_STEP_KSM ? "ksm " : "");
				mml_put(t, s->name);
				mml_put(t, "=");
				mml_put(t, s->value);
				if (e)
					mml_put_errno(t, e);
			}
			break;
		}
		}
		failed += e != 0;
	}
	return failed;
}

// ---- the journal of this run ----------------------------------------------------------------

/// Writes H's journal (durably or not, see mml_journal_store): 0 or -errno. The journal
/// exists from the first host change on (a durable write); until then there is nothing to
/// restore, and worker pids alone are not written (the workers die with the controller).
static int mml_host_sync(int durable)
{
	static struct mml_journal j;
	static char text[MML_JOURNAL_BYTES];
	if (!H.journal[0] || (!durable && !H.durable))
		return 0;
	mml_record_steps(&H.rec, &j);
	int len = mml_journal_format(&j, text, sizeof text);
	int r = len < 0 ? len : mml_journal_store(H.journal, text, len, durable);
	if (!r && durable) {
		H.dirty = 0;
		H.durable = 1;
	}
	return r;
}

/// Makes every recorded host change durable in the journal (see the header): 0 or -errno.
int mml_host_commit(void)
{
	return H.dirty ? mml_host_sync(1) : 0;
}

/// The pid of this run's guardian, or 0.
pid_t mml_host_guardian(void)
{
	return H.guardian_fd ? H.rec.guardian : 0;
}

// ---- set-up ---------------------------------------------------------------------------------

/// Puts back the signal handlers mml_host_begin replaced.
static void mml_host_uninstall(void)
{
	if (!H.handlers)
		return;
	H.handlers = 0;
	for (int i = 0; i < MML_HOST_SIGNALS; i++)
		sigaction(mml_host_signals[i], &H.old[i], NULL);
}

/// Undoes every recorded change to the host (see the header); the number of steps that failed.
int mml_host_restore(char *problems, int len)
{
	if (problems && len > 0)
		problems[0] = 0;
	if (H.rec.owner != getpid())
		return 0;
	if (__atomic_exchange_n(&H.restoring, 1, __ATOMIC_SEQ_CST))
		return -1;	// another thread (a signal handler) restores right now
	// Nothing interrupts this thread's restore; a signal meant for it waits until the end.
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	static struct mml_journal j;
	struct mml_text bad = { problems, 0, problems ? len : 0, 0 };
	mml_record_steps(&H.rec, &j);
	int failed = mml_journal_execute(&j, 1, NULL, problems ? &bad : NULL);
	// After a failure the journal stays as it is (each step can run again): the next live run
	// tries once more before it saves anything.
	if (H.journal[0] && H.durable && !failed)
		mml_journal_remove(H.journal, 1);
	mml_record_clear(&H.rec, 1);
	H.journal[0] = 0;
	H.dirty = 0;
	H.durable = 0;
	if (H.guardian_fd) {
		mml_guardian_stop(H.guardian_fd - 1, H.rec.guardian);
		H.guardian_fd = 0;
	}
	H.rec.guardian = 0;
	H.rec.guardian_start = 0;
	mml_host_uninstall();
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	mml_host_unlock();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	__atomic_store_n(&H.restoring, 0, __ATOMIC_SEQ_CST);
	return failed;
}

/// Takes the host-wide flock of live runs, waiting at most `timeout_ms`: 0 or -errno.
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

/// Releases the host-wide lock (when this process holds it).
void mml_host_unlock(void)
{
	if (H.lock_fd > 0) {
		close(H.lock_fd - 1);	// releases the flock (a guardian, if any, has ended)
		H.lock_fd = 0;
	}
}

/// The handler of mml_host_signals: restores the host, then dies of the signal.
static void mml_on_host_signal(int sig)
{
	if (mml_host_restore(NULL, 0) < 0) {
		// Another thread restores: let it finish (bounded; the guardian covers the rest).
		for (int i = 0; i < 5000 && __atomic_load_n(&H.restoring, __ATOMIC_SEQ_CST); i++)
			mml_sleep_ms(2);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
}

/// Restores from a journal a dead run left (see the header).
int mml_host_recover(const char *journal, char *report, int len)
{
	static struct mml_journal j;
	static char done_buf[2048], bad_buf[1024];
	char why[300], boot[40];
	struct mml_text t = { report, 0, len, 0 };
	if (len > 0)
		report[0] = 0;
	int r = mml_journal_load(journal, &j, why, sizeof why);
	if (r == 0)
		return 0;
	if (r < 0) {
		mml_journal_remove(journal, 1);
		mml_put(&t, "removed ");
		mml_put(&t, journal);
		mml_put(&t, ", which no live run wrote as it is (");
		mml_put(&t, why);
		mml_put(&t, "): nothing was restored from it; if a live run was killed, check swapon --show, "
			    "sysctl vm.page-cluster and /sys/kernel/mm/ksm by hand");
		return 2;
	}
	mml_boot_id(boot);
	int same_boot = boot[0] && !strcmp(boot, j.boot_id);
	if (same_boot && j.owner != getpid() && mml_proc_alive(j.owner, j.owner_start)) {
		mml_put(&t, journal);
		mml_put(&t, " belongs to the live run of pid ");
		mml_put_u(&t, (unsigned long long)j.owner);
		mml_put(&t, ", which still runs without the host lock: nothing was changed");
		return -EBUSY;
	}
	// A guardian of that run that still runs (it would hold the lock): stop it first, so that
	// only one restore runs.
	if (same_boot && j.guardian > 0 && mml_kill_same(j.guardian, j.guardian_start))
		for (int i = 0; i < 1000 && mml_proc_alive(j.guardian, j.guardian_start); i++)
			mml_sleep_ms(2);
	struct mml_text done = { done_buf, 0, sizeof done_buf, 0 }, bad = { bad_buf, 0, sizeof bad_buf, 0 };
	done_buf[0] = bad_buf[0] = 0;
	int failed = mml_journal_execute(&j, same_boot, &done, &bad);
	mml_put(&t, "the live run of pid ");
	mml_put_u(&t, (unsigned long long)j.owner);
	mml_put(&t, same_boot ? " ended without restoring the host" : " (in an earlier boot) left its journal");
	if (failed) {
		mml_put(&t, "; from its journal ");
		mml_put(&t, journal);
		mml_put(&t, ", could not restore: ");
		mml_put(&t, bad_buf);
		if (done.len) {
			mml_put(&t, " (restored: ");
			mml_put(&t, done_buf);
			mml_put(&t, ")");
		}
		mml_put(&t, ". The journal stays: fix these by hand, then delete it");
		return -EIO;
	}
	mml_journal_remove(journal, 1);
	if (!done.len)
		return 3;	// nothing had changed
	mml_put(&t, "; restored from its journal ");
	mml_put(&t, journal);
	mml_put(&t, ": ");
	mml_put(&t, done_buf);
	return 1;
}

/// Becomes the owner of the host record (see the header): 0, or -errno when the guardian
/// could not start (the run goes on; the next run's start-up still restores).
int mml_host_begin(const char *journal)
{
	size_t n = strlen(journal);
	if (n >= sizeof H.journal)
		return -ENAMETOOLONG;
	H.rec.owner = getpid();
	H.rec.owner_start = mml_proc_start(H.rec.owner, NULL);
	mml_boot_id(H.rec.boot_id);
	mml_record_clear(&H.rec, 0);
	H.dirty = 0;
	H.durable = 0;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (!H.handlers) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = mml_on_host_signal;
		sa.sa_flags = SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < MML_HOST_SIGNALS; i++)
			sigaction(mml_host_signals[i], &sa, &H.old[i]);
		H.handlers = 1;
	}
	memcpy(H.journal, journal, n + 1);	// written at the first host change
	int r = 0;
	if (!H.guardian_fd) {
		int fd = -1;
		pid_t pid = mml_guardian_start(H.journal, H.lock_fd > 0 ? H.lock_fd - 1 : -1, &fd);
		if (pid > 0) {
			H.guardian_fd = fd + 1;
			H.rec.guardian = pid;
			H.rec.guardian_start = mml_proc_start(pid, NULL);
		} else {
			r = pid;
		}
	}
	return r;
}

/// Records a worker pid (see the header).
void mml_host_note_worker(pid_t pid)
{
	if (mml_record_add_worker(&H.rec, pid) == 0)
		mml_host_sync(0);
}

/// Forgets a worker pid (it ended).
void mml_host_forget_worker(pid_t pid)
{
	mml_record_forget_worker(&H.rec, pid);
	mml_host_sync(0);
}

/// Records the value of sysctl `name` the first time (see the header): 0 or -errno.
int mml_host_save_sysctl(const char *name)
{
	char path[96], buf[128], old[64];
	if (!mml_valid_sysctl(name))
		return -EINVAL;
	if (mml_record_has_sysctl(&H.rec, name))
		return 0;
	mml_sysctl_path(path, name);
	int n = mml_read_text(path, buf, sizeof buf);
	if (n < 0)
		return n;
	int r = mml_old_value(buf, old);
	if (!r)
		r = mml_record_add_sysctl(&H.rec, name, old);
	if (r < 0)
		return r;
	H.dirty = 1;
	return 0;
}

/// Sets sysctl `name` to `value` after its old value is in the journal: 0 or -errno.
int mml_host_set_sysctl(const char *name, const char *value)
{
	char path[96], line[72];
	size_t n = strlen(value);
	if (n > 64)
		return -EINVAL;
	int r = mml_host_save_sysctl(name);
	if (!r)
		r = mml_host_commit();
	if (r)
		return r;
	memcpy(line, value, n);
	line[n] = '\n';
	line[n + 1] = 0;
	mml_sysctl_path(path, name);
	return mml_write_file(path, line);
}

/// Reads the number in /sys/kernel/mm/ksm/`name` into *value: 0 or -errno.
int mml_ksm_read(const char *name, int64_t *value)
{
	char path[96], buf[64];
	mml_ksm_path(path, name);
	int n = mml_read_text(path, buf, sizeof buf);
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

/// Records the value of KSM knob `name` the first time (see the header): 0 or -errno.
int mml_host_save_ksm(const char *name)
{
	char path[96], buf[128], old[64];
	if (!mml_valid_knob(name))
		return -EINVAL;
	if (mml_record_has_ksm(&H.rec, name))
		return 0;
	mml_ksm_path(path, name);
	int n = mml_read_text(path, buf, sizeof buf);
	if (n < 0)
		return n;
	int r = mml_old_value(buf, old);
	if (!r)
		r = mml_record_add_ksm(&H.rec, name, old);
	if (r < 0)
		return r;
	H.dirty = 1;
	return 0;
}

/// Writes a KSM knob after its old value is in the journal: 0 or -errno.
int mml_host_set_ksm(const char *name, const char *value)
{
	char path[96];
	int r = mml_host_save_ksm(name);
	if (!r)
		r = mml_host_commit();
	if (r)
		return r;
	mml_ksm_path(path, name);
	return mml_write_file(path, value);
}

/// Whether restore writes run=2 before it writes the knobs back (recorded; see the header).
void mml_host_ksm_unmerge_at_restore(int on)
{
	if (H.rec.ksm_unmerge != on) {
		mml_record_set_unmerge(&H.rec, on);
		H.dirty = 1;
	}
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

/// Whether the file system holding `path` has room for `bytes` more, with 1 GiB to spare (a
/// swap file is written out in full: a size beyond the free space must fail before the disk
/// fills up, not after).
static int mml_room_for(const char *path, uint64_t bytes)
{
	char dir[256];
	size_t n = strlen(path);
	if (n >= sizeof dir)
		return 0;
	memcpy(dir, path, n + 1);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	struct statvfs sv;
	if (statvfs(slash ? dir : ".", &sv) != 0)
		return 0;
	uint64_t avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	uint64_t spare = 1ULL << 30;
	return avail > spare && bytes <= avail - spare;
}

/// Fills the open file fd with `pages` pages of zeros and a swap header: 0 or an errno. The
/// header is mkswap's: at most 2^32 − 1 pages counted in last_page (a 32-bit field: mkswap
/// truncates a larger area, the file keeps its size).
static int mml_write_swap(int fd, uint64_t pages, long page)
{
	static char zeros[1 << 16];
	for (uint64_t done = 0; done < pages * (uint64_t)page;) {
		uint64_t chunk = pages * (uint64_t)page - done;
		if (chunk > sizeof zeros)
			chunk = sizeof zeros;
		ssize_t n = write(fd, zeros, (size_t)chunk);
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (uint64_t)n;
	}
	char head[8192];
	memset(head, 0, sizeof head);
	struct mml_swap_info info;
	memset(&info, 0, sizeof info);
	info.version = 1;
	info.last_page = (uint32_t)((pages > UINT32_MAX ? UINT32_MAX : pages) - 1);
	uint64_t id = ((uint64_t)getpid() << 32) ^ (uint64_t)mml_now_ms();
	memcpy(info.sws_uuid, &id, sizeof id);
	memcpy(head + 1024, &info, sizeof info);
	memcpy(head + page - 10, "SWAPSPACE2", 10);
	if (pwrite(fd, head, (size_t)page, 0) != page)
		return errno ? errno : EIO;
	return fsync(fd) ? errno : 0;
}

/// Records the swap file in the journal, then creates and swapon(2)s it: 0 or -errno.
/// ENOSPC, before anything is recorded or written, when the file would not fit.
int mml_host_add_swapfile(const char *path, uint64_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = bytes / (uint64_t)page;
	if (pages < 10 || (H.journal[0] && !mml_journal_swap_path_ok(H.journal, path)))
		return -EINVAL;
	if (!mml_room_for(path, pages * (uint64_t)page))
		return -ENOSPC;
	int r = mml_record_add_swap(&H.rec, path);
	if (r)
		return r;
	H.dirty = 1;
	r = mml_host_commit();
	int fd = r ? -1 : open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		// Nothing was made (a file of that name may exist: it is not ours to remove).
		int e = r ? -r : errno;
		mml_record_drop_last_swap(&H.rec);
		mml_host_sync(0);
		return -e;
	}
	int e = mml_write_swap(fd, pages, page);
	close(fd);
	if (!e && syscall(SYS_swapon, path, 0) != 0)
		e = errno;
	if (e) {
		unlink(path);
		mml_record_drop_last_swap(&H.rec);
		mml_host_sync(0);
		return -e;
	}
	return 0;
}

/// The number of active swap devices (lines of /proc/swaps after the header), or -errno.
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

#endif // __linux__
