// SPDX-License-Identifier: Apache-2.0
//
// The live kernel on the workloads that the MMLabBenchmarks suite runs on the model
// (docs/performance.md). Each pass is timed with clock_gettime(CLOCK_MONOTONIC) and its
// faults counted with getrusage(RUSAGE_SELF).ru_minflt:
//
//   anon_write    first touch (an 8-byte store) of each page of a 4 GiB private anon
//                 mapping, 2 MiB-aligned, MADV_NOHUGEPAGE: 1 Mi faults, each of which
//                 allocates and zeroes a 4 KiB page
//   anon_read     a load from each page of a fresh 4 GiB private anon mapping: 1 Mi faults
//                 mapping the shared zero page
//   shmem_read    a load from each page of a 1 GiB shared memfd mapping whose page cache was
//                 filled through another mapping: fault-around (fault_around_bytes, 64 KiB by
//                 default) maps 16 pages per fault, so 16 Ki faults
//   pagemap       /proc/self/pagemap words for the populated 4 GiB mapping, 1 Mi words, read
//                 with pread() in chunks of CHUNK words
//
// Usage: kernel_bench [REPEATS [CHUNK]]   (defaults 5 and 4096). Run it pinned to one CPU
// (Benchmarks/run.sh uses taskset -c). Prints one line per pass and repeat:
//   <workload> rep=<n> ops=<n> faults=<n> seconds=<s> rate=<ops/s>
// where ops are faults for anon_write/anon_read, pages for shmem_read (faults also given),
// and words for pagemap.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define PMD (2UL << 20)
#define ANON_BYTES (4UL << 30)
#define ANON_PAGES (ANON_BYTES / PAGE)
#define SHMEM_BYTES (1UL << 30)
#define SHMEM_PAGES (SHMEM_BYTES / PAGE)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static void die(const char *what) {
    fprintf(stderr, "kernel_bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/// A 2 MiB-aligned private anonymous mapping of `bytes`, without THP.
static char *map_anon(size_t bytes) {
    char *raw = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) die("mmap anon");
    char *p = (char *)(((uintptr_t)raw + PMD - 1) & ~(PMD - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    char *end = raw + bytes + PMD;
    if (end > p + bytes) munmap(p + bytes, (size_t)(end - (p + bytes)));
    if (madvise(p, bytes, MADV_NOHUGEPAGE) != 0) die("madvise MADV_NOHUGEPAGE");
    return p;
}

static void report(const char *name, int rep, unsigned long ops, long faults, double secs) {
    printf("%s rep=%d ops=%lu faults=%ld seconds=%.6f rate=%.0f\n", name, rep, ops, faults, secs, (double)ops / secs);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    size_t chunk = argc > 2 ? (size_t)atol(argv[2]) : 4096;
    if (repeats < 1 || chunk < 1) {
        fprintf(stderr, "usage: kernel_bench [REPEATS [CHUNK]]\n");
        return 2;
    }
    uint64_t *buf = malloc(chunk * sizeof(uint64_t));
    if (!buf) die("malloc");
    int pm = open("/proc/self/pagemap", O_RDONLY);
    if (pm < 0) die("open /proc/self/pagemap");

    for (int rep = 0; rep < repeats; rep++) {
        // anon_write + pagemap over the populated mapping.
        char *p = map_anon(ANON_BYTES);
        long f0 = minflt();
        double t0 = now();
        for (size_t i = 0; i < ANON_PAGES; i++) *(volatile uint64_t *)(p + i * PAGE) = (uint64_t)i | 1;
        double t1 = now();
        long f1 = minflt();
        report("anon_write", rep, ANON_PAGES, f1 - f0, t1 - t0);

        uint64_t present = 0;
        off_t off = (off_t)((uintptr_t)p / PAGE * sizeof(uint64_t));
        t0 = now();
        for (size_t done = 0; done < ANON_PAGES;) {
            size_t n = ANON_PAGES - done < chunk ? ANON_PAGES - done : chunk;
            ssize_t r = pread(pm, buf, n * sizeof(uint64_t), off + (off_t)(done * sizeof(uint64_t)));
            if (r != (ssize_t)(n * sizeof(uint64_t))) die("pread pagemap");
            for (size_t j = 0; j < n; j++) present += buf[j] >> 63;
            done += n;
        }
        t1 = now();
        if (present != ANON_PAGES) {
            fprintf(stderr, "kernel_bench: pagemap: %lu of %lu pages present\n", (unsigned long)present, ANON_PAGES);
            return 1;
        }
        report("pagemap", rep, ANON_PAGES, 0, t1 - t0);
        munmap(p, ANON_BYTES);

        // anon_read: the zero page.
        p = map_anon(ANON_BYTES);
        uint64_t sum = 0;
        f0 = minflt();
        t0 = now();
        for (size_t i = 0; i < ANON_PAGES; i++) sum += *(volatile uint64_t *)(p + i * PAGE);
        t1 = now();
        f1 = minflt();
        if (sum != 0) return 1;
        report("anon_read", rep, ANON_PAGES, f1 - f0, t1 - t0);
        munmap(p, ANON_BYTES);

        // shmem_read: fill the page cache through one mapping, then read through another.
        int fd = memfd_create("bench", 0);
        if (fd < 0) die("memfd_create");
        if (ftruncate(fd, (off_t)SHMEM_BYTES) != 0) die("ftruncate");
        char *w = mmap(NULL, SHMEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (w == MAP_FAILED) die("mmap memfd writer");
        for (size_t i = 0; i < SHMEM_PAGES; i++) *(volatile uint64_t *)(w + i * PAGE) = (uint64_t)i | 1;
        char *r = mmap(NULL, SHMEM_BYTES + PMD, PROT_READ, MAP_SHARED, fd, 0);
        if (r == MAP_FAILED) die("mmap memfd reader");
        munmap(r, SHMEM_BYTES + PMD);
        // Place the reader on a 2 MiB boundary, as the model does, so every window is full.
        char *want = (char *)(((uintptr_t)r + PMD - 1) & ~(PMD - 1));
        r = mmap(want, SHMEM_BYTES, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
        if (r != want) die("mmap memfd reader (aligned)");
        sum = 0;
        f0 = minflt();
        t0 = now();
        for (size_t i = 0; i < SHMEM_PAGES; i++) sum += *(volatile uint64_t *)(r + i * PAGE);
        t1 = now();
        f1 = minflt();
        if (sum == 0) return 1;
        report("shmem_read", rep, SHMEM_PAGES, f1 - f0, t1 - t0);
        munmap(r, SHMEM_BYTES);
        munmap(w, SHMEM_BYTES);
        close(fd);
    }
    close(pm);
    free(buf);
    return 0;
}
