# Misused userfaultfd ioctls give the kernel's errno (fs/userfaultfd.c, mm/userfaultfd.c).
scenario "userfaultfd ioctl errors"
mmap A anon private rw 4p
mmap X anon private rw 4p
memfd F 4p
mmap B F shared rw
uffd U
uffd V
uffd U register A missing
uffd V register A missing -> EBUSY                  # owned by another userfaultfd
uffd V unregister A -> EINVAL
uffd U copy X[0] = 0x1 -> ENOENT                    # not registered
uffd U wp A[0] -> ENOENT                            # not registered for wp
uffd U copy A[0] = 0x1 wp -> EINVAL                 # MODE_WP needs a wp registration
uffd U continue A[0] -> EINVAL                      # CONTINUE is for shmem
uffd U poison A[0]                                  # UFFD_FEATURE_POISON only advertises it (checked on 6.18)
uffd U register B minor
uffd U continue B[0] -> EFAULT                      # nothing in the page cache
