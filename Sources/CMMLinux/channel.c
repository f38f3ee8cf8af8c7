// SPDX-License-Identifier: Apache-2.0
//
// The protocol's messages on a worker's SOCK_SEQPACKET socket: one mml_request or mml_reply
// per message, optionally followed by a payload, with a file descriptor as SCM_RIGHTS. Both
// sides use it: the worker's loop, and the controller's bounded call (mml_call, mml_call_data).

#include "internal.h"

#if defined(__linux__)

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/// Points *m at buf and, when there is one, the payload (data, dlen) through iov[2]; no control data yet.
static void mml_msg_init(struct msghdr *m, struct iovec *iov, void *buf, size_t len, void *data, size_t dlen)
{
	iov[0].iov_base = buf;
	iov[0].iov_len = len;
	iov[1].iov_base = data;
	iov[1].iov_len = dlen;
	memset(m, 0, sizeof *m);
	m->msg_iov = iov;
	m->msg_iovlen = data && dlen ? 2 : 1;
}

/// Sends buf (and data, when dlen > 0) as one message, with fd as SCM_RIGHTS when >= 0. 0 or -errno.
int mml_send_data(int sock, const void *buf, size_t len, const void *data, size_t dlen, int fd)
{
	struct iovec iov[2];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m;
	mml_msg_init(&m, iov, (void *)buf, len, (void *)data, dlen);
	if (fd >= 0) {
		memset(&u, 0, sizeof u);
		m.msg_control = u.buf;
		m.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do {
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(len + dlen) ? 0 : -EPROTO;
}

/// mml_send_data without a payload.
int mml_send(int sock, const void *buf, size_t len, int fd)
{
	return mml_send_data(sock, buf, len, NULL, 0, fd);
}

/// Receives one message; a passed fd goes to *fd (else -1). Returns the length or -errno.
static ssize_t mml_recv_data(int sock, void *buf, size_t len, void *data, size_t dlen, int *fd)
{
	struct iovec iov[2];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m;
	mml_msg_init(&m, iov, buf, len, data, dlen);
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	ssize_t n;
	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	*fd = -1;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/// mml_recv_data without a payload.
ssize_t mml_recv(int sock, void *buf, size_t len, int *fd)
{
	return mml_recv_data(sock, buf, len, NULL, 0, fd);
}

/// The controller's call without a payload in the reply (see the header).
int mml_call(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
	     int timeout_ms)
{
	return mml_call_data(sock, rq, send_fd, rp, recv_fd, NULL, 0, NULL, timeout_ms);
}

/// Sends a request and waits at most `timeout_ms` for its reply and payload (see the header).
int mml_call_data(int sock, const struct mml_request *rq, int send_fd, struct mml_reply *rp, int *recv_fd,
		  void *data, int data_len, int *data_got, int timeout_ms)
{
	int fd = -1;
	if (data_got)
		*data_got = 0;
	if (recv_fd)
		*recv_fd = -1;
	int r = mml_send(sock, rq, sizeof *rq, send_fd);
	if (r)
		return r;
	long deadline = mml_now_ms() + timeout_ms;
	for (;;) {
		long left = deadline - mml_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { sock, POLLIN, 0 };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		break;
	}
	ssize_t n = mml_recv_data(sock, rp, sizeof *rp, data, data && data_len > 0 ? (size_t)data_len : 0, &fd);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if (n > (ssize_t)sizeof *rp && data_got)
		*data_got = (int)(n - (ssize_t)sizeof *rp);
	else if (n != (ssize_t)sizeof *rp) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	if (recv_fd)
		*recv_fd = fd;
	else if (fd >= 0)
		close(fd);
	return 0;
}

#endif // __linux__
