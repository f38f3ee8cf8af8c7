// SPDX-License-Identifier: Apache-2.0
//
// Small helpers the other files share (async-signal-safe: the worker, the host's signal
// handler and the guardian use them: /proc/PID/stat, the boot id, text in a fixed buffer),
// and the controller's plain wrappers of the header: waiting for a worker to end, memfd,
// guest_memfd, pread, the user id and the kernel's release.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

// ---- small helpers (async-signal-safe) ---------------------------------------------------

/// CLOCK_MONOTONIC in milliseconds.
long mml_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/// Sleeps `ms` milliseconds (resumed after signals).
void mml_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
	}
}

/// Writes the decimal form of v (may be negative) into buf; returns the length.
int mml_itoa(long v, char *buf)
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

/// Reads a small /proc or sysfs file into buf (NUL-terminated): its length, or -errno.
int mml_read_text(const char *path, char *buf, int len)
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

/// The start time of process `pid` (field 22 of /proc/PID/stat), or 0; its state into *state.
unsigned long long mml_proc_start(pid_t pid, char *state)
{
	char path[40] = "/proc/", buf[1024];
	int n = 6;
	n += mml_itoa(pid, path + n);
	memcpy(path + n, "/stat", 6);
	if (pid <= 0 || mml_read_text(path, buf, sizeof buf) <= 0)
		return 0;
	// The name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (state)
		*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	unsigned long long v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long long)(*p++ - '0');
	return v;
}

/// Whether `pid` is alive (not a zombie) and started at `start`.
int mml_proc_alive(pid_t pid, unsigned long long start)
{
	char state = 0;
	unsigned long long s = mml_proc_start(pid, &state);
	return s != 0 && s == start && state != 'Z' && state != 'X' && state != 'x';
}

/// This boot's id into buf (40 bytes): 36 characters, or "" when unreadable.
void mml_boot_id(char *buf)
{
	char tmp[64];
	buf[0] = 0;
	if (mml_read_text("/proc/sys/kernel/random/boot_id", tmp, sizeof tmp) < 36)
		return;
	memcpy(buf, tmp, 36);
	buf[36] = 0;
}

/// pidfd_open(2): a pidfd (close-on-exec), or -errno.
int mml_pidfd_open(pid_t pid)
{
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
}

/// Appends s (cut off at the end of the buffer).
void mml_put(struct mml_text *t, const char *s)
{
	while (*s) {
		if (t->len + 1 >= t->cap) {
			t->cut = 1;
			break;
		}
		t->p[t->len++] = *s++;
	}
	if (t->cap > 0)
		t->p[t->len < t->cap ? t->len : t->cap - 1] = 0;
}

/// Appends the decimal form of v.
void mml_put_u(struct mml_text *t, unsigned long long v)
{
	char tmp[24];
	int n = 0;
	char out[24];
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	mml_put(t, out);
}

// ---- the controller's wrappers --------------------------------------------------------------

/// Waits (bounded) for `pid` to end, killing it when the time is up (see the header).
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

/// memfd_create(name, MFD_CLOEXEC) + ftruncate(bytes): an fd, or -errno.
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

/// close(fd), when fd >= 0.
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

/// KVM_CREATE_GUEST_MEMFD on *vm_fd (a type-0 VM made first when it is -1): an fd, or -errno.
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

/// pread of 8 bytes at `offset` into *value: bytes read, or -errno.
long mml_pread(int fd, uint64_t offset, uint64_t *value)
{
	uint64_t buf = 0;
	ssize_t n = pread(fd, &buf, sizeof buf, (off_t)offset);
	*value = buf;
	return n < 0 ? -errno : (long)n;
}

/// KVM_SET_MEMORY_ATTRIBUTES2 (v7 of the in-place conversion series) on a guest_memfd.
long mml_gmem_set_attributes(int fd, uint64_t offset, uint64_t size, int private_)
{
	uint64_t attrs[16] = { offset, size, private_ ? (1ULL << 3) : 0, 0 };
	unsigned long request = (3UL << 30) | (sizeof attrs << 16) | (0xAEUL << 8) | 0xd2UL;
	int r = ioctl(fd, request, attrs);
	return r < 0 ? -errno : r;
}

/// The effective user id.
uint32_t mml_geteuid(void)
{
	return (uint32_t)geteuid();
}

/// 1: this is Linux.
int mml_is_linux(void)
{
	return 1;
}

/// uname(2) release string into buf.
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

#endif // __linux__
