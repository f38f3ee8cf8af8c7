scenario "a populated 1 TiB anonymous guest"
# Issue 14, goal 1: every page of a 1 TiB private anonymous mapping written (2^28 write
# faults), a pagemap read of all of it, exit. Run by Benchmarks/guest/run.sh, not by swift test.
mmap A anon private rw 1T
write A = seq(1)
expect pagemap A present=1
exit
