// SPDX-License-Identifier: Apache-2.0
/*
 * fork / COW probes on private anonymous memory: cases 5 6 21.
 * The child is driven over pipes; the parent reads /proc/<child>/pagemap,
 * so frame/slot identities are shared between both sides.
 * Usage: probe_fork CASE...
 */
#include "common.h"

static void case5(void)
{
	case_header("5", "fork with written anon pages: COW");
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(5, 0));
	show_page("parent before fork", 0, pg(a, 0));
	struct child ch = child_start();
	show_page("parent after fork", 0, pg(a, 0));
	show_page("child after fork", ch.pid, pg(a, 0));
	do_write("parent a[0]", pg(a, 0), tok(5, 1));
	show_page("parent after P write", 0, pg(a, 0));
	show_page("child after P write", ch.pid, pg(a, 0));
	uint64_t cold = pm_pfn(pagemap_word(ch.pid, pg(a, 0)));
	child_write(&ch, "a[0]", pg(a, 0), tok(5, 2));
	show_page("child after C write", ch.pid, pg(a, 0));
	printf("  child kept (reused) its frame: %s\n",
	       pm_pfn(pagemap_word(ch.pid, pg(a, 0))) == cold ? "yes" : "no");
	show_page("parent after C write", 0, pg(a, 0));
	do_read("parent a[0]", pg(a, 0));
	child_read(&ch, "a[0]", pg(a, 0));

	printf("  -- variant: child writes first --\n");
	do_write("a[1]", pg(a, 1), tok(5, 10));
	show_page("parent a[1]", 0, pg(a, 1));
	struct child ch2 = child_start();
	child_write(&ch2, "a[1]", pg(a, 1), tok(5, 11));
	show_page("child2 a[1]", ch2.pid, pg(a, 1));
	show_page("parent a[1]", 0, pg(a, 1));
	long f0 = minflt();
	do_write("parent a[1]", pg(a, 1), tok(5, 12));
	printf("  parent minor faults for that write: %ld\n", minflt() - f0);
	show_page("parent a[1]", 0, pg(a, 1));
	do_read("parent a[1]", pg(a, 1));
	child_read(&ch2, "a[1]", pg(a, 1));
	child_end(&ch2);
	child_end(&ch);
}

static void case6(void)
{
	case_header("6", "fork after anon pageout; pageout of a page mapped by parent+child");
	if (!swap_active()) {
		printf("  SKIPPED: no swap active\n");
		return;
	}
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(6, 0));
	do_write("a[1]", pg(a, 1), tok(6, 1));
	uint64_t old = pm_pfn(pagemap_word(0, pg(a, 0)));
	show_page("parent a[0] written", 0, pg(a, 0));
	do_madvise("PAGEOUT a[0]", pg(a, 0), PG, MADV_PAGEOUT);
	show_page("parent a[0] pre-fork", 0, pg(a, 0));
	struct child ch = child_start();
	show_page("parent a[0] post-fork", 0, pg(a, 0));
	show_page("child a[0]", ch.pid, pg(a, 0));
	show_frame("old frame", old);
	printf("  -- pageout of a[1], mapped by parent and child (not written since fork) --\n");
	show_page("parent a[1] before", 0, pg(a, 1));
	show_page("child a[1] before", ch.pid, pg(a, 1));
	do_madvise("PAGEOUT a[1]", pg(a, 1), PG, MADV_PAGEOUT);
	show_page("parent a[1] after", 0, pg(a, 1));
	show_page("child a[1] after", ch.pid, pg(a, 1));
	printf("  -- swap-in of the shared swap entry: child reads, then parent reads --\n");
	child_read(&ch, "a[0]", pg(a, 0));
	show_page("child a[0]", ch.pid, pg(a, 0));
	show_page("parent a[0]", 0, pg(a, 0));
	do_read("parent a[0]", pg(a, 0));
	show_page("parent a[0]", 0, pg(a, 0));
	show_page("child a[0]", ch.pid, pg(a, 0));
	child_end(&ch);
	show_page("parent a[0] child gone", 0, pg(a, 0));
}

static void case21(void)
{
	case_header("21", "swap-in read of a paged-out anon page, then fork, then parent writes");
	if (!swap_active()) {
		printf("  SKIPPED: no swap active\n");
		return;
	}
	char *a = anon_map(16);
	do_write("a[0]", pg(a, 0), tok(21, 0));
	show_page("written", 0, pg(a, 0));
	do_madvise("PAGEOUT a[0]", pg(a, 0), PG, MADV_PAGEOUT);
	show_page("after pageout", 0, pg(a, 0));
	do_read("a[0]", pg(a, 0));
	show_page("after swap-in read", 0, pg(a, 0));
	uint64_t in = pm_pfn(pagemap_word(0, pg(a, 0)));
	struct child ch = child_start();
	show_page("parent after fork", 0, pg(a, 0));
	show_page("child after fork", ch.pid, pg(a, 0));
	do_write("parent a[0]", pg(a, 0), tok(21, 1));
	show_page("parent after write", 0, pg(a, 0));
	printf("  parent got a new frame: %s\n", pm_pfn(pagemap_word(0, pg(a, 0))) != in ? "yes" : "no");
	show_page("child after P write", ch.pid, pg(a, 0));
	child_read(&ch, "a[0]", pg(a, 0));
	do_read("parent a[0]", pg(a, 0));
	child_end(&ch);
}

static const struct case_ent tab[] = {
	{ "5", case5 },
	{ "6", case6 },
	{ "21", case21 },
};

int main(int argc, char **argv)
{
	return run_cases(tab, sizeof tab / sizeof tab[0], argc, argv);
}
