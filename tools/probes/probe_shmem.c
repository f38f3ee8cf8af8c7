// SPDX-License-Identifier: Apache-2.0
/*
 * shmem (memfd) probes: cases 7 8 9 9n 10 11 12 13 16c 17 22.
 * Usage: probe_shmem CASE...
 */
#include "common.h"

#define RW (PROT_READ | PROT_WRITE)

static char *map_shared(int fd, int npages, int extra)
{
	return map_at(npages, RW, MAP_SHARED, fd, 0, extra);
}

static char *map_private(int fd, int npages)
{
	return map_at(npages, RW, MAP_PRIVATE, fd, 0, 0);
}

static void fill(char *b, int from, int to, int c)
{
	for (int i = from; i < to; i++)
		try_write(pg(b, i), tok(c, i));
}

static void case7(void)
{
	case_header("7", "memfd MAP_SHARED: fault-around after MADV_DONTNEED");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	printf("  B at 2MiB-aligned VA, 16 pages\n");
	fill(b, 0, 16, 7);
	show_range("B written", 0, b, 16);
	do_madvise("DONTNEED B", b, 16 * PG, MADV_DONTNEED);
	show_range("B after dontneed", 0, b, 16);
	do_read("B[5]", pg(b, 5));
	show_range("B after read B[5]", 0, b, 16);

	printf("  -- window not full: memfd of 16 pages, only pages 0..3 exist in page cache --\n");
	int fd2 = memfd_of(16);
	char *b2 = map_shared(fd2, 16, 0);
	fill(b2, 0, 4, 7);
	do_madvise("DONTNEED B2", b2, 16 * PG, MADV_DONTNEED);
	do_read("B2[9]", pg(b2, 9));
	show_range("B2 after read B2[9]", 0, b2, 16);

	printf("  -- mapping at 2MiB + 3 pages (VMA not 64K aligned) --\n");
	char *b3 = map_shared(fd, 16, 3);
	printf("  B3 VA page index within its 2MiB region = %lu\n",
	       (unsigned long)(((uintptr_t)b3 >> 12) & 511));
	do_read("B3[5]", pg(b3, 5));
	show_range("B3 after read B3[5]", 0, b3, 16);

	printf("  -- 32-page memfd, mapping of 32 pages at 2MiB + 3 pages: read page 20 --\n");
	int fd4 = memfd_of(32);
	char *b4w = map_shared(fd4, 32, 0);
	fill(b4w, 0, 32, 7);
	char *b4 = map_shared(fd4, 32, 3);
	do_read("B4[20]", pg(b4, 20));
	show_range("B4 after read B4[20]", 0, b4, 32);

	printf("  -- write fault (no fault-around expected): DONTNEED B, write B[5] --\n");
	do_madvise("DONTNEED B", b, 16 * PG, MADV_DONTNEED);
	do_write("B[5]", pg(b, 5), tok(7, 105));
	show_range("B after write B[5]", 0, b, 16);
}

static void case8(void)
{
	case_header("8", "fork with a memfd MAP_SHARED mapping written by the parent");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 8);
	show_page("parent B[0]", 0, pg(b, 0));
	struct child ch = child_start();
	show_range("child B before", ch.pid, b, 16);
	show_page("parent B[0] after fork", 0, pg(b, 0));
	child_read(&ch, "B[0]", pg(b, 0));
	show_range("child B after read", ch.pid, b, 16);
	show_page("parent B[0]", 0, pg(b, 0));
	show_page("parent B[1]", 0, pg(b, 1));
	printf("  child B[0] frame == parent B[0] frame: %s\n",
	       pm_pfn(pagemap_word(ch.pid, b)) == pm_pfn(pagemap_word(0, b)) ? "yes" : "no");
	child_end(&ch);
	show_page("parent B[0] child gone", 0, pg(b, 0));
}

static void case9(void)
{
	case_header("9", "shmem MADV_PAGEOUT with swap active");
	if (!swap_active()) {
		printf("  SKIPPED: no swap active\n");
		return;
	}
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 9);
	uint64_t old[16];
	for (int i = 0; i < 16; i++)
		old[i] = pm_pfn(pagemap_word(0, pg(b, i)));
	show_page("B[0] written", 0, pg(b, 0));
	show_smaps(b);
	do_madvise("PAGEOUT B[0..15]", b, 16 * PG, MADV_PAGEOUT);
	show_range("B after pageout", 0, b, 16);
	show_frame("old frame of B[0]", old[0]);
	show_frame("old frame of B[1]", old[1]);
	show_smaps(b);
	do_read("B[0]", pg(b, 0));
	show_range("B after read B[0]", 0, b, 16);
	printf("  B[0] same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, b)) == old[0] ? "yes" : "no");
	show_smaps(b);
	do_read("B[1]", pg(b, 1));
	show_page("B[1]", 0, pg(b, 1));
	printf("  B[1] same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, pg(b, 1))) == old[1] ? "yes" : "no");
}

static void case9n(void)
{
	case_header("9n", "shmem MADV_PAGEOUT with NO swap");
	if (swap_active()) {
		printf("  SKIPPED: swap is active\n");
		return;
	}
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 9);
	uint64_t old0 = pm_pfn(pagemap_word(0, b));
	show_page("B[0] written", 0, pg(b, 0));
	do_madvise("PAGEOUT B[0..15]", b, 16 * PG, MADV_PAGEOUT);
	show_range("B after pageout", 0, b, 16);
	show_frame("old frame of B[0]", old0);
	show_smaps(b);
	do_read("B[0]", pg(b, 0));
	show_range("B after read B[0]", 0, b, 16);
	printf("  B[0] same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, b)) == old0 ? "yes" : "no");
}

static void case10(void)
{
	case_header("10", "shmem page mapped in parent and child -> parent MADV_PAGEOUT");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 10);
	struct child ch = child_start();
	child_read(&ch, "B[0]", pg(b, 0));
	show_page("parent B[0] before", 0, pg(b, 0));
	show_page("child B[0] before", ch.pid, pg(b, 0));
	do_madvise("PAGEOUT B[0]", b, PG, MADV_PAGEOUT);
	show_page("parent B[0] after", 0, pg(b, 0));
	show_page("child B[0] after", ch.pid, pg(b, 0));
	printf("  -- control: B[8] mapped only by the parent? (child fault-around maps it too) --\n");
	show_page("child B[8]", ch.pid, pg(b, 8));
	child_end(&ch);
	show_page("parent B[0] child gone", 0, pg(b, 0));
	do_madvise("PAGEOUT B[0]", b, PG, MADV_PAGEOUT);
	show_page("parent B[0] after", 0, pg(b, 0));
}

static void case11(void)
{
	case_header("11", "MAP_PRIVATE mapping C of a memfd also mapped shared as B");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 11);
	char *c = map_private(fd, 16);
	show_page("B[0]", 0, pg(b, 0));
	do_read("C[0]", pg(c, 0));
	show_page("C[0] after read", 0, pg(c, 0));
	show_page("B[0]", 0, pg(b, 0));
	printf("  C[0] frame == B[0] frame: %s\n",
	       pm_pfn(pagemap_word(0, c)) == pm_pfn(pagemap_word(0, b)) ? "yes" : "no");
	show_range("C after read C[0]", 0, c, 16);
	do_write("C[0]", pg(c, 0), tok(11, 100));
	show_page("C[0] after write", 0, pg(c, 0));
	show_page("B[0]", 0, pg(b, 0));
	do_read("B[0]", pg(b, 0));
	do_read("C[0]", pg(c, 0));
	printf("  -- private mapping of a memfd NOT mapped elsewhere: read C2[0] --\n");
	int fd2 = memfd_of(16);
	char *b2 = map_shared(fd2, 16, 0);
	fill(b2, 0, 16, 11);
	munmap(b2, 16 * PG);
	char *c2 = map_private(fd2, 16);
	do_read("C2[0]", pg(c2, 0));
	show_page("C2[0]", 0, pg(c2, 0));
	printf("  -- write fault on a private file page never read: C2[3] after DONTNEED --\n");
	do_madvise("DONTNEED C2", c2, 16 * PG, MADV_DONTNEED);
	do_write("C2[3]", pg(c2, 3), tok(11, 103));
	show_range("C2 after write C2[3]", 0, c2, 16);
}

static void case12(void)
{
	case_header("12", "punch hole on memfd pages 8..15 while mapped shared (B) and private (C)");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 12);
	char *c = map_private(fd, 16);
	do_read("C[10]", pg(c, 10));
	do_write("C[9]", pg(c, 9), tok(12, 109));
	show_range("B before", 0, b, 16);
	show_range("C before", 0, c, 16);
	uint64_t b8 = pm_pfn(pagemap_word(0, pg(b, 8)));
	int r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8 * PG, 8 * PG);
	printf("  fallocate(PUNCH_HOLE, pages 8..15) -> %d %s\n", r, r ? strerror(errno) : "");
	show_range("B after punch", 0, b, 16);
	show_range("C after punch", 0, c, 16);
	show_frame("old frame of B[8]", b8);
	do_read("C[9]", pg(c, 9));
	do_read("B[8]", pg(b, 8));
	show_page("B[8] after read", 0, pg(b, 8));
	do_read("C[10]", pg(c, 10));
	show_page("C[10] after read", 0, pg(c, 10));
	show_range("B end", 0, b, 16);
	show_range("C end", 0, c, 16);
}

static void case13(void)
{
	case_header("13", "MADV_REMOVE on shared memfd B, private memfd C, private anon");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 13);
	char *c = map_private(fd, 16);
	do_read("C[1]", pg(c, 1));
	do_write("C[2]", pg(c, 2), tok(13, 102));
	uint64_t b0 = pm_pfn(pagemap_word(0, b));
	do_madvise("REMOVE B[0..3]", b, 4 * PG, MADV_REMOVE);
	show_range("B after remove", 0, b, 6);
	show_range("C after remove", 0, c, 6);
	show_frame("old frame of B[0]", b0);
	do_read("B[0]", pg(b, 0));
	show_page("B[0] after read", 0, pg(b, 0));
	do_read("C[2]", pg(c, 2));
	do_madvise("REMOVE C[4..5]", pg(c, 4), 2 * PG, MADV_REMOVE);
	char *a = anon_map(4);
	try_write(a, 1);
	do_madvise("REMOVE anon", a, 4 * PG, MADV_REMOVE);
	char *ro = map_at(4, PROT_READ, MAP_SHARED, fd, 0, 0);
	do_madvise("REMOVE shared r/o", ro, 4 * PG, MADV_REMOVE);
}

static void case16c(void)
{
	case_header("16c", "MADV_POPULATE_READ / WRITE on a fresh memfd MAP_SHARED mapping");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	do_madvise("POPULATE_READ B[0..3]", b, 4 * PG, MADV_POPULATE_READ);
	do_madvise("POPULATE_WRITE B[4..7]", pg(b, 4), 4 * PG, MADV_POPULATE_WRITE);
	show_range("B", 0, b, 9);
	off_t end = lseek(fd, 0, SEEK_END);
	off_t data = lseek(fd, 0, SEEK_DATA);
	off_t hole = lseek(fd, 0, SEEK_HOLE);
	printf("  memfd: size %lld, SEEK_DATA(0)=%lld SEEK_HOLE(0)=%lld (pages)\n", (long long)end / (long long)PG,
	       (long long)data / (long long)PG, (long long)hole / (long long)PG);
	do_read("B[0]", pg(b, 0));
	printf("  -- POPULATE_READ on a private mapping of a fresh memfd --\n");
	int fd2 = memfd_of(16);
	char *c = map_private(fd2, 16);
	do_madvise("POPULATE_READ C[0..3]", c, 4 * PG, MADV_POPULATE_READ);
	show_range("C", 0, c, 5);
}

static void case17(void)
{
	case_header("17", "access beyond EOF (SIGBUS); madvise on unmapped ranges");
	int fd = memfd_of(16);
	char *b = map_shared(fd, 32, 0);
	do_read("B[15]", pg(b, 15));
	do_read("B[20]", pg(b, 20));
	do_write("B[16]", pg(b, 16), 1);
	show_range("B", 0, b, 21);
	char *c = map_private(fd, 32);
	do_read("C[20] (private)", pg(c, 20));
	char *a = anon_map(16);
	try_write(a, 1);
	munmap(pg(a, 8), 8 * PG);
	do_madvise("DONTNEED unmapped", pg(a, 8), 8 * PG, MADV_DONTNEED);
	do_madvise("PAGEOUT unmapped", pg(a, 8), 8 * PG, MADV_PAGEOUT);
	do_madvise("COLD unmapped", pg(a, 8), 8 * PG, MADV_COLD);
	do_madvise("POPREAD unmapped", pg(a, 8), 8 * PG, MADV_POPULATE_READ);
	do_madvise("DONTNEED part-map", a, 16 * PG, MADV_DONTNEED);
	show_page("a[0] after", 0, pg(a, 0));
	do_madvise("POPREAD beyond EOF", pg(b, 16), 4 * PG, MADV_POPULATE_READ);
}

static void case22(void)
{
	case_header("22", "memfd pages paged out to swap, PTE cleared, re-read via B: fault-around?");
	if (!swap_active()) {
		printf("  SKIPPED: no swap active\n");
		return;
	}
	int fd = memfd_of(16);
	char *b = map_shared(fd, 16, 0);
	fill(b, 0, 16, 22);
	uint64_t old5 = pm_pfn(pagemap_word(0, pg(b, 5)));
	do_madvise("PAGEOUT B[4..7]", pg(b, 4), 4 * PG, MADV_PAGEOUT);
	show_frame("old frame of B[5]", old5);
	do_madvise("DONTNEED B", b, 16 * PG, MADV_DONTNEED);
	show_range("B before read", 0, b, 16);
	show_smaps(b);
	do_read("B[5]", pg(b, 5));
	show_range("B after read B[5]", 0, b, 16);
	printf("  B[5] same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, pg(b, 5))) == old5 ? "yes" : "no");
	show_smaps(b);
	printf("  -- read B[12] (neighbours 4,6,7 still swapped; all others in page cache) --\n");
	do_madvise("DONTNEED B", b, 16 * PG, MADV_DONTNEED);
	do_read("B[12]", pg(b, 12));
	show_range("B after read B[12]", 0, b, 16);
	do_read("B[6]", pg(b, 6));
	show_page("B[6]", 0, pg(b, 6));
}

static const struct case_ent tab[] = {
	{ "7", case7 },	  { "8", case8 },   { "9", case9 },	{ "9n", case9n },
	{ "10", case10 }, { "11", case11 }, { "12", case12 }, { "13", case13 },
	{ "16c", case16c }, { "17", case17 }, { "22", case22 },
};

int main(int argc, char **argv)
{
	return run_cases(tab, sizeof tab / sizeof tab[0], argc, argv);
}
