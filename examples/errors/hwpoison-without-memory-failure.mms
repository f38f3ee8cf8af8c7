# `poison` is madvise(MADV_HWPOISON). mm/madvise.c accepts MADV_HWPOISON and MADV_SOFT_OFFLINE
# as valid advice only under CONFIG_MEMORY_FAILURE (madvise_behavior_valid()); this machine's
# kernel is built without it, as the model is by default, so the advice is refused with
# EINVAL before the range is even looked at: on anonymous memory, mapped or not, on a memfd,
# and nothing changes. Checked live (`mmlab diff`).
scenario "MADV_HWPOISON without CONFIG_MEMORY_FAILURE is EINVAL"
memfd F 4p
mmap A anon private rw 4p
write A[0..1] = 0x11
poison A[0] -> EINVAL                               # a present anonymous page
poison A[2..3] -> EINVAL                            # not faulted in
mmap S F shared rw
write S[1] = 0x22
poison S[1] -> EINVAL                               # a shmem page
expect read A[0..1] == 0x11
expect read S[1] == 0x22
expect pagemap A[0..1] present=1 swap=0
expect pagemap A[2..3] = 0x0
expect pagemap S[1] present=1 file=1
