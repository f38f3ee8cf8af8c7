// SPDX-License-Identifier: Apache-2.0
/*
 * Shared helpers for the mmlab kernel probes.
 *
 * Every probe binary includes this header (single translation unit per
 * binary, so the helpers are plain static functions).
 *
 * Output conventions:
 *   - raw, run-dependent values (pagemap words, PFNs, swap offsets) are
 *     printed inside {braces}; run.sh strips "{...}" to compare runs;
 *   - PFNs get stable identities per process run: "frame #N", "zero page";
 *   - swap entries get "slot #N".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#define PG 4096UL
#define TWO_MB (2UL << 20)
#define WORDS (PG / sizeof(uint64_t))

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* pagemap bits */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61)
#define PM_GUARD (1ULL << 58)
#define PM_UFFD_WP (1ULL << 57)
#define PM_EXCL (1ULL << 56)
#define PM_SOFTDIRTY (1ULL << 55)
#define PM_PFN_MASK ((1ULL << 55) - 1)

/* kpageflags bits */
static const char *const kpf_names[] = {
	[0] = "LOCKED",	    [1] = "ERROR",	     [2] = "REFERENCED",
	[3] = "UPTODATE",   [4] = "DIRTY",	     [5] = "LRU",
	[6] = "ACTIVE",	    [7] = "SLAB",	     [8] = "WRITEBACK",
	[9] = "RECLAIM",    [10] = "BUDDY",	     [11] = "MMAP",
	[12] = "ANON",	    [13] = "SWAPCACHE",	     [14] = "SWAPBACKED",
	[15] = "COMP_HEAD", [16] = "COMP_TAIL",	     [17] = "HUGE",
	[18] = "UNEVICTABLE", [19] = "HWPOISON",     [20] = "NOPAGE",
	[21] = "KSM",	    [22] = "THP",	     [23] = "OFFLINE",
	[24] = "ZERO_PAGE", [25] = "IDLE",	     [26] = "PGTABLE",
};
#define KPF_SWAPCACHE 13
#define KPF_KSM 21
#define KPF_ZERO_PAGE 24

/* ------------------------------------------------------------------ */
/* identities                                                          */

static uint64_t zero_pfn = ~0ULL;
static uint64_t frames[4096];
static int nframes;
static uint64_t slots[4096];
static int nslots;

static void die(const char *what)
{
	fprintf(stderr, "FATAL: %s: %s\n", what, strerror(errno));
	exit(2);
}

static const char *frame_name(uint64_t pfn)
{
	static char buf[8][48];
	static int rot;
	char *b = buf[rot++ & 7];
	if (pfn == zero_pfn) {
		snprintf(b, 48, "zero page");
		return b;
	}
	int i;
	for (i = 0; i < nframes; i++)
		if (frames[i] == pfn)
			break;
	if (i == nframes && nframes < 4096)
		frames[nframes++] = pfn;
	snprintf(b, 48, "frame #%d", i + 1);
	return b;
}

static const char *slot_name(uint64_t type, uint64_t off)
{
	static char buf[8][48];
	static int rot;
	char *b = buf[rot++ & 7];
	uint64_t key = (type << 50) | off;
	int i;
	for (i = 0; i < nslots; i++)
		if (slots[i] == key)
			break;
	if (i == nslots && nslots < 4096)
		slots[nslots++] = key;
	snprintf(b, 48, "slot #%d (type %" PRIu64 ")", i + 1, type);
	return b;
}

/* ------------------------------------------------------------------ */
/* /proc readers                                                       */

static uint64_t pagemap_word(pid_t pid, const void *addr)
{
	char path[64];
	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/pagemap");
	else
		snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	uint64_t w = 0;
	off_t off = (off_t)((uintptr_t)addr / PG) * 8;
	if (pread(fd, &w, 8, off) != 8)
		die("pread pagemap");
	close(fd);
	return w;
}

static uint64_t pm_pfn(uint64_t w)
{
	return (w & PM_PRESENT) ? (w & PM_PFN_MASK) : 0;
}

static int kpage_read(const char *file, uint64_t pfn, uint64_t *out)
{
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return -1;
	int ok = pread(fd, out, 8, (off_t)pfn * 8) == 8;
	close(fd);
	return ok ? 0 : -1;
}

static uint64_t kpageflags(uint64_t pfn)
{
	uint64_t v = 0;
	if (kpage_read("/proc/kpageflags", pfn, &v))
		return ~0ULL;
	return v;
}

static long kpagecount(uint64_t pfn)
{
	uint64_t v = 0;
	if (kpage_read("/proc/kpagecount", pfn, &v))
		return -1;
	return (long)v;
}

static char *kpf_str(uint64_t f)
{
	static char buf[4][320];
	static int rot;
	char *b = buf[rot++ & 3];
	b[0] = 0;
	if (f == ~0ULL) {
		strcpy(b, "?");
		return b;
	}
	/* LRU-list state (LRU, ACTIVE, REFERENCED) depends on per-CPU batch
	 * draining and is printed separately in {braces} as volatile */
	const uint64_t vol = (1ULL << 5) | (1ULL << 6) | (1ULL << 2);
	for (unsigned i = 0; i < sizeof(kpf_names) / sizeof(kpf_names[0]); i++)
		if (((f & ~vol) >> i) & 1) {
			if (b[0])
				strcat(b, ",");
			strcat(b, kpf_names[i] ? kpf_names[i] : "?");
		}
	if (!b[0])
		strcpy(b, "-");
	memmove(b + 1, b, strlen(b) + 1);
	b[0] = '[';
	strcat(b, "]{lru:");
	int any = 0;
	for (unsigned i = 0; i < 7; i++)
		if (((f & vol) >> i) & 1) {
			strcat(b, any ? "," : "");
			strcat(b, kpf_names[i]);
			any = 1;
		}
	if (!any)
		strcat(b, "-");
	strcat(b, "}");
	return b;
}

/* describe a pagemap word: "{0x...} present excl ... -> frame #1" */
static char *pm_str(uint64_t w)
{
	static char buf[8][320];
	static int rot;
	char *b = buf[rot++ & 7];
	char bits[96] = "";
	if (w & PM_PRESENT)
		strcat(bits, " present");
	if (w & PM_SWAP)
		strcat(bits, " swap");
	if (w & PM_FILE)
		strcat(bits, " file");
	if (w & PM_GUARD)
		strcat(bits, " guard");
	if (w & PM_UFFD_WP)
		strcat(bits, " uffd_wp");
	if (w & PM_EXCL)
		strcat(bits, " exclusive");
	if (w & PM_SOFTDIRTY)
		strcat(bits, " soft_dirty");
	if (!bits[0])
		strcat(bits, " (none)");
	int n = snprintf(b, 320, "{0x%016" PRIx64 "}%s", w, bits);
	if (w & PM_PRESENT) {
		uint64_t pfn = w & PM_PFN_MASK;
		snprintf(b + n, 320 - n, " -> %s {pfn 0x%" PRIx64 "}", frame_name(pfn), pfn);
	} else if (w & PM_SWAP) {
		uint64_t type = w & 0x1f, off = (w >> 5) & ((1ULL << 50) - 1);
		snprintf(b + n, 320 - n, " -> %s {offset 0x%" PRIx64 "}", slot_name(type, off), off);
	}
	return b;
}

/* one line per page: pagemap word + (for present pages) kpageflags/mapcount */
static void show_page(const char *label, pid_t pid, const void *addr)
{
	uint64_t w = pagemap_word(pid, addr);
	printf("  %-22s %s", label, pm_str(w));
	if (w & PM_PRESENT) {
		uint64_t pfn = w & PM_PFN_MASK;
		printf("  kpf=%s mapcount=%ld", kpf_str(kpageflags(pfn)), kpagecount(pfn));
	}
	printf("\n");
}

static void show_frame(const char *label, uint64_t pfn)
{
	printf("  %-22s %s {pfn 0x%" PRIx64 "} kpf=%s mapcount=%ld\n", label,
	       frame_name(pfn), pfn, kpf_str(kpageflags(pfn)), kpagecount(pfn));
}

/* pages [0,n) of a mapping: one line each, plus a summary of present pages */
static void show_range(const char *who, pid_t pid, const void *base, int n)
{
	char label[64], present[256] = "";
	printf("  %s:\n", who);
	for (int i = 0; i < n; i++) {
		const char *a = (const char *)base + i * PG;
		snprintf(label, sizeof label, "[%d]", i);
		uint64_t w = pagemap_word(pid, a);
		printf("    %-5s %s", label, pm_str(w));
		if (w & PM_PRESENT)
			printf("  kpf=%s mapcount=%ld", kpf_str(kpageflags(w & PM_PFN_MASK)),
			       kpagecount(w & PM_PFN_MASK));
		printf("\n");
		if (w & PM_PRESENT) {
			char t[16];
			snprintf(t, sizeof t, "%s%d", present[0] ? "," : "", i);
			strcat(present, t);
		}
	}
	printf("    present pages: %s\n", present[0] ? present : "none");
}

static void show_smaps(const void *base)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		die("smaps");
	int in = 0;
	uintptr_t want = (uintptr_t)base;
	while (fgets(line, sizeof line, f)) {
		uintptr_t s, e;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &s, &e) == 2 && strchr(line, ' ') &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			in = (s == want);
			continue;
		}
		if (in && (!strncmp(line, "Rss:", 4) || !strncmp(line, "Swap:", 5) ||
			   !strncmp(line, "SwapPss:", 8) || !strncmp(line, "Anonymous:", 10))) {
			line[strcspn(line, "\n")] = 0;
			char *p = line;
			char name[32];
			long kb;
			if (sscanf(p, "%31s %ld", name, &kb) == 2)
				printf("  smaps %-12s %ld kB\n", name, kb);
		}
	}
	fclose(f);
}

/* ------------------------------------------------------------------ */
/* mappings                                                            */

/* npages at a 2 MiB-aligned VA (+ extra_pages*4K), inside a PROT_NONE reservation */
static void *map_at(int npages, int prot, int flags, int fd, off_t off, int extra_pages)
{
	size_t len = npages * PG;
	size_t rlen = len + TWO_MB + (size_t)extra_pages * PG + TWO_MB;
	char *r = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		die("mmap reserve");
	uintptr_t a = ((uintptr_t)r + TWO_MB - 1) & ~(TWO_MB - 1);
	a += (uintptr_t)extra_pages * PG;
	void *p = mmap((void *)a, len, prot, flags | MAP_FIXED, fd, off);
	if (p == MAP_FAILED)
		die("mmap fixed");
	return p;
}

static void *anon_map(int npages)
{
	return map_at(npages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, 0);
}

static int memfd_of(int npages)
{
	int fd = memfd_create("mmlab-probe", 0);
	if (fd < 0)
		die("memfd_create");
	if (ftruncate(fd, (off_t)npages * PG))
		die("ftruncate");
	return fd;
}

static void *pg(void *base, int i)
{
	return (char *)base + i * PG;
}

/* ------------------------------------------------------------------ */
/* faults                                                              */

static sigjmp_buf jb;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(jb, 1);
}

static void install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static const char *sig_str(int sig, int code)
{
	static char b[64];
	const char *c = "?";
	if (sig == SIGSEGV)
		c = code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
	if (sig == SIGBUS)
		c = code == BUS_ADRALN ? "BUS_ADRALN" : code == BUS_ADRERR ? "BUS_ADRERR" :
		    code == BUS_OBJERR ? "BUS_OBJERR" : "other";
	snprintf(b, sizeof b, "%s si_code=%d (%s)", strsignal(sig), code, c);
	return b;
}

/* read first word of a page; returns 0 or the signal number */
static int try_read(void *page, uint64_t *out)
{
	got_sig = 0;
	if (sigsetjmp(jb, 1) == 0) {
		*out = *(volatile uint64_t *)page;
		return 0;
	}
	return got_sig;
}

/* fill a page with the token; returns 0 or the signal number */
static int try_write(void *page, uint64_t tok)
{
	got_sig = 0;
	if (sigsetjmp(jb, 1) == 0) {
		volatile uint64_t *w = page;
		for (unsigned i = 0; i < WORDS; i++)
			w[i] = tok;
		return 0;
	}
	return got_sig;
}

static uint64_t tok(int c, int page)
{
	return 0x7000000000000000ULL | ((uint64_t)c << 16) | (uint64_t)page;
}

static void do_read(const char *label, void *page)
{
	uint64_t v = 0;
	int s = try_read(page, &v);
	if (s)
		printf("  read  %-16s -> %s\n", label, sig_str(got_sig, got_code));
	else
		printf("  read  %-16s -> token 0x%016" PRIx64 "\n", label, v);
}

static void do_write(const char *label, void *page, uint64_t t)
{
	int s = try_write(page, t);
	if (s)
		printf("  write %-16s <- 0x%016" PRIx64 " -> %s\n", label, t, sig_str(got_sig, got_code));
	else
		printf("  write %-16s <- 0x%016" PRIx64 " ok\n", label, t);
}

static int do_madvise(const char *label, void *addr, size_t len, int adv)
{
	int r = madvise(addr, len, adv);
	int e = errno;
	if (r)
		printf("  madvise %-14s -> -1 errno=%d (%s)\n", label, e, strerrorname_np(e));
	else
		printf("  madvise %-14s -> 0\n", label);
	errno = e;
	return r;
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* ------------------------------------------------------------------ */
/* a forked helper process driven over pipes                           */

enum { C_READ = 1, C_WRITE, C_MADV, C_EXIT };
struct cmd {
	int op;
	int adv;
	uintptr_t addr;
	size_t len;
	uint64_t val;
};
struct rep {
	int sig, code, ret, err;
	uint64_t val;
};
struct child {
	pid_t pid;
	int to, from;
};

static struct child child_start(void)
{
	int a[2], b[2];
	if (pipe(a) || pipe(b))
		die("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		struct cmd c;
		while (read(a[0], &c, sizeof c) == sizeof c) {
			struct rep r = { 0 };
			if (c.op == C_EXIT)
				_exit(0);
			if (c.op == C_READ) {
				r.sig = try_read((void *)c.addr, &r.val);
				r.code = got_code;
			} else if (c.op == C_WRITE) {
				r.sig = try_write((void *)c.addr, c.val);
				r.code = got_code;
			} else if (c.op == C_MADV) {
				r.ret = madvise((void *)c.addr, c.len, c.adv);
				r.err = errno;
			}
			if (write(b[1], &r, sizeof r) != sizeof r)
				_exit(3);
		}
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	return (struct child){ pid, a[1], b[0] };
}

static struct rep child_cmd(struct child *ch, int op, void *addr, size_t len, int adv, uint64_t val)
{
	struct cmd c = { op, adv, (uintptr_t)addr, len, val };
	struct rep r = { 0 };
	if (write(ch->to, &c, sizeof c) != sizeof c)
		die("child write");
	if (op == C_EXIT)
		return r;
	if (read(ch->from, &r, sizeof r) != sizeof r)
		die("child read");
	return r;
}

static void child_read(struct child *ch, const char *label, void *page)
{
	struct rep r = child_cmd(ch, C_READ, page, 0, 0, 0);
	if (r.sig)
		printf("  child read  %-10s -> %s\n", label, sig_str(r.sig, r.code));
	else
		printf("  child read  %-10s -> token 0x%016" PRIx64 "\n", label, r.val);
}

static void child_write(struct child *ch, const char *label, void *page, uint64_t t)
{
	struct rep r = child_cmd(ch, C_WRITE, page, 0, 0, t);
	if (r.sig)
		printf("  child write %-10s <- 0x%016" PRIx64 " -> %s\n", label, t, sig_str(r.sig, r.code));
	else
		printf("  child write %-10s <- 0x%016" PRIx64 " ok\n", label, t);
}

static void child_end(struct child *ch)
{
	child_cmd(ch, C_EXIT, NULL, 0, 0, 0);
	int st;
	waitpid(ch->pid, &st, 0);
	close(ch->to);
	close(ch->from);
}

/* ------------------------------------------------------------------ */
/* setup                                                               */

static int swap_active(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	if (!f)
		return 0;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n > 1;
}

static void probe_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		die("sched_setaffinity");
	install_handlers();
	/* identify the shared zero page: read-fault an untouched private anon page */
	char *z = anon_map(1);
	uint64_t v;
	try_read(z, &v);
	uint64_t w = pagemap_word(0, z);
	zero_pfn = pm_pfn(w);
	printf("# zero page: pagemap %s kpf=%s (swap %s)\n", pm_str(w), kpf_str(kpageflags(zero_pfn)),
	       swap_active() ? "active" : "inactive");
}

static void case_header(const char *id, const char *title)
{
	nframes = 0;
	nslots = 0;
	printf("\n=== Case %s: %s ===\n", id, title);
}

typedef void (*case_fn)(void);
struct case_ent {
	const char *id;
	case_fn fn;
};

static int run_cases(const struct case_ent *tab, int n, int argc, char **argv)
{
	probe_init();
	for (int a = 1; a < argc; a++) {
		int found = 0;
		for (int i = 0; i < n; i++)
			if (!strcmp(argv[a], tab[i].id)) {
				tab[i].fn();
				found = 1;
			}
		if (!found) {
			fprintf(stderr, "unknown case %s\n", argv[a]);
			return 1;
		}
	}
	return 0;
}
