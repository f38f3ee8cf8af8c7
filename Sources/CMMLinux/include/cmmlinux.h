// SPDX-License-Identifier: Apache-2.0
//
// CMMLinux: the C shim of the live backend. It holds everything that must run without the
// Swift runtime or that needs raw system calls:
//
//  * the worker: a forked process that performs a scenario's system calls and memory
//    accesses on its own address space, driven over a SOCK_SEQPACKET socket by a fixed-size
//    request/response protocol (mml_request / mml_reply), with file descriptors passed as
//    SCM_RIGHTS. Workers fork further workers for the scenario's `fork`.
//  * the controller's side of that protocol (mml_call), with a bounded wait.
//  * host set-up and its restore record (vm.page-cluster, swap files, KSM knobs, worker pids), kept in
//    one place in C so that a signal handler can restore the host with async-signal-safe
//    calls only, and written to a journal file before each change so that a guardian process
//    or the next run restores the host after a SIGKILL.
//
// Each feature adds an opcode (userfaultfd, jobs on the worker's threads and PAGEMAP_SCAN so
// far; KVM guest_memfd later; KSM needs none: its knobs are the controller's, in the host
// record); the request carries up to six 64-bit arguments and one file descriptor, the reply a return value, an errno, a signal with its si_code, a
// job state and two 64-bit values, optionally followed by a payload (a uffd_msg, page regions).

#ifndef CMMLINUX_H
#define CMMLINUX_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Operations a worker performs on its own process.
enum mml_op {
	MML_OP_PING = 1,	 ///< no-op; replies with the worker's pid
	MML_OP_EXIT = 2,	 ///< replies, then _exit(0)
	MML_OP_MMAP = 3,	 ///< arg: length, prot, shared, offset, align; fd (or -1 for anon)
	MML_OP_MUNMAP = 4,	 ///< arg: address, length
	MML_OP_MPROTECT = 5,	 ///< arg: address, length, prot
	MML_OP_MADVISE = 6,	 ///< arg: address, length, advice
	MML_OP_LOAD = 7,	 ///< arg: address; value = first 64-bit word of the page
	MML_OP_STORE = 8,	 ///< arg: address, token; fills the page with the token
	MML_OP_PAGEMAP = 9,	 ///< arg: address; value = the /proc/self/pagemap word
	MML_OP_CLEAR_REFS = 10,	 ///< arg: value written to /proc/self/clear_refs
	MML_OP_FORK = 11,	 ///< ret = child pid; the child's socket comes back as SCM_RIGHTS
	MML_OP_PROBE = 12,	 ///< value = zero-page PFN word, value2 = soft-dirty word (see .c)
	MML_OP_PUNCH = 13,	 ///< arg: offset, length; fd: fallocate(PUNCH_HOLE|KEEP_SIZE)
	/// Starts a job (enum mml_job_kind in arg[0], its arguments in arg[1..]) on one of the
	/// worker's job threads, and waits (bounded) until it finished or sleeps in
	/// userfaultfd: `state` MML_JOB_DONE with the job's result (as the plain opcode would
	/// reply; a fork passes the child's socket), or MML_JOB_ASLEEP with the job id in value2.
	MML_OP_JOB_START = 14,
	/// arg: job id, wait in ms; the same reply as MML_OP_JOB_START. A finished job is freed.
	MML_OP_JOB_POLL = 15,
	/// arg: features. userfaultfd(O_NONBLOCK|O_CLOEXEC) (via /dev/userfaultfd or syscall
	/// 323) + UFFDIO_API; ret = the fd in this worker.
	MML_OP_UFFD_CREATE = 16,
	/// arg: fd, enum mml_uffd_ioctl, start, length, flags (MML_UFFD_F_* or, for REGISTER,
	/// the UFFDIO_REGISTER_MODE_* bits), token (COPY).
	MML_OP_UFFD_IOCTL = 17,
	/// arg: fd. A non-blocking read(2) of one struct uffd_msg (32 bytes, in the payload);
	/// ret -1 with EAGAIN when none.
	MML_OP_UFFD_READ = 18,
	/// arg: start, end, flags (PM_SCAN_*), the four category masks (9 bits each, at bits
	/// 0, 16, 32, 48: inverted, mask, anyof, return), max_pages. PAGEMAP_SCAN on this
	/// worker's /proc/self/pagemap; ret = regions, payload = struct page_region[] (24 bytes each).
	MML_OP_PAGEMAP_SCAN = 19,
	MML_OP_PRCTL = 20,	 ///< arg: option, arg2 (arg3..5 are 0)
	/// arg: address, length. A long-term pin through io_uring fixed buffers (pin.c);
	/// ret = the ring's fd (the pin's handle).
	MML_OP_PIN = 21,
	MML_OP_UNPIN = 22,	 ///< arg: the ring's fd: unregister its buffers and close it
	/// arg: offset, token; fd. pwrite(2) of one page, every 64-bit word the token, at
	/// `offset`; ret = bytes written, or -1 with err.
	MML_OP_PWRITE = 23,
};

/// What a job does (MML_OP_JOB_START arg[0]); arg[1..] as for the plain opcode.
enum mml_job_kind {
	MML_JOB_LOAD = 1,	///< address
	MML_JOB_STORE = 2,	///< address, token
	MML_JOB_MADVISE = 3,	///< address, length, advice
	MML_JOB_MUNMAP = 4,	///< address, length
	MML_JOB_FORK = 5,	///< (none); the child runs the worker loop on the forking thread
};

/// mml_reply.state of a job.
enum mml_job_state { MML_JOB_DONE = 0, MML_JOB_ASLEEP = 1 };

/// The userfaultfd ioctls (MML_OP_UFFD_IOCTL arg[1]).
enum mml_uffd_ioctl {
	MML_UFFD_REGISTER = 1,
	MML_UFFD_UNREGISTER = 2,
	MML_UFFD_WRITEPROTECT = 3,	///< flags: MML_UFFD_F_WP protects, else unprotects
	MML_UFFD_COPY = 4,		///< token, MML_UFFD_F_SEQ: page i holds token + i
	MML_UFFD_ZEROPAGE = 5,
	MML_UFFD_CONTINUE = 6,
	MML_UFFD_POISON = 7,
	MML_UFFD_WAKE = 8,
};

/// Flags of MML_OP_UFFD_IOCTL (translated to each ioctl's own mode bits by the worker).
enum mml_uffd_flags { MML_UFFD_F_WP = 1, MML_UFFD_F_DONTWAKE = 2, MML_UFFD_F_SEQ = 4 };

/// The most page regions one MML_OP_PAGEMAP_SCAN reply carries.
#define MML_SCAN_MAX_REGIONS 512

/// PROT_* as the protocol sends them (independent of the host headers).
enum mml_prot { MML_PROT_NONE = 0, MML_PROT_R = 1, MML_PROT_RW = 3 };

/// A request from the controller to a worker.
struct mml_request {
	uint32_t op;
	uint32_t reserved;
	uint64_t arg[6];
};

/// A worker's reply. `ret` is the call's return value (-1 on failure, with `err`); `sig`
/// and `code` are the signal and si_code an access raised (0 when none).
struct mml_reply {
	int64_t ret;
	int32_t err;
	int32_t sig;
	int32_t code;
	int32_t state;	///< jobs: enum mml_job_state
	uint64_t value;
	uint64_t value2;
};

/// Forks a worker pinned to `cpu` (-1: not pinned). On success returns its pid and stores
/// the controller's end of its socket in *sock; on failure returns -errno.
pid_t mml_spawn_worker(int cpu, int *sock);

/// Sends a request (with `send_fd` as SCM_RIGHTS when >= 0) and waits at most `timeout_ms`
/// for the reply; a file descriptor in the reply is stored in *recv_fd (else -1).
/// Returns 0, or -errno: -ETIMEDOUT when the worker did not answer in time, -EPIPE or
/// -ECONNRESET when it is gone.
int mml_call(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
	     int timeout_ms);

/// mml_call for replies that carry a payload after the mml_reply (up to `data_len` bytes
/// into `data`; the length received goes to *data_got).
int mml_call_data(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
		  void *data, int data_len, int *data_got, int timeout_ms);

/// Waits at most `timeout_ms` for process `pid` to end (reaping it if it is, or became,
/// a child of the caller); sends SIGKILL when the time is up and waits again as long.
/// Returns 0 when it ended by itself, 1 when it had to be killed, -1 when it survived.
int mml_wait_gone(pid_t pid, int timeout_ms);

/// memfd_create(name, MFD_CLOEXEC) + ftruncate(bytes): an fd, or -errno.
int mml_memfd(const char *name, uint64_t bytes);

/// close(fd).
void mml_close(int fd);

/// KVM guest_memfd: on the VM *vm_fd (created first as type 0 from /dev/kvm when it is -1,
/// and stored there; the caller keeps it open for the run and closes it), KVM_CREATE_GUEST_MEMFD
/// of `size` bytes with GUEST_MEMFD_FLAG_* `flags`. Returns the fd (O_CLOEXEC), or -errno.
int mml_guest_memfd(int *vm_fd, uint64_t size, uint64_t flags);

/// pread(fd, 8 bytes at `offset`) into *value (zero-extended): bytes read, or -errno.
long mml_pread(int fd, uint64_t offset, uint64_t *value);

/// The guest_memfd conversion ioctl of the in-place conversion series (v7):
/// KVM_SET_MEMORY_ATTRIBUTES2 = _IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2), a
/// 128-byte struct { offset, size, attributes, flags, reserved[12] }, on `fd` for
/// [offset, offset + size) with KVM_MEMORY_ATTRIBUTE_PRIVATE (1 << 3) or 0. 0, or -errno
/// (6.18 has no such ioctl: ENOTTY).
long mml_gmem_set_attributes(int fd, uint64_t offset, uint64_t size, int private_);

/// The effective user id.
uint32_t mml_geteuid(void);

/// Whether this is Linux (the live backend runs nowhere else).
int mml_is_linux(void);

/// uname(2) release string into buf.
void mml_kernel_release(char *buf, int len);

// ---- host set-up and restore (host.c) ------------------------------------------------------
//
// Every change to the host is recorded (its old value first) and written to the journal
// before it is made; see journal.c for the journal's format. A restore kills the workers,
// turns off and deletes the swap files, writes the KSM knobs and sysctls back.

/// Restores the host from the journal at `journal` that a dead live run left, before this run
/// saves anything (call it under the host lock, before mml_host_begin). Returns 0 when there
/// is no journal; 1 when something was restored, 3 when nothing had changed (the journal is
/// removed either way); 2 when the journal could not be trusted or read (removed, nothing run);
/// -EBUSY when its owner still runs, -EIO when a step failed (the journal stays). `report`
/// gets a sentence for people for 1, 2 and the errors.
int mml_host_recover(const char *journal, char *report, int len);

/// Becomes the owner of the host record, with its journal at `journal`: makes the caller a
/// child subreaper (orphaned workers are reparented to it), installs handlers for SIGINT,
/// SIGTERM, SIGHUP, SIGQUIT and the crash signals (SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
/// SIGFPE) that restore the host (mml_host_restore) and then die of the signal, and forks the
/// guardian: a process that restores the host from the journal if the caller dies without
/// restoring it (SIGKILL), and exits when the caller restores. 0, or -errno when the guardian
/// could not start (the rest is set up).
int mml_host_begin(const char *journal);

/// The pid of the run's guardian, or 0.
pid_t mml_host_guardian(void);

/// Takes the host-wide lock of live runs (flock on `path`), waiting at most `timeout_ms`:
/// two live runs at once would record each other's vm.page-cluster and swap as the host's.
/// Returns 0, -EWOULDBLOCK when another run held it all that time, or another -errno. The
/// lock is released by mml_host_restore (or mml_host_unlock), or by the kernel when the
/// process and its guardian are gone: the guardian holds it until its restore is done.
int mml_host_lock(const char *path, int timeout_ms);

/// Releases the host-wide lock without a restore (a run that never began).
void mml_host_unlock(void);

/// Kills every recorded worker, turns off and deletes every swap file it created, writes
/// back every sysctl and KSM knob it changed, removes the journal (unless a step failed: it
/// stays for the next run), tells the guardian to exit, removes the signal handlers and
/// releases the lock. Safe to call more than once. `problems` (may be NULL) gets what
/// failed. Returns the number of steps that failed (-1: another thread restores right now).
int mml_host_restore(char *problems, int len);

/// Records a worker pid (with its start time) so that an interrupted run kills it.
void mml_host_note_worker(pid_t pid);
/// Forgets a worker pid (it ended).
void mml_host_forget_worker(pid_t pid);

/// Records the value of /proc/sys/A/B for sysctl `name` "A.B" the first time, to go in the
/// journal at the next commit. 0 or -errno.
int mml_host_save_sysctl(const char *name);
/// Records the value of /sys/kernel/mm/ksm/`name` the first time (a choice such as "[none]
/// scan-time" as its bracketed word), to go in the journal at the next commit. 0 or -errno.
int mml_host_save_ksm(const char *name);
/// Writes the journal durably (temporary file, fsync, rename, fsync of the directory) when
/// something recorded is not in it yet. 0 or -errno.
int mml_host_commit(void);

/// Sets sysctl `name` (e.g. "vm.page-cluster") to `value`, recording and committing the old
/// value first. 0 or -errno.
int mml_host_set_sysctl(const char *name, const char *value);

/// Creates a swap file of `bytes` at `path` (beside the journal, named mmlab-live-swap.PID.N;
/// zero-filled, a version-1 swap header) after it is committed to the journal, and swapon(2)s
/// it. 0 or -errno (the file is removed again on failure).
int mml_host_add_swapfile(const char *path, uint64_t bytes);

/// Writes /sys/kernel/mm/ksm/`name` (a value such as "0\n"), recording and committing the old
/// value first; restore writes every recorded knob back, `run` last. 0 or -errno.
int mml_host_set_ksm(const char *name, const char *value);

/// Whether restore writes run=2 (unmerge everything, free every rmap item and the slots of
/// exited mms) before it writes the knobs back. Only when no other process uses KSM. Goes in
/// the journal at the next commit.
void mml_host_ksm_unmerge_at_restore(int on);

/// Reads the number in /sys/kernel/mm/ksm/`name` into *value: 0 or -errno.
int mml_ksm_read(const char *name, int64_t *value);

/// The number of active swap devices (lines of /proc/swaps after the header), or -errno.
int mml_active_swaps(void);

// ---- the host journal's own interface (journal.c), for its unit tests ------------------------
//
// host.c builds its record with these same functions; a test builds one, writes it to a file
// of its choice and reads it back, without root and without touching the host.

/// What a live run changed on the host (opaque; see internal.h).
struct mml_host_record;

/// A new, empty record owned by `owner` with guardian `guardian` (0: none), their start times
/// and this boot's id read from /proc; NULL when out of memory.
struct mml_host_record *mml_record_create(pid_t owner, pid_t guardian);
/// Frees a record of mml_record_create.
void mml_record_destroy(struct mml_host_record *r);
/// Records a worker (its start time read from /proc): 0, -ESRCH, -ENOSPC.
int mml_record_add_worker(struct mml_host_record *r, pid_t pid);
/// Records a swap file: 0, -EINVAL, -ENOSPC.
int mml_record_add_swap(struct mml_host_record *r, const char *path);
/// Records a KSM knob's old value the first time: 0, 1 (known already), -EINVAL, -ENOSPC.
int mml_record_add_ksm(struct mml_host_record *r, const char *name, const char *old);
/// Records a sysctl's old value the first time: 0, 1 (known already), -EINVAL, -ENOSPC.
int mml_record_add_sysctl(struct mml_host_record *r, const char *name, const char *old);
/// Whether the restore unmerges everything (KSM run=2) before the knobs go back.
void mml_record_set_unmerge(struct mml_host_record *r, int on);
/// Writes the record's journal to `path` (durably: fsync of the file and the directory). 0 or -errno.
int mml_record_write(const struct mml_host_record *r, const char *path, int durable);
/// Reads and checks the journal at `path`; its lines but the first and the last (the owner,
/// the guardian, then the restore steps in their order) go to `lines`. Returns their length,
/// 0 when there is no journal, or -errno with the reason in `why` (for people).
int mml_journal_read(const char *path, char *lines, int len, char *why, int wlen);

#ifdef __cplusplus
}
#endif

#endif
