# vma_can_userfault(): a guest_memfd VMA is neither anon, shmem nor hugetlb, so every
# registration is EINVAL, except WP alone on a userfaultfd with UFFD_FEATURE_WP_ASYNC. So is
# unregistration where no such registration is (userfaultfd_unregister() asks
# vma_can_userfault() with the VMA's own flags), and so is every fill ioctl on it: mfill_atomic()
# fills anonymous and shmem VMAs only (found by the random differential test).
scenario "guest_memfd and userfaultfd registration"
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw
write A = 0x1
uffd U
uffd U register A missing -> EINVAL
uffd U register A wp -> EINVAL
uffd U register A minor -> EINVAL
uffd U unregister A[1] -> EINVAL                  # nothing registered, and not anon/shmem
uffd V features=wp_async
uffd V register A missing -> EINVAL
uffd V register A minor -> EINVAL
uffd V register A missing,wp -> EINVAL
uffd V register A wp
uffd V wp A
expect pagemap A uffd_wp=1 present=1
write A[2] = 0x2                                  # WP_ASYNC: the kernel just drops the bit
expect pagemap A[2] uffd_wp=0 present=1
expect pagemap A[3] uffd_wp=1
expect read A[2] == 0x2
uffd V copy A[1] = 0x5 -> EINVAL                  # neither anon nor shmem
uffd V zeropage A[1] -> EINVAL
uffd V poison A[1] -> EINVAL
uffd V continue A[1] -> EINVAL
expect no event V
uffd V unregister A[0]                            # registered WP by V: allowed
uffd V unregister A[0] -> EINVAL                  # now the VMA has no uffd flags
