// SPDX-License-Identifier: Apache-2.0
//
// Long-term GUP pins in the worker, taken the way io_uring takes them for fixed buffers:
// io_uring_setup() of a one-entry ring, then IORING_REGISTER_BUFFERS of one iovec, which
// pins every page with pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) or none
// (io_uring/rsrc.c io_sqe_buffer_register() → io_pin_pages()). MML_OP_PIN replies with the
// ring's fd, the pin's handle; MML_OP_UNPIN unregisters the buffers and closes the ring.
// Raw system calls: no liburing.

#include "internal.h"

#if defined(__linux__)

#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif
/// IORING_REGISTER_BUFFERS and IORING_UNREGISTER_BUFFERS (include/uapi/linux/io_uring.h).
#define MML_IORING_REGISTER_BUFFERS 0
#define MML_IORING_UNREGISTER_BUFFERS 1
/// sizeof(struct io_uring_params): 120 bytes, zeroed (the kernel rejects non-zero reserved fields).
#define MML_IO_URING_PARAMS_SIZE 120

/// MML_OP_PIN: arg: address, length. ret = the ring's fd, or -1 with the errno of
/// io_uring_setup() or of the registration (EFAULT when a page cannot be pinned).
void mml_do_pin(uint64_t address, uint64_t length, struct mml_reply *rp)
{
	unsigned char params[MML_IO_URING_PARAMS_SIZE];
	memset(params, 0, sizeof params);
	long ring = syscall(__NR_io_uring_setup, 1, params);
	if (ring < 0) {
		rp->ret = -1;
		rp->err = errno;
		return;
	}
	struct iovec iov = { .iov_base = (void *)(uintptr_t)address, .iov_len = (size_t)length };
	long r = syscall(__NR_io_uring_register, (int)ring, MML_IORING_REGISTER_BUFFERS, &iov, 1);
	if (r < 0) {
		int e = errno;
		close((int)ring);
		rp->ret = -1;
		rp->err = e;
		return;
	}
	rp->ret = ring;
	rp->err = 0;
}

/// MML_OP_UNPIN: arg: the ring's fd. Unregisters its buffers (unpin_user_pages()) and closes it.
void mml_do_unpin(uint64_t ring, struct mml_reply *rp)
{
	long r = syscall(__NR_io_uring_register, (int)ring, MML_IORING_UNREGISTER_BUFFERS, NULL, 0);
	int e = r < 0 ? errno : 0;
	close((int)ring);
	rp->ret = r < 0 ? -1 : 0;
	rp->err = e;
}

#endif // __linux__
