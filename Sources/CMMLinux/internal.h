// SPDX-License-Identifier: Apache-2.0
//
// What the files of the C shim share (private: not in include/, not seen by Swift). Every
// .c file includes this first. On Linux: the worker's state, and the functions one file
// offers another. Elsewhere only the public header; stubs.c then defines every function.
//
// The worker half runs in a forked copy of the controller: it uses plain system calls only
// (no malloc, no stdio, no locks), so that whatever state the Swift runtime's other threads
// held at fork time never matters.

#ifndef CMMLINUX_INTERNAL_H
#define CMMLINUX_INTERNAL_H

#if defined(__linux__)
#define _GNU_SOURCE
#endif

#include "cmmlinux.h"

#include <errno.h>
#include <string.h>

#if defined(__linux__)

#include <stddef.h>
#include <sys/types.h>

// ---- sys.c: small helpers (async-signal-safe) ----------------------------------------------

/// CLOCK_MONOTONIC in milliseconds.
long mml_now_ms(void);
/// Sleeps `ms` milliseconds (resumed after signals).
void mml_sleep_ms(int ms);
/// Writes the decimal form of v (may be negative) into buf; returns the length.
int mml_itoa(long v, char *buf);
/// Reads a small /proc or sysfs file into buf (NUL-terminated): its length, or -errno.
int mml_read_text(const char *path, char *buf, int len);
/// The start time of process `pid` (field 22 of /proc/PID/stat, clock ticks after boot), or 0
/// when there is no such process; its state letter (R, S, Z…) into *state when not NULL.
unsigned long long mml_proc_start(pid_t pid, char *state);
/// Whether process `pid` is alive (not a zombie) and is the one that started at `start`.
int mml_proc_alive(pid_t pid, unsigned long long start);
/// This boot's id (/proc/sys/kernel/random/boot_id, 36 characters) into buf (at least 40 bytes).
void mml_boot_id(char *buf);
/// pidfd_open(2): a pidfd, or -errno.
int mml_pidfd_open(pid_t pid);

/// Text built up in a caller's buffer with async-signal-safe calls only (it never overflows:
/// what does not fit is cut off, and `cut` says so).
struct mml_text {
	char *p;
	int len, cap, cut;
};
/// Appends s.
void mml_put(struct mml_text *t, const char *s);
/// Appends the decimal form of v.
void mml_put_u(struct mml_text *t, unsigned long long v);

// ---- journal.c: the host record and its journal file ----------------------------------------

#define MML_MAX_SWAPS 8
#define MML_MAX_WORKERS 256
#define MML_MAX_KSM_KNOBS 16
#define MML_MAX_SYSCTLS 4
#define MML_MAX_STEPS (MML_MAX_WORKERS + MML_MAX_SWAPS + MML_MAX_KSM_KNOBS + 1 + MML_MAX_SYSCTLS)
/// The largest journal file (every step at its longest fits).
#define MML_JOURNAL_BYTES 40960

/// Everything one live run changed on the host, in the order it changed it (plain data: the
/// signal handler reads it). Its journal lists the same as restore steps (mml_record_steps).
struct mml_host_record {
	pid_t owner;
	unsigned long long owner_start;
	char boot_id[40];
	pid_t guardian;
	unsigned long long guardian_start;
	pid_t workers[MML_MAX_WORKERS];	// 0: a free slot
	unsigned long long worker_start[MML_MAX_WORKERS];
	int nswaps;			// swap files, in the order they were made
	char swap_path[MML_MAX_SWAPS][256];
	int nksm;			// KSM knobs (/sys/kernel/mm/ksm/NAME), in the order first set
	char ksm_name[MML_MAX_KSM_KNOBS][32];
	char ksm_old[MML_MAX_KSM_KNOBS][64];
	int ksm_unmerge;		// write run=2 before the knobs (drops the run's KSM state)
	int nsysctl;			// sysctls (/proc/sys/A/B for A.B), in the order first set
	char sysctl_name[MML_MAX_SYSCTLS][64];
	char sysctl_old[MML_MAX_SYSCTLS][64];
};

/// What a restore step does.
enum mml_step_kind {
	MML_STEP_WORKER,	///< SIGKILL the process pid (if it is still the one that started at `start`)
	MML_STEP_SWAP,		///< swapoff and delete the swap file at `value`
	MML_STEP_KSM,		///< write `value` to /sys/kernel/mm/ksm/`name`
	MML_STEP_SYSCTL,	///< write `value` to /proc/sys/`name` (dots as slashes)
};

/// One step of a restore.
struct mml_step {
	enum mml_step_kind kind;
	pid_t pid;
	unsigned long long start;
	char name[64];
	char value[256];
};

/// A journal: whose it is and its restore steps, in the order to run them.
struct mml_journal {
	pid_t owner;
	unsigned long long owner_start;
	char boot_id[40];
	pid_t guardian;
	unsigned long long guardian_start;
	int nsteps;
	struct mml_step step[MML_MAX_STEPS];
};

/// Empties a record (owner and guardian stay); the workers too when `workers`.
void mml_record_clear(struct mml_host_record *r, int workers);
/// Forgets a worker.
void mml_record_forget_worker(struct mml_host_record *r, pid_t pid);
/// Whether the record holds the KSM knob / the sysctl `name`.
int mml_record_has_ksm(const struct mml_host_record *r, const char *name);
int mml_record_has_sysctl(const struct mml_host_record *r, const char *name);
/// Removes the last swap file recorded (its creation failed before anything changed).
void mml_record_drop_last_swap(struct mml_host_record *r);
/// The record's restore steps, in the order to run them (see the header).
void mml_record_steps(const struct mml_host_record *r, struct mml_journal *j);
/// The journal's text: its length, or -ENOSPC.
int mml_journal_format(const struct mml_journal *j, char *buf, int len);
/// Writes `text` to the journal at `path` through a temporary file and rename(2); with
/// `durable`, fsync(2) of the file before the rename and of the directory after. 0 or -errno.
int mml_journal_store(const char *path, const char *text, int len, int durable);
/// Removes the journal (and a temporary file left beside it); with `durable`, fsync(2) of
/// the directory. 0 or -errno.
int mml_journal_remove(const char *path, int durable);
/// Reads and checks the journal at `path` into *j: 1, 0 when there is none, or -errno with
/// the reason in why (not a regular file, not the caller's, writable by others, malformed).
int mml_journal_load(const char *path, struct mml_journal *j, char *why, int wlen);
/// Whether `path` names a swap file of a live run beside the journal `journal`.
int mml_journal_swap_path_ok(const char *journal, const char *path);
/// Whether `name` may be a KSM knob / a sysctl name, and `value` a value in a journal.
int mml_valid_knob(const char *name);
int mml_valid_sysctl(const char *name);
int mml_valid_value(const char *value);

// ---- host.c: running a journal -----------------------------------------------------------------

/// Runs a journal's steps (see host.c); what was done goes to `done`, what failed to `bad`
/// (either may be NULL). With `same_boot` 0 only the swap files are deleted. Returns the
/// number of steps that failed.
int mml_journal_execute(const struct mml_journal *j, int same_boot, struct mml_text *done, struct mml_text *bad);
/// SIGKILL to `pid` if it is still the process that started at `start`: 1 when sent.
int mml_kill_same(pid_t pid, unsigned long long start);

// ---- guardian.c: the guardian process ---------------------------------------------------------

/// Forks the guardian of the journal at `journal`, which keeps `lock_fd` (-1: none) open
/// until it ends: its pid with the controller's end of their socket in *sock, or -errno.
pid_t mml_guardian_start(const char *journal, int lock_fd, int *sock);
/// Tells the guardian `pid` on `sock` that the run restored the host, closes `sock`, and
/// waits (bounded) until the guardian is gone.
void mml_guardian_stop(int sock, pid_t pid);

// ---- channel.c: one message on a worker's socket --------------------------------------------

/// Sends buf (and data, when dlen > 0) as one message, with fd as SCM_RIGHTS when >= 0. 0 or -errno.
int mml_send_data(int sock, const void *buf, size_t len, const void *data, size_t dlen, int fd);
/// mml_send_data without a payload.
int mml_send(int sock, const void *buf, size_t len, int fd);
/// Receives one message; a passed fd goes to *fd (else -1). Returns the length or -errno.
ssize_t mml_recv(int sock, void *buf, size_t len, int *fd);

// ---- worker.c: the worker's state, its accesses, its loop and forking one ------------------

/// This worker's /proc/self/pagemap (-1 outside a worker).
extern int mml_pagemap;
/// The page size (set when a worker starts).
extern long mml_page;

/// Sets a failed reply: ret -1, err e.
void mml_fail(struct mml_reply *rp, int e);
/// A load of the first word of the page at `a`: 0, or the signal it raised.
int mml_load(uintptr_t a, uint64_t *out);
/// Fills the page at `a` with `token`: 0, or the signal the first faulting store raised.
int mml_store(uintptr_t a, uint64_t token);
/// mml_load into a reply: value, or the signal and its si_code.
void mml_do_load(uintptr_t a, struct mml_reply *rp);
/// mml_store into a reply: the signal and its si_code, if any.
void mml_do_store(uintptr_t a, uint64_t token, struct mml_reply *rp);
/// The /proc/self/pagemap word of the page at `a`; *err is 0 or the errno.
uint64_t mml_pagemap_word(uintptr_t a, int *err);
/// Forks a new worker connected by a fresh socketpair; see worker.c.
pid_t mml_fork_worker(int cpu, int stray_fd, int *sock);
/// The request loop of a worker; never returns.
void mml_worker_loop(void);

// ---- memory.c: the worker's operations on its address space --------------------------------

/// PROT_* of an enum mml_prot.
int mml_prot(uint64_t p);
/// MML_OP_MMAP: a mapping placed as the model places it.
void mml_do_mmap(const struct mml_request *rq, int fd, struct mml_reply *rp);
/// Makes the worker's own VMAs (outside the scenario's window) unmergeable again.
void mml_unmerge_own_vmas(void);
/// MML_OP_PROBE: the zero page's pagemap word and the soft-dirty word of a fresh write.
void mml_do_probe(struct mml_reply *rp);
/// MML_OP_CLEAR_REFS: writes `value` to /proc/self/clear_refs.
void mml_do_clear_refs(uint64_t value, struct mml_reply *rp);

// ---- pin.c: long-term pins through io_uring fixed buffers ------------------------------------

/// MML_OP_PIN: io_uring_setup() + IORING_REGISTER_BUFFERS of [address, address + length).
void mml_do_pin(uint64_t address, uint64_t length, struct mml_reply *rp);
/// MML_OP_UNPIN: IORING_UNREGISTER_BUFFERS and close of the ring.
void mml_do_unpin(uint64_t ring, struct mml_reply *rp);

// ---- jobs.c: job threads (statements that may sleep in userfaultfd) ------------------------

/// Maps the job stacks (once, in a worker the controller spawned; forked children inherit them).
void mml_stacks_init(void);
/// Starts the job threads (once per worker). 0 or -errno.
int mml_pool_start(void);
/// Starts the job threads if a fork left them due (mml_pool_forget); the loop calls it.
void mml_pool_start_if_due(void);
/// In a freshly forked worker: forgets the parent's job threads (they do not exist here).
void mml_pool_forget(void);
/// MML_OP_JOB_START: starts a job and waits (bounded) until it finished or sleeps.
void mml_job_start(const struct mml_request *rq, struct mml_reply *rp, int *reply_fd);
/// MML_OP_JOB_POLL: waits at most `wait_ms` more for job `id`.
void mml_job_poll(uint64_t id, int wait_ms, struct mml_reply *rp, int *reply_fd);

// ---- uffd.c: userfaultfd and PAGEMAP_SCAN ---------------------------------------------------

/// Maps the UFFDIO_COPY source buffer (once, like the job stacks).
void mml_copy_buf_init(void);
/// MML_OP_UFFD_CREATE: a userfaultfd with `features`, after UFFDIO_API.
void mml_do_uffd_create(uint64_t features, struct mml_reply *rp);
/// MML_OP_UFFD_IOCTL: one userfaultfd ioctl.
void mml_do_uffd_ioctl(const uint64_t *a, struct mml_reply *rp);
/// MML_OP_PAGEMAP_SCAN: the regions found become the reply's payload.
void mml_do_pagemap_scan(const uint64_t *a, struct mml_reply *rp, const void **payload, size_t *payload_len);

#endif // __linux__

#endif
