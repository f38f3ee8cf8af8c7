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
