# prctl(PR_SET_MEMORY_MERGE): every compatible VMA of the process becomes mergeable, and so
# does every VMA it maps later; a shared mapping never is. The setting survives fork (the
# child's new mappings merge too). Turning it off unmerges every page of the process at once
# and clears VM_MERGEABLE; the counters follow at the next scan. Follows the intent of
# test_prctl(), test_prctl_fork() and test_prctl_unmerge() in
# tools/testing/selftests/mm/ksm_functional_tests.c. `prctl memory_merge on|off` is an mmlab
# extension (docs/language.md).
scenario "KSM with PR_SET_MEMORY_MERGE"
mmap A anon private rw 4p
write A = 0x5
prctl memory_merge on
mmap B anon private rw 2p         # mapped after the prctl: mergeable too
write B = 0x5
mmap S anon shared rw 2p          # shared: never mergeable
write S = 0x5
ksm run
ksm scan 2
expect ksm pages_shared=1 pages_sharing=5
expect pagemap A present=1 exclusive=0 frame=id(1)
expect pagemap B present=1 exclusive=0 frame=id(1)
expect pagemap S present=1 file=1 exclusive=1   # a shmem page mapped once
fork c
in c {
  mmap C anon private rw 2p       # the child inherits MMF_VM_MERGE_ANY
  write C = 0x5
}
ksm scan 2
expect ksm pages_shared=1 pages_sharing=13
in c {
  expect pagemap C present=1 exclusive=0 frame=id(1)
  exit
}
prctl memory_merge off            # unmerges A and B now
expect pagemap A present=1 exclusive=1 frame=new
expect pagemap B present=1 exclusive=1 frame=new
expect read A == 0x5
ksm scan 1
expect ksm pages_shared=0 pages_sharing=0
