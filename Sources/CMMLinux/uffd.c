// SPDX-License-Identifier: Apache-2.0
//
// The worker's userfaultfd and PAGEMAP_SCAN ioctls (include/uapi/linux/userfaultfd.h,
// fs.h): creating a userfaultfd (MML_OP_UFFD_CREATE), the UFFDIO_* ioctls with their copy
// source buffer (MML_OP_UFFD_IOCTL), and PAGEMAP_SCAN on the worker's pagemap.

#include "internal.h"

#if defined(__linux__)

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MML_USERFAULTFD_IOC_NEW 0xAA00UL
#define MML_UFFDIO_API 0xC018AA3FUL
#define MML_UFFDIO_REGISTER 0xC020AA00UL
#define MML_UFFDIO_UNREGISTER 0x8010AA01UL
#define MML_UFFDIO_WAKE 0x8010AA02UL
#define MML_UFFDIO_COPY 0xC028AA03UL
#define MML_UFFDIO_ZEROPAGE 0xC020AA04UL
#define MML_UFFDIO_WRITEPROTECT 0xC018AA06UL
#define MML_UFFDIO_CONTINUE 0xC020AA07UL
#define MML_UFFDIO_POISON 0xC020AA08UL
#define MML_PAGEMAP_SCAN 0xC0606610UL
#define MML_SYS_userfaultfd 323
/// The copy source buffer (UFFDIO_COPY) mapped at start-up; larger copies map one for the call.
#define MML_COPY_BUF (1UL << 20)

static char *mml_copy_buf;

/// Maps the UFFDIO_COPY source buffer (once, like the job stacks; forked children inherit it).
void mml_copy_buf_init(void)
{
	char *c = mmap(NULL, MML_COPY_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c != MAP_FAILED)
		mml_copy_buf = c;
}

/// MML_OP_UFFD_CREATE: userfaultfd(O_NONBLOCK|O_CLOEXEC) + UFFDIO_API with `features`.
void mml_do_uffd_create(uint64_t features, struct mml_reply *rp)
{
	// The job threads exist before anything can sleep in this userfaultfd.
	int e = mml_pool_start();
	if (e)
		return mml_fail(rp, -e);
	int fd = -1;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, MML_USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
	}
	if (fd < 0)
		fd = (int)syscall(MML_SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return mml_fail(rp, errno);
	struct {
		uint64_t api, features, ioctls;
	} api = { 0xAA, features, 0 };
	if (ioctl(fd, MML_UFFDIO_API, &api)) {
		e = errno;
		close(fd);
		return mml_fail(rp, e);
	}
	rp->ret = fd;
	rp->value = api.features;
}

/// UFFDIO_ZEROPAGE, UFFDIO_CONTINUE or UFFDIO_POISON (one layout: range, mode, bytes done):
/// the ioctl's result, with the bytes done in rp->value.
static long mml_uffd_fill(int fd, unsigned long nr, uint64_t start, uint64_t len, uint64_t mode,
			  struct mml_reply *rp)
{
	struct { uint64_t start, len, mode; int64_t done; } x = { start, len, mode, 0 };
	long r = ioctl(fd, nr, &x);
	rp->value = (uint64_t)x.done;
	return r;
}

/// MML_OP_UFFD_IOCTL: one UFFDIO_* ioctl, the MML_UFFD_F_* flags turned into its mode bits.
void mml_do_uffd_ioctl(const uint64_t *a, struct mml_reply *rp)
{
	int fd = (int)a[0];
	uint64_t start = a[2], len = a[3], fl = a[4], token = a[5];
	uint64_t dontwake = fl & MML_UFFD_F_DONTWAKE ? 1 : 0, wp = fl & MML_UFFD_F_WP ? 1 : 0;
	long r;
	switch (a[1]) {
	case MML_UFFD_REGISTER: {
		struct { uint64_t start, len, mode, ioctls; } x = { start, len, fl, 0 };
		r = ioctl(fd, MML_UFFDIO_REGISTER, &x);
		rp->value = x.ioctls;
		break;
	}
	case MML_UFFD_UNREGISTER: {
		struct { uint64_t start, len; } x = { start, len };
		r = ioctl(fd, MML_UFFDIO_UNREGISTER, &x);
		break;
	}
	case MML_UFFD_WAKE: {
		struct { uint64_t start, len; } x = { start, len };
		r = ioctl(fd, MML_UFFDIO_WAKE, &x);
		break;
	}
	case MML_UFFD_WRITEPROTECT: {
		struct { uint64_t start, len, mode; } x = { start, len, wp | dontwake << 1 };
		r = ioctl(fd, MML_UFFDIO_WRITEPROTECT, &x);
		break;
	}
	case MML_UFFD_COPY: {
		char *src = mml_copy_buf;
		int mapped = 0;
		if (len > MML_COPY_BUF || !src) {
			src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (src == MAP_FAILED)
				return mml_fail(rp, errno);
			mapped = 1;
		}
		for (uint64_t off = 0, i = 0; off < len; off += (uint64_t)mml_page, i++) {
			uint64_t t = fl & MML_UFFD_F_SEQ ? token + i : token;
			uint64_t *w = (uint64_t *)(src + off);
			for (uint64_t k = 0; k < (uint64_t)mml_page / 8 && off + k * 8 < len; k++)
				w[k] = t;
		}
		struct { uint64_t dst, src, len, mode; int64_t copy; } x = { start, (uint64_t)(uintptr_t)src, len,
									     dontwake | wp << 1, 0 };
		r = ioctl(fd, MML_UFFDIO_COPY, &x);
		int e = errno;
		rp->value = (uint64_t)x.copy;
		if (mapped)
			munmap(src, len);
		errno = e;
		break;
	}
	case MML_UFFD_ZEROPAGE:
		r = mml_uffd_fill(fd, MML_UFFDIO_ZEROPAGE, start, len, dontwake, rp);
		break;
	case MML_UFFD_CONTINUE:
		r = mml_uffd_fill(fd, MML_UFFDIO_CONTINUE, start, len, dontwake | wp << 1, rp);
		break;
	case MML_UFFD_POISON:
		r = mml_uffd_fill(fd, MML_UFFDIO_POISON, start, len, dontwake, rp);
		break;
	default:
		return mml_fail(rp, ENOSYS);
	}
	rp->ret = r < 0 ? -1 : 0;
	rp->err = r < 0 ? errno : 0;
}

/// struct page_region (include/uapi/linux/fs.h).
struct mml_page_region {
	uint64_t start, end, categories;
};
static struct mml_page_region mml_regions[MML_SCAN_MAX_REGIONS];

/// MML_OP_PAGEMAP_SCAN into mml_regions: the number of regions in rp->ret, walk_end in
/// rp->value, the regions as the reply's payload.
void mml_do_pagemap_scan(const uint64_t *a, struct mml_reply *rp, const void **payload, size_t *payload_len)
{
	struct {
		uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
			category_anyof_mask, return_mask;
	} x = { 96, a[2], a[0], a[1], 0, (uint64_t)(uintptr_t)mml_regions, MML_SCAN_MAX_REGIONS, a[4],
		a[3] & 0xffff, (a[3] >> 16) & 0xffff, (a[3] >> 32) & 0xffff, (a[3] >> 48) & 0xffff };
	long n = ioctl(mml_pagemap, MML_PAGEMAP_SCAN, &x);
	if (n < 0)
		return mml_fail(rp, errno);
	rp->ret = n;
	rp->value = x.walk_end;
	if (n > 0) {
		*payload = mml_regions;
		*payload_len = (size_t)n * sizeof mml_regions[0];
	}
}

#endif // __linux__
