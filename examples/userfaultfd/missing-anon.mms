# MISSING mode on private anon memory: a fault on a none PTE sleeps in handle_userfault()
# and queues a message; UFFDIO_COPY fills the page and wakes the thread, which retries.
# UFFDIO_ZEROPAGE maps the zero page. A read fault reports no write flag.
scenario "userfaultfd missing on anon"
mmap A anon private rw 16p
uffd U
uffd U register A missing
thread T {
  write A[3] = 0x33
}
expect event U pagefault A[3] write
expect no event U
uffd U copy A[3] = 0x44
join T
expect read A[3] == 0x33                            # the retried write lands on the copied page
expect pagemap A[3] present=1 exclusive=1
thread R {
  read A[5]
}
expect event U pagefault A[5]
uffd U zeropage A[5]
join R
expect pagemap A[5] present=1 frame=zero
uffd U copy A[3] = 0x1 -> EEXIST                    # the page exists
uffd U zeropage A[3] -> EEXIST
