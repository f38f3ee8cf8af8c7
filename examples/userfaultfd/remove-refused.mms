# EVENT_REMOVE comes from userfaultfd_remove(), which each advice calls only after its own
# checks of the VMA: MADV_REMOVE refuses a VMA without a file (EINVAL) or one that is not a
# shared writable mapping (EACCES) first, so no REMOVE event is queued and nothing sleeps;
# MADV_FREE checks only madvise_dontneed_free_valid_vma() first, so on shmem the REMOVE
# event comes, and then madvise_free_single_vma()'s EINVAL (mm/madvise.c; found by the
# random differential test, checked on this kernel with mmlab diff).
scenario "REMOVE events and the advice that refuse a VMA"
mmap A anon private rw 4p
memfd F 4p
mmap P F private rw
mmap S F shared rw
uffd U features=event_remove
uffd U register A wp
uffd U register P wp
uffd U register S wp
madvise A[1] remove -> EINVAL                       # no file: refused before the event
madvise P[1] remove -> EACCES                       # a private mapping: refused before the event
expect no event U
thread T {
  madvise S[2] free -> EINVAL                       # the event first, then EINVAL
}
expect event U remove S[2]
join T
expect no event U
