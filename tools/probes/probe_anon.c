// SPDX-License-Identifier: Apache-2.0
/*
 * Private anonymous memory probes: cases 1 2 3 4 14 15 16a 16b 18 19 20.
 * Usage: probe_anon CASE...
 */
#include "common.h"

static void case1(void)
{
	case_header("1", "private anon: untouched, read (zero page), write");
	char *a = anon_map(16);
	show_page("untouched a[0]", 0, pg(a, 0));
	show_page("untouched a[1]", 0, pg(a, 1));
	do_read("a[0]", pg(a, 0));
	show_page("after read a[0]", 0, pg(a, 0));
	show_page("neighbour a[1]", 0, pg(a, 1));
	do_write("a[1]", pg(a, 1), tok(1, 1));
	show_page("after write a[1]", 0, pg(a, 1));
	do_read("a[1]", pg(a, 1));
	show_page("after read a[1]", 0, pg(a, 1));
	do_write("a[0] (over zero pg)", pg(a, 0), tok(1, 0));
	show_page("after write a[0]", 0, pg(a, 0));
}

static void case2(void)
{
	case_header("2", "anon write then MADV_PAGEOUT (swap active)");
	if (!swap_active()) {
		printf("  SKIPPED: no swap active\n");
		return;
	}
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(2, 0));
	show_page("after write a[0]", 0, pg(a, 0));
	uint64_t old = pm_pfn(pagemap_word(0, pg(a, 0)));
	do_madvise("PAGEOUT a[0]", pg(a, 0), PG, MADV_PAGEOUT);
	show_page("after pageout a[0]", 0, pg(a, 0));
	show_frame("old frame now", old);
	usleep(200000);
	show_frame("old frame +200ms", old);
	do_read("a[0]", pg(a, 0));
	show_page("after read a[0]", 0, pg(a, 0));
	printf("  same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, pg(a, 0))) == old ? "yes" : "no");
	long f0 = minflt();
	do_write("a[0]", pg(a, 0), tok(2, 100));
	long f1 = minflt();
	printf("  minor faults during that write: %ld\n", f1 - f0);
	show_page("after write a[0]", 0, pg(a, 0));
	printf("  same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, pg(a, 0))) == old ? "yes" : "no");
	do_read("a[0]", pg(a, 0));

	printf("  -- pageout of a PTE mapping the zero page --\n");
	do_read("a[1]", pg(a, 1));
	show_page("a[1] before", 0, pg(a, 1));
	do_madvise("PAGEOUT a[1]", pg(a, 1), PG, MADV_PAGEOUT);
	show_page("a[1] after", 0, pg(a, 1));

	printf("  -- pageout of 4 written pages a[4..7] then read a[5] (swap readahead?) --\n");
	for (int i = 4; i < 8; i++)
		try_write(pg(a, i), tok(2, i));
	show_page("a[5] before pageout", 0, pg(a, 5));
	do_madvise("PAGEOUT a[4..7]", pg(a, 4), 4 * PG, MADV_PAGEOUT);
	do_read("a[5]", pg(a, 5));
	for (int i = 4; i < 8; i++) {
		char l[32];
		snprintf(l, sizeof l, "a[%d]", i);
		show_page(l, 0, pg(a, i));
	}

	printf("  -- swap-in by a WRITE fault: a[2] written, paged out, written again --\n");
	do_write("a[2]", pg(a, 2), tok(2, 2));
	uint64_t old2 = pm_pfn(pagemap_word(0, pg(a, 2)));
	show_page("a[2] written", 0, pg(a, 2));
	do_madvise("PAGEOUT a[2]", pg(a, 2), PG, MADV_PAGEOUT);
	show_page("a[2] after pageout", 0, pg(a, 2));
	usleep(200000);
	show_frame("old frame +200ms", old2);
	do_write("a[2]", pg(a, 2), tok(2, 102));
	show_page("a[2] after write", 0, pg(a, 2));
	printf("  same frame as before pageout: %s\n",
	       pm_pfn(pagemap_word(0, pg(a, 2))) == old2 ? "yes" : "no");
	do_read("a[2]", pg(a, 2));
}

static void case3(void)
{
	case_header("3", "anon MADV_PAGEOUT with NO swap active");
	if (swap_active()) {
		printf("  SKIPPED: swap is active\n");
		return;
	}
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(3, 0));
	show_page("before pageout", 0, pg(a, 0));
	uint64_t w0 = pagemap_word(0, pg(a, 0));
	do_madvise("PAGEOUT a[0]", pg(a, 0), PG, MADV_PAGEOUT);
	show_page("after pageout", 0, pg(a, 0));
	printf("  pagemap word unchanged: %s\n", pagemap_word(0, pg(a, 0)) == w0 ? "yes" : "no");
	do_read("a[0]", pg(a, 0));
	show_page("after read", 0, pg(a, 0));
}

static void case4(void)
{
	case_header("4", "anon MADV_DONTNEED after write");
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(4, 0));
	show_page("after write", 0, pg(a, 0));
	uint64_t old = pm_pfn(pagemap_word(0, pg(a, 0)));
	do_madvise("DONTNEED a[0]", pg(a, 0), PG, MADV_DONTNEED);
	show_page("after dontneed", 0, pg(a, 0));
	show_frame("old frame", old);
	usleep(200000);
	show_frame("old frame +200ms", old);
	do_read("a[0]", pg(a, 0));
	show_page("after read", 0, pg(a, 0));
}

static void case14(void)
{
	case_header("14", "mprotect on a written anon page");
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(14, 0));
	show_page("rw written", 0, pg(a, 0));
	if (mprotect(a, 16 * PG, PROT_READ))
		die("mprotect r");
	printf("  mprotect(PROT_READ) ok\n");
	show_page("after mprotect r", 0, pg(a, 0));
	do_write("a[0]", pg(a, 0), tok(14, 1));
	do_read("a[0]", pg(a, 0));
	if (mprotect(a, 16 * PG, PROT_NONE))
		die("mprotect none");
	printf("  mprotect(PROT_NONE) ok\n");
	show_page("after mprotect none", 0, pg(a, 0));
	show_page("untouched a[1] none", 0, pg(a, 1));
	do_read("a[0]", pg(a, 0));
	do_read("a[1] (untouched)", pg(a, 1));
	if (mprotect(a, 16 * PG, PROT_READ | PROT_WRITE))
		die("mprotect rw");
	printf("  mprotect(PROT_READ|PROT_WRITE) ok\n");
	show_page("after mprotect rw", 0, pg(a, 0));
	do_read("a[0]", pg(a, 0));
}

static void case15(void)
{
	case_header("15", "munmap middle pages 4..7 of a 16-page anon mapping");
	char *a = anon_map(16);
	for (int i = 0; i < 16; i++)
		try_write(pg(a, i), tok(15, i));
	if (munmap(pg(a, 4), 4 * PG))
		die("munmap");
	printf("  munmap a[4..7] ok\n");
	show_range("a", 0, a, 16);
	do_read("a[5]", pg(a, 5));
	do_write("a[6]", pg(a, 6), 1);
	do_read("a[3]", pg(a, 3));
	do_read("a[8]", pg(a, 8));
}

static void case16a(void)
{
	case_header("16a", "MADV_POPULATE_READ / POPULATE_WRITE on untouched anon");
	char *a = anon_map(16);
	do_madvise("POPULATE_READ a[0..3]", a, 4 * PG, MADV_POPULATE_READ);
	do_madvise("POPULATE_WRITE a[4..7]", pg(a, 4), 4 * PG, MADV_POPULATE_WRITE);
	show_range("a", 0, a, 9);
	do_read("a[4]", pg(a, 4));
	printf("  -- POPULATE_WRITE over pages already mapping the zero page (a[0..1]) --\n");
	do_madvise("POPULATE_WRITE a[0..1]", a, 2 * PG, MADV_POPULATE_WRITE);
	show_page("a[0]", 0, pg(a, 0));
	show_page("a[1]", 0, pg(a, 1));
}

static void case18(void)
{
	case_header("18", "MADV_COLD on written anon pages");
	char *a = anon_map(16);
	for (int i = 0; i < 4; i++)
		try_write(pg(a, i), tok(18, i));
	show_range("before a", 0, a, 4);
	uint64_t w[4];
	for (int i = 0; i < 4; i++)
		w[i] = pagemap_word(0, pg(a, i));
	do_madvise("COLD a[0..3]", a, 4 * PG, MADV_COLD);
	show_range("after a", 0, a, 4);
	int same = 1;
	for (int i = 0; i < 4; i++)
		same &= pagemap_word(0, pg(a, i)) == w[i];
	printf("  pagemap words unchanged: %s\n", same ? "yes" : "no");
	do_read("a[0]", pg(a, 0));
}

static int write_clear_refs(const char *v)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd < 0)
		die("clear_refs");
	ssize_t r = write(fd, v, strlen(v));
	int e = errno;
	close(fd);
	if (r < 0)
		printf("  clear_refs \"%s\" -> -1 errno=%d (%s)\n", v, e, strerrorname_np(e));
	else
		printf("  clear_refs \"%s\" -> %zd (accepted)\n", v, r);
	return r < 0 ? -1 : 0;
}

static void case19(void)
{
	case_header("19", "clear_refs 4 (soft-dirty) on a kernel without MEM_SOFT_DIRTY; clear_refs 6, 0, 1");
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(19, 0));
	show_page("before", 0, pg(a, 0));
	write_clear_refs("4");
	show_page("after clear_refs 4", 0, pg(a, 0));
	long f0 = minflt();
	do_write("a[0]", pg(a, 0), tok(19, 1));
	long f1 = minflt();
	printf("  minor faults during write after clear_refs 4: %ld\n", f1 - f0);
	show_page("after write", 0, pg(a, 0));
	write_clear_refs("6");
	write_clear_refs("0");
	write_clear_refs("1");
	show_page("after clear_refs 1", 0, pg(a, 0));
	write_clear_refs("5");
}

static void case20(void)
{
	case_header("20", "anon page paged out, then MADV_DONTNEED (swap entry zapped), then read");
	if (!swap_active()) {
		printf("  SKIPPED: no swap active\n");
		return;
	}
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(20, 0));
	uint64_t old = pm_pfn(pagemap_word(0, pg(a, 0)));
	show_page("after write", 0, pg(a, 0));
	do_madvise("PAGEOUT a[0]", pg(a, 0), PG, MADV_PAGEOUT);
	show_page("after pageout", 0, pg(a, 0));
	show_frame("old frame", old);
	do_madvise("DONTNEED a[0]", pg(a, 0), PG, MADV_DONTNEED);
	show_page("after dontneed", 0, pg(a, 0));
	show_frame("old frame", old);
	usleep(200000);
	show_frame("old frame +200ms", old);
	do_read("a[0]", pg(a, 0));
	show_page("after read", 0, pg(a, 0));
}

static const struct case_ent tab[] = {
	{ "1", case1 },	  { "2", case2 },     { "3", case3 },	{ "4", case4 },
	{ "14", case14 }, { "15", case15 },   { "16a", case16a }, { "18", case18 },
	{ "19", case19 }, { "20", case20 },
};

int main(int argc, char **argv)
{
	return run_cases(tab, sizeof tab / sizeof tab[0], argc, argv);
}
