// SPDX-License-Identifier: Apache-2.0
//
// The host record of a live run (what it changed on the host) and its journal: the same
// record as restore steps in a text file under /var/tmp, written before each change and
// removed after a complete restore, so that the host can be given back after the
// controller died without running a handler (SIGKILL, the OOM killer): by the guardian
// (host.c) or by the next live run. This file builds, formats, stores, reads and checks
// journals; host.c runs them. Everything here that a restore uses is async-signal-safe
// (no malloc, no stdio): the signal handler and the guardian call it.
//
// The format (one step a line, in the order to restore):
//
//     mmlab-host-journal 1
//     owner PID START BOOT-ID
//     guardian PID START
//     worker PID START                     every worker, killed first
//     swap /var/tmp/mmlab-live-swap.P.N    newest first: swapoff, then delete
//     ksm run 2                            when the run may unmerge everything
//     ksm NAME OLD                         the knobs in the reverse of the order set, run last
//     sysctl NAME OLD                      e.g. vm.page-cluster, newest first
//     end
//
// START is a process's start time (field 22 of /proc/PID/stat), so that a pid reused by
// another process is never killed or mistaken for the owner; BOOT-ID tells a journal of an
// earlier boot (whose pids mean nothing, and whose settings the reboot reset).

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <stdio.h>	// rename(2)
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MML_JOURNAL_MAGIC "mmlab-host-journal 1"
#define MML_SWAP_NAME "/mmlab-live-swap."

// ---- what a journal may hold ----------------------------------------------------------------

/// Whether every character of s is a lower-case letter, a digit or in `extra`, and its
/// length is 1 to max.
static int mml_is_word(const char *s, int max, const char *extra)
{
	int n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c)))
			return 0;
	}
	return n >= 1 && n <= max;
}

/// A KSM knob: a file name under /sys/kernel/mm/ksm.
int mml_valid_knob(const char *name)
{
	return mml_is_word(name, 31, "_");
}

/// A sysctl as `sysctl -n` names it (vm.page-cluster): no empty component, no slash.
int mml_valid_sysctl(const char *name)
{
	if (!mml_is_word(name, 63, "_-.") || name[0] == '.' || name[strlen(name) - 1] == '.')
		return 0;
	return strstr(name, "..") == NULL;
}

/// A value: 1 to 63 printable characters without spaces.
int mml_valid_value(const char *value)
{
	int n = 0;
	for (; value[n]; n++)
		if (value[n] <= ' ' || value[n] > '~')
			return 0;
	return n >= 1 && n <= 63;
}

/// The length of the directory part of path (up to its last '/'), or -1.
static int mml_dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? (int)(slash - path) : -1;
}

/// Whether path is DIR/mmlab-live-swap.DIGITS.DIGITS, DIR being the journal's directory:
/// a journal can only ever delete the swap files of live runs.
int mml_journal_swap_path_ok(const char *journal, const char *path)
{
	int d = mml_dir_len(journal);
	size_t name = strlen(MML_SWAP_NAME);
	if (d < 0 || strlen(path) >= 256 || strncmp(path, journal, (size_t)d) || strncmp(path + d, MML_SWAP_NAME, name))
		return 0;
	const char *p = path + d + name;
	int digits = 0, dots = 0;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			digits++;
		} else if (*p == '.' && digits > 0 && dots == 0) {
			dots = 1;
			digits = 0;
		} else {
			return 0;
		}
	}
	return dots == 1 && digits > 0;
}

// ---- the record -----------------------------------------------------------------------------

/// Empties a record; the workers too when `workers`.
void mml_record_clear(struct mml_host_record *r, int workers)
{
	r->nswaps = 0;
	r->nksm = 0;
	r->ksm_unmerge = 0;
	r->nsysctl = 0;
	if (workers)
		for (int i = 0; i < MML_MAX_WORKERS; i++)
			r->workers[i] = 0;
}

/// Records a worker with its start time: 0, -ESRCH when it is gone, -ENOSPC when full.
int mml_record_add_worker(struct mml_host_record *r, pid_t pid)
{
	unsigned long long start = mml_proc_start(pid, NULL);
	if (!start)
		return -ESRCH;
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (r->workers[i] == 0) {
			r->worker_start[i] = start;
			r->workers[i] = pid;
			return 0;
		}
	return -ENOSPC;
}

/// Forgets a worker.
void mml_record_forget_worker(struct mml_host_record *r, pid_t pid)
{
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (r->workers[i] == pid)
			r->workers[i] = 0;
}

/// Records a swap file (before it is made): 0, -EINVAL, -ENOSPC.
int mml_record_add_swap(struct mml_host_record *r, const char *path)
{
	if (strlen(path) >= sizeof r->swap_path[0] || strchr(path, ' ') || strchr(path, '\n'))
		return -EINVAL;
	if (r->nswaps >= MML_MAX_SWAPS)
		return -ENOSPC;
	memcpy(r->swap_path[r->nswaps], path, strlen(path) + 1);
	r->nswaps++;
	return 0;
}

/// Removes the last swap file recorded.
void mml_record_drop_last_swap(struct mml_host_record *r)
{
	if (r->nswaps > 0)
		r->nswaps--;
}

/// Whether the record holds KSM knob `name`.
int mml_record_has_ksm(const struct mml_host_record *r, const char *name)
{
	for (int i = 0; i < r->nksm; i++)
		if (!strcmp(r->ksm_name[i], name))
			return 1;
	return 0;
}

/// Whether the record holds sysctl `name`.
int mml_record_has_sysctl(const struct mml_host_record *r, const char *name)
{
	for (int i = 0; i < r->nsysctl; i++)
		if (!strcmp(r->sysctl_name[i], name))
			return 1;
	return 0;
}

/// Records a KSM knob's old value, the first time: 0 added, 1 known already, -EINVAL, -ENOSPC.
int mml_record_add_ksm(struct mml_host_record *r, const char *name, const char *old)
{
	if (!mml_valid_knob(name) || !mml_valid_value(old))
		return -EINVAL;
	if (mml_record_has_ksm(r, name))
		return 1;
	if (r->nksm >= MML_MAX_KSM_KNOBS)
		return -ENOSPC;
	memcpy(r->ksm_name[r->nksm], name, strlen(name) + 1);
	memcpy(r->ksm_old[r->nksm], old, strlen(old) + 1);
	r->nksm++;
	return 0;
}

/// Records a sysctl's old value, the first time: 0 added, 1 known already, -EINVAL, -ENOSPC.
int mml_record_add_sysctl(struct mml_host_record *r, const char *name, const char *old)
{
	if (!mml_valid_sysctl(name) || !mml_valid_value(old))
		return -EINVAL;
	if (mml_record_has_sysctl(r, name))
		return 1;
	if (r->nsysctl >= MML_MAX_SYSCTLS)
		return -ENOSPC;
	memcpy(r->sysctl_name[r->nsysctl], name, strlen(name) + 1);
	memcpy(r->sysctl_old[r->nsysctl], old, strlen(old) + 1);
	r->nsysctl++;
	return 0;
}

/// Whether the restore unmerges everything (run=2) before the knobs go back.
void mml_record_set_unmerge(struct mml_host_record *r, int on)
{
	r->ksm_unmerge = on;
}

/// Sets step `s` (its strings cut to fit).
static void mml_set_step(struct mml_step *s, enum mml_step_kind kind, const char *name, const char *value)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	if (name) {
		size_t n = strlen(name);
		memcpy(s->name, name, n < sizeof s->name ? n : sizeof s->name - 1);
	}
	if (value) {
		size_t n = strlen(value);
		memcpy(s->value, value, n < sizeof s->value ? n : sizeof s->value - 1);
	}
}

/// The restore steps of a record, in the order to run them: kill every worker (nothing
/// may use the swap or KSM any more); turn off and delete the swap files, newest first;
/// unmerge everything (run=2) when the run may; the KSM knobs in the reverse of the order
/// first set, `run` last (nothing scans while the others go back); the sysctls, newest first.
void mml_record_steps(const struct mml_host_record *r, struct mml_journal *j)
{
	j->owner = r->owner;
	j->owner_start = r->owner_start;
	memcpy(j->boot_id, r->boot_id, sizeof j->boot_id);
	j->guardian = r->guardian;
	j->guardian_start = r->guardian_start;
	int n = 0;
	for (int i = 0; i < MML_MAX_WORKERS; i++)
		if (r->workers[i] > 0) {
			mml_set_step(&j->step[n], MML_STEP_WORKER, NULL, NULL);
			j->step[n].pid = r->workers[i];
			j->step[n++].start = r->worker_start[i];
		}
	for (int i = r->nswaps - 1; i >= 0; i--)
		mml_set_step(&j->step[n++], MML_STEP_SWAP, NULL, r->swap_path[i]);
	if (r->nksm > 0) {
		if (r->ksm_unmerge)
			mml_set_step(&j->step[n++], MML_STEP_KSM, "run", "2");
		int run = -1;
		for (int i = r->nksm - 1; i >= 0; i--) {
			if (!strcmp(r->ksm_name[i], "run"))
				run = i;
			else
				mml_set_step(&j->step[n++], MML_STEP_KSM, r->ksm_name[i], r->ksm_old[i]);
		}
		if (run >= 0)
			mml_set_step(&j->step[n++], MML_STEP_KSM, "run", r->ksm_old[run]);
	}
	for (int i = r->nsysctl - 1; i >= 0; i--)
		mml_set_step(&j->step[n++], MML_STEP_SYSCTL, r->sysctl_name[i], r->sysctl_old[i]);
	j->nsteps = n;
}

// ---- the text -------------------------------------------------------------------------------

/// The journal's text into buf: its length, or -ENOSPC.
int mml_journal_format(const struct mml_journal *j, char *buf, int len)
{
	struct mml_text t = { buf, 0, len, 0 };
	mml_put(&t, MML_JOURNAL_MAGIC "\nowner ");
	mml_put_u(&t, (unsigned long long)j->owner);
	mml_put(&t, " ");
	mml_put_u(&t, j->owner_start);
	mml_put(&t, " ");
	mml_put(&t, j->boot_id[0] ? j->boot_id : "-");
	mml_put(&t, "\nguardian ");
	mml_put_u(&t, (unsigned long long)(j->guardian > 0 ? j->guardian : 0));
	mml_put(&t, " ");
	mml_put_u(&t, j->guardian > 0 ? j->guardian_start : 0);
	mml_put(&t, "\n");
	for (int i = 0; i < j->nsteps; i++) {
		const struct mml_step *s = &j->step[i];
		switch (s->kind) {
		case MML_STEP_WORKER:
			mml_put(&t, "worker ");
			mml_put_u(&t, (unsigned long long)s->pid);
			mml_put(&t, " ");
			mml_put_u(&t, s->start);
			break;
		case MML_STEP_SWAP:
			mml_put(&t, "swap ");
			mml_put(&t, s->value);
			break;
		case MML_STEP_KSM:
		case MML_STEP_SYSCTL:
			mml_put(&t, s->kind == MML_STEP_KSM ? "ksm " : "sysctl ");
			mml_put(&t, s->name);
			mml_put(&t, " ");
			mml_put(&t, s->value);
			break;
		}
		mml_put(&t, "\n");
	}
	mml_put(&t, "end\n");
	return t.cut ? -ENOSPC : t.len;
}

/// path + ".tmp" into out (300 bytes): 0 or -ENAMETOOLONG.
static int mml_temp_path(const char *path, char *out)
{
	size_t n = strlen(path);
	if (n + 5 > 300)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	memcpy(out + n, ".tmp", 5);
	return 0;
}

/// fsync(2) of the directory that holds path: 0 or -errno.
static int mml_sync_dir(const char *path)
{
	char dir[300];
	int d = mml_dir_len(path);
	if (d < 0 || d >= (int)sizeof dir)
		return -EINVAL;
	memcpy(dir, path, (size_t)d);
	dir[d > 0 ? d : 1] = 0;
	if (d == 0)
		dir[0] = '/';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) ? -errno : 0;
	close(fd);
	return r;
}

/// Writes the journal through PATH.tmp and rename(2) (see internal.h). 0 or -errno.
int mml_journal_store(const char *path, const char *text, int len, int durable)
{
	char tmp[300];
	int r = mml_temp_path(path, tmp);
	if (r)
		return r;
	// O_EXCL | O_NOFOLLOW: never write through a file or link someone else left there.
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (int done = 0; done < len;) {
		ssize_t n = write(fd, text + done, (size_t)(len - done));
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += (int)n;
	}
	if (!r && durable && fsync(fd))
		r = -errno;
	close(fd);
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	return durable ? mml_sync_dir(path) : 0;
}

/// Removes the journal and its temporary file (see internal.h). 0 or -errno.
int mml_journal_remove(const char *path, int durable)
{
	char tmp[300];
	if (!mml_temp_path(path, tmp))
		unlink(tmp);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return durable ? mml_sync_dir(path) : 0;
}

/// Sets why to "line N: what" (or just `what` when line is 0) and returns -EINVAL.
static int mml_bad(char *why, int wlen, int line, const char *what, const char *found)
{
	struct mml_text t = { why, 0, wlen, 0 };
	if (line > 0) {
		mml_put(&t, "line ");
		mml_put_u(&t, (unsigned long long)line);
		mml_put(&t, ": ");
	}
	mml_put(&t, what);
	if (found) {
		mml_put(&t, ", found '");
		char cut[80];
		int n = 0;
		while (found[n] && found[n] != '\n' && n < 79) {
			cut[n] = found[n] >= ' ' && found[n] <= '~' ? found[n] : '?';
			n++;
		}
		cut[n] = 0;
		mml_put(&t, cut);
		mml_put(&t, "'");
	}
	return -EINVAL;
}

/// Splits the line at s (up to '\n') into at most 5 space-separated words, each copied into
/// w[i] (256 bytes): the number of words, or -1 when one is too long or there are more.
static int mml_words(const char *s, char w[5][256])
{
	int n = 0;
	while (*s && *s != '\n') {
		if (*s == ' ')
			return -1;	// an empty word
		if (n == 5)
			return -1;
		int k = 0;
		while (*s && *s != '\n' && *s != ' ') {
			if (k == 255)
				return -1;
			w[n][k++] = *s++;
		}
		w[n++][k] = 0;
		if (*s == ' ') {
			s++;
			if (!*s || *s == '\n')
				return -1;	// a trailing space
		}
	}
	return n;
}

/// A decimal number of at most 19 digits into *v: 1, or 0.
static int mml_number(const char *s, unsigned long long *v)
{
	int n = 0;
	unsigned long long x = 0;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n == 19)
			return 0;
		x = x * 10 + (unsigned long long)(s[n] - '0');
	}
	*v = x;
	return n > 0;
}

/// A pid and a start time from two words: 1, or 0.
static int mml_pid_start(const char *p, const char *s, pid_t *pid, unsigned long long *start, int zero_ok)
{
	unsigned long long v;
	if (!mml_number(p, &v) || v > 4194304 || (v == 0 && !zero_ok) || !mml_number(s, start))
		return 0;
	*pid = (pid_t)v;
	return 1;
}

/// Parses and checks a journal's text (see the top of this file): 0, or -EINVAL with why.
static int mml_journal_parse(const char *journal, const char *text, struct mml_journal *j, char *why, int wlen)
{
	static char w[5][256];
	memset(j, 0, offsetof(struct mml_journal, step));	// the steps are filled as they are read
	const char *line = text;
	int number = 0, ended = 0;
	while (*line) {
		number++;
		const char *next = strchr(line, '\n');
		if (!next)
			return mml_bad(why, wlen, number, "the line does not end (the journal is cut off)", line);
		if (ended)
			return mml_bad(why, wlen, number, "nothing may follow 'end'", line);
		int n = mml_words(line, w);
		if (n < 1)
			return mml_bad(why, wlen, number, "expected words separated by single spaces", line);
		if (number == 1) {
			if (n != 2 || strcmp(w[0], "mmlab-host-journal") || strcmp(w[1], "1"))
				return mml_bad(why, wlen, 1, "expected '" MML_JOURNAL_MAGIC "'", line);
		} else if (number == 2) {
			if (n != 4 || strcmp(w[0], "owner") || !mml_pid_start(w[1], w[2], &j->owner, &j->owner_start, 0))
				return mml_bad(why, wlen, 2, "expected 'owner PID START BOOT-ID'", line);
			if (!mml_is_word(w[3], 39, "-"))
				return mml_bad(why, wlen, 2, "expected a boot id", line);
			memcpy(j->boot_id, w[3], strlen(w[3]) + 1);
		} else if (number == 3) {
			if (n != 3 || strcmp(w[0], "guardian") || !mml_pid_start(w[1], w[2], &j->guardian, &j->guardian_start, 1))
				return mml_bad(why, wlen, 3, "expected 'guardian PID START'", line);
		} else if (n == 1 && !strcmp(w[0], "end")) {
			ended = 1;
		} else {
			if (j->nsteps >= MML_MAX_STEPS)
				return mml_bad(why, wlen, number, "too many steps", line);
			struct mml_step *s = &j->step[j->nsteps];
			if (!strcmp(w[0], "worker")) {
				if (n != 3)
					return mml_bad(why, wlen, number, "expected 'worker PID START'", line);
				mml_set_step(s, MML_STEP_WORKER, NULL, NULL);
				if (!mml_pid_start(w[1], w[2], &s->pid, &s->start, 0))
					return mml_bad(why, wlen, number, "expected 'worker PID START'", line);
			} else if (!strcmp(w[0], "swap")) {
				if (n != 2 || !mml_journal_swap_path_ok(journal, w[1]))
					return mml_bad(why, wlen, number,
						       "expected 'swap PATH' with a live run's swap file beside the journal "
						       "(mmlab-live-swap.PID.N)", line);
				mml_set_step(s, MML_STEP_SWAP, NULL, w[1]);
			} else if (!strcmp(w[0], "ksm") || !strcmp(w[0], "sysctl")) {
				int ksm = w[0][0] == 'k';
				if (n != 3 || !(ksm ? mml_valid_knob(w[1]) : mml_valid_sysctl(w[1])) || !mml_valid_value(w[2]))
					return mml_bad(why, wlen, number,
						       ksm ? "expected 'ksm KNOB VALUE'" : "expected 'sysctl NAME VALUE'", line);
				mml_set_step(s, ksm ? MML_STEP_KSM : MML_STEP_SYSCTL, w[1], w[2]);
			} else {
				return mml_bad(why, wlen, number, "expected worker, swap, ksm, sysctl or end", line);
			}
			j->nsteps++;
		}
		line = next + 1;
	}
	if (number < 3)
		return mml_bad(why, wlen, 0, "the journal is cut off before its owner and guardian lines", NULL);
	if (!ended)
		return mml_bad(why, wlen, 0, "the journal is cut off (no 'end' line)", NULL);
	return 0;
}

/// Reads and checks the journal (see internal.h): 1, 0 when there is none, or -errno.
int mml_journal_load(const char *path, struct mml_journal *j, char *why, int wlen)
{
	static char text[MML_JOURNAL_BYTES + 1];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		mml_bad(why, wlen, 0, e == ELOOP ? "it is a symbolic link" : "it cannot be opened", NULL);
		return e == ELOOP ? -EINVAL : -e;
	}
	struct stat st;
	const char *wrong = NULL;
	if (fstat(fd, &st))
		wrong = "it cannot be examined";
	else if (!S_ISREG(st.st_mode))
		wrong = "it is not a regular file";
	else if (st.st_uid != geteuid())
		wrong = "it belongs to another user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		wrong = "others may write it";
	else if (st.st_size > MML_JOURNAL_BYTES)
		wrong = "it is too large";
	int len = 0;
	while (!wrong) {
		ssize_t n = read(fd, text + len, (size_t)(MML_JOURNAL_BYTES - len));
		if (n < 0)
			wrong = "it cannot be read";
		if (n <= 0)
			break;
		len += (int)n;
	}
	close(fd);
	if (wrong)
		return mml_bad(why, wlen, 0, wrong, NULL);
	text[len] = 0;
	if ((int)strlen(text) != len)
		return mml_bad(why, wlen, 0, "it holds a NUL byte", NULL);
	int r = mml_journal_parse(path, text, j, why, wlen);
	return r ? r : 1;
}

// ---- the unit tests' entry points (see the header) ------------------------------------------

/// A new, empty record with an owner and a guardian (their start times read from /proc).
struct mml_host_record *mml_record_create(pid_t owner, pid_t guardian)
{
	struct mml_host_record *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->owner = owner;
	r->owner_start = mml_proc_start(owner, NULL);
	mml_boot_id(r->boot_id);
	r->guardian = guardian;
	r->guardian_start = guardian > 0 ? mml_proc_start(guardian, NULL) : 0;
	return r;
}

/// Frees a record of mml_record_create.
void mml_record_destroy(struct mml_host_record *r)
{
	free(r);
}

/// Writes the record's journal to `path` (see mml_journal_store). 0 or -errno.
int mml_record_write(const struct mml_host_record *r, const char *path, int durable)
{
	static struct mml_journal j;
	static char text[MML_JOURNAL_BYTES];
	mml_record_steps(r, &j);
	int len = mml_journal_format(&j, text, sizeof text);
	return len < 0 ? len : mml_journal_store(path, text, len, durable);
}

/// The checked journal at `path` as its lines without the first and the last (see the header).
int mml_journal_read(const char *path, char *lines, int len, char *why, int wlen)
{
	static struct mml_journal j;
	static char text[MML_JOURNAL_BYTES];
	if (wlen > 0)
		why[0] = 0;
	int r = mml_journal_load(path, &j, why, wlen);
	if (r <= 0)
		return r;
	int n = mml_journal_format(&j, text, sizeof text);
	if (n < 0)
		return n;
	// Drop the first line (the magic) and the last ("end\n").
	const char *body = strchr(text, '\n') + 1;
	int blen = n - (int)(body - text) - 4;
	if (blen + 1 > len)
		return -ENOSPC;
	memcpy(lines, body, (size_t)blen);
	lines[blen] = 0;
	return blen;
}

#endif // __linux__
