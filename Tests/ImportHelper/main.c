// SPDX-License-Identifier: Apache-2.0
//
// A process with a known memory layout for the test of `mmlab import`
// (Tests/MMLiveTests/ImportTests.swift). Inside one reserved range of 64 pages:
//   +0p   8 pages private anonymous rw: pages 0-3 written, page 4 read (the zero page)
//   +16p  a memfd of 4 pages mapped shared rw: pages 0-1 written
//   +24p  the same memfd mapped shared read-only: pages 0-1 read (the same frames)
//   +32p  2 pages private anonymous read-only: page 0 read (the zero page)
// the rest PROT_NONE. It prints "ready START END" and waits until its standard input closes.

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    const size_t page = 4096;
    char *base = mmap(NULL, 64 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    char *anon = mmap(base, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (anon == MAP_FAILED) { perror("mmap anon"); return 1; }
    for (int i = 0; i < 4; i++) memset(anon + i * page, 0x11 + i, page);
    volatile char sink = anon[4 * page];
    int fd = memfd_create("import-helper", 0);
    if (fd < 0 || ftruncate(fd, 4 * page) != 0) { perror("memfd"); return 1; }
    char *shared = mmap(base + 16 * page, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    char *again = mmap(base + 24 * page, 4 * page, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    if (shared == MAP_FAILED || again == MAP_FAILED) { perror("mmap memfd"); return 1; }
    shared[0] = 1;
    shared[page] = 2;
    sink = again[0];
    sink = again[page];
    char *ro = mmap(base + 32 * page, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (ro == MAP_FAILED) { perror("mmap ro"); return 1; }
    sink = ro[0];
    (void)sink;
    printf("ready %lx %lx\n", (unsigned long)(uintptr_t)base, (unsigned long)(uintptr_t)(base + 64 * page));
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
