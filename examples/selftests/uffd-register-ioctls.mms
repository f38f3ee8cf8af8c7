# Follows tools/testing/selftests/mm/uffd-unit-tests.c "register-ioctls": every register
# mode combination on each memory type; here: which ones the kernel accepts. Anon takes
# missing and wp, not minor (EINVAL); shmem takes all three.
scenario "selftest uffd register-ioctls"
mmap A anon private rw 4p
memfd F 4p
mmap B F shared rw
mmap P F private rw
uffd U
uffd U register A missing
uffd U register A wp
uffd U register A missing,wp
uffd U register A minor -> EINVAL
uffd U register A missing,minor -> EINVAL
uffd U register B missing
uffd U register B wp
uffd U register B minor
uffd U register B missing,wp,minor
uffd U register P minor                             # shmem, also when mapped privately
uffd U unregister A
uffd U unregister B
uffd U unregister P
