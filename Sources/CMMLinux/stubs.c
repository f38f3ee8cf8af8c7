// SPDX-License-Identifier: Apache-2.0
//
// The header's functions where the live backend cannot run (not Linux): the package still
// builds, mml_is_linux says 0, and everything else refuses (-ENOSYS) or does nothing.

#include "internal.h"

#if !defined(__linux__)

/// No worker off Linux: -ENOSYS.
pid_t mml_spawn_worker(int cpu, int *sock)
{
	(void)cpu;
	(void)sock;
	return -ENOSYS;
}

/// No worker to call: -ENOSYS.
int mml_call(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
	     int timeout_ms)
{
	(void)sock, (void)rq, (void)send_fd, (void)rp, (void)recv_fd, (void)timeout_ms;
	return -ENOSYS;
}

/// No worker to call: -ENOSYS.
int mml_call_data(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
		  void *data, int data_len, int *data_got, int timeout_ms)
{
	(void)sock, (void)rq, (void)send_fd, (void)rp, (void)recv_fd, (void)data, (void)data_len, (void)data_got,
		(void)timeout_ms;
	return -ENOSYS;
}

/// Nothing to wait for: 0.
int mml_wait_gone(pid_t pid, int timeout_ms)
{
	(void)pid, (void)timeout_ms;
	return 0;
}

/// No memfd: -ENOSYS.
int mml_memfd(const char *name, uint64_t bytes)
{
	(void)name, (void)bytes;
	return -ENOSYS;
}

/// Nothing to close.
void mml_close(int fd)
{
	(void)fd;
}

/// No KVM: -ENOSYS.
int mml_guest_memfd(int *vm_fd, uint64_t size, uint64_t flags)
{
	(void)vm_fd, (void)size, (void)flags;
	return -ENOSYS;
}

/// No pread of the live backend's files: -ENOSYS, *value 0.
long mml_pread(int fd, uint64_t offset, uint64_t *value)
{
	(void)fd, (void)offset;
	*value = 0;
	return -ENOSYS;
}

/// No KVM off Linux: -ENOSYS.
long mml_gmem_set_attributes(int fd, uint64_t offset, uint64_t size, int private_)
{
	(void)fd, (void)offset, (void)size, (void)private_;
	return -ENOSYS;
}

/// No user id that the live backend could use: all ones.
uint32_t mml_geteuid(void)
{
	return 0xffffffffu;
}

/// 0: this is not Linux.
int mml_is_linux(void)
{
	return 0;
}

/// No Linux release: the empty string.
void mml_kernel_release(char *buf, int len)
{
	if (len > 0)
		buf[0] = 0;
}

/// No journal to restore from.
int mml_host_recover(const char *journal, char *report, int len)
{
	(void)journal;
	if (len > 0)
		report[0] = 0;
	return 0;
}

/// Nothing to set up: -ENOSYS.
int mml_host_begin(const char *journal)
{
	(void)journal;
	return -ENOSYS;
}

/// No guardian.
pid_t mml_host_guardian(void)
{
	return 0;
}

/// No host lock: -ENOSYS.
int mml_host_lock(const char *path, int timeout_ms)
{
	(void)path, (void)timeout_ms;
	return -ENOSYS;
}

/// No host lock.
void mml_host_unlock(void)
{
}

/// Nothing to restore: 0 steps failed.
int mml_host_restore(char *problems, int len)
{
	if (problems && len > 0)
		problems[0] = 0;
	return 0;
}

/// No workers to record.
void mml_host_note_worker(pid_t pid)
{
	(void)pid;
}

/// No workers to forget.
void mml_host_forget_worker(pid_t pid)
{
	(void)pid;
}

/// No sysctls: -ENOSYS.
int mml_host_save_sysctl(const char *name)
{
	(void)name;
	return -ENOSYS;
}

/// No KSM: -ENOSYS.
int mml_host_save_ksm(const char *name)
{
	(void)name;
	return -ENOSYS;
}

/// No journal: -ENOSYS.
int mml_host_commit(void)
{
	return -ENOSYS;
}

/// No sysctls: -ENOSYS.
int mml_host_set_sysctl(const char *name, const char *value)
{
	(void)name, (void)value;
	return -ENOSYS;
}

/// No swap files: -ENOSYS.
int mml_host_add_swapfile(const char *path, uint64_t bytes)
{
	(void)path, (void)bytes;
	return -ENOSYS;
}

/// No /proc/swaps: -ENOSYS.
int mml_active_swaps(void)
{
	return -ENOSYS;
}

/// No KSM: -ENOSYS.
int mml_ksm_read(const char *name, int64_t *value)
{
	(void)name, (void)value;
	return -ENOSYS;
}

/// No KSM: -ENOSYS.
int mml_host_set_ksm(const char *name, const char *value)
{
	(void)name, (void)value;
	return -ENOSYS;
}

/// No KSM: nothing to unmerge.
void mml_host_ksm_unmerge_at_restore(int on)
{
	(void)on;
}

/// No journal records off Linux.
struct mml_host_record *mml_record_create(pid_t owner, pid_t guardian)
{
	(void)owner, (void)guardian;
	return NULL;
}

/// Nothing to free.
void mml_record_destroy(struct mml_host_record *r)
{
	(void)r;
}

/// No record: -ENOSYS.
int mml_record_add_worker(struct mml_host_record *r, pid_t pid)
{
	(void)r, (void)pid;
	return -ENOSYS;
}

/// No record: -ENOSYS.
int mml_record_add_swap(struct mml_host_record *r, const char *path)
{
	(void)r, (void)path;
	return -ENOSYS;
}

/// No record: -ENOSYS.
int mml_record_add_ksm(struct mml_host_record *r, const char *name, const char *old)
{
	(void)r, (void)name, (void)old;
	return -ENOSYS;
}

/// No record: -ENOSYS.
int mml_record_add_sysctl(struct mml_host_record *r, const char *name, const char *old)
{
	(void)r, (void)name, (void)old;
	return -ENOSYS;
}

/// No record.
void mml_record_set_unmerge(struct mml_host_record *r, int on)
{
	(void)r, (void)on;
}

/// No journal: -ENOSYS.
int mml_record_write(const struct mml_host_record *r, const char *path, int durable)
{
	(void)r, (void)path, (void)durable;
	return -ENOSYS;
}

/// No journal: -ENOSYS.
int mml_journal_read(const char *path, char *lines, int len, char *why, int wlen)
{
	(void)path, (void)lines, (void)len;
	if (wlen > 0)
		why[0] = 0;
	return -ENOSYS;
}

#endif // !__linux__
