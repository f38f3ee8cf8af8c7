// SPDX-License-Identifier: Apache-2.0
//
// Host set-up and its restore record: vm.page-cluster, swap files, KSM knobs, the worker
// pids and the host-wide lock of live runs, all in one plain-data record (H) so that a
// signal handler can restore the host with async-signal-safe calls only.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

/// The handler of mml_host_signals: restores the host, then dies of the signal.
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

/// Becomes the owner of the host record: child subreaper, restoring signal handlers.
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

/// Records a worker pid so that an interrupted run kills it.
void mml_host_note_worker(pid_t pid)
{
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (H.workers[i] == 0) {
			H.workers[i] = pid;
			return;
		}
}

/// Forgets a worker pid (it ended).
void mml_host_forget_worker(pid_t pid)
{
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (H.workers[i] == pid)
			H.workers[i] = 0;
}

/// Sets vm.page-cluster, recording the old value the first time: 0 or -errno.
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

/// Writes a KSM knob, recording its old value the first time: 0 or -errno.
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
		int n = mml_read_text(path, buf, sizeof buf);
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

/// Whether restore writes run=2 before it writes the knobs back.
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

/// Creates, records and swapon(2)s a swap file of `bytes` at `path`: 0 or -errno. The
/// header is mkswap's: at least 10 pages (EINVAL), and at most 2^32 − 1 of them counted in
/// last_page (a 32-bit field: mkswap truncates a larger area, the file keeps its size).
/// ENOSPC when the file would not fit on its file system.
int mml_host_add_swapfile(const char *path, uint64_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = bytes / (uint64_t)page;
	if (pages < 10 || strlen(path) >= sizeof H.swap_path[0])
		return -EINVAL;
	if (H.nswaps >= MML_MAX_SWAPS)
		return -ENOSPC;
	if (!mml_room_for(path, pages * (uint64_t)page))
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
		info.last_page = (uint32_t)((pages > UINT32_MAX ? UINT32_MAX : pages) - 1);
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
