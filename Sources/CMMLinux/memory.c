// SPDX-License-Identifier: Apache-2.0
//
// The worker's operations on its own address space beyond a single access: placing a
// mapping as the model places it (MML_OP_MMAP), making the worker's own VMAs unmergeable
// after PR_SET_MEMORY_MERGE, the probe of the zero page and soft-dirty (MML_OP_PROBE), and
// /proc/self/clear_refs.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

/// The 2 MiB grid mappings are placed on (PMD size on x86-64).
#define MML_PMD (2UL << 20)
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
/// Where the next mapping's reservation is tried (16 TiB: far from the program, its heap
/// and the top-down mmap area of libraries and stacks). Inherited by forked workers.
#define MML_MAP_BASE 0x100000000000UL
static uintptr_t mml_map_cursor = MML_MAP_BASE;

/// PROT_* of an enum mml_prot.
int mml_prot(uint64_t p)
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

/// /proc/self/maps, read into a static buffer (the worker does not allocate).
static char mml_maps_buf[1 << 20];

/// After prctl(PR_SET_MEMORY_MERGE, 1) every compatible VMA of the worker is mergeable: the
/// scenario's, and also the worker's own (the controller's image it was forked from, libc,
/// its stacks), which the model does not have and whose pages would merge and count. This
/// makes every VMA outside the scenario's window [first reservation, mml_map_cursor)
/// unmergeable again (MADV_UNMERGEABLE, errors ignored), reading /proc/self/maps without
/// allocating (the worker is a fork of a multi-threaded process).
void mml_unmerge_own_vmas(void)
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

/// Places a mapping as the model does: on a 2 MiB boundary; `align` >= 2 MiB (a power of
/// two) on a multiple of it; a smaller `align` exactly that many bytes past a 2 MiB
/// boundary. A PROT_NONE reservation with 2 MiB of slack on both sides is taken first and
/// its slack given back afterwards, so no two mappings are ever closer than 2 MiB (they
/// never merge).
void mml_do_mmap(const struct mml_request *rq, int fd, struct mml_reply *rp)
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
	// The offset goes to the kernel for anonymous memory too: sys_mmap() checks its alignment.
	void *p = mmap((void *)a, len, mml_prot(prot), flags, fd, (off_t)off);
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

/// MML_OP_PROBE: the zero page's pagemap word in value, the soft-dirty word of a fresh write in value2.
void mml_do_probe(struct mml_reply *rp)
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

/// MML_OP_CLEAR_REFS: writes `value` to /proc/self/clear_refs.
void mml_do_clear_refs(uint64_t value, struct mml_reply *rp)
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

#endif // __linux__
