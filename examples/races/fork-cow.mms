# explore: holds
# Threads of two processes after fork: the parent's thread writes the anonymous page both
# share copy-on-write while the child's thread reads it. In every interleaving the parent's
# write copies the page (do_wp_page → wp_page_copy: the folio is mapped twice) and the child
# keeps reading what was there at fork time; the child's own write copies too (the parent
# still maps the folio) or reuses the page (the parent copied first) — never is a store of
# one process seen by the other.
scenario "COW across processes, interleaved"
mmap A anon private rw 2p
write A = 0x1
fork child
thread pw {
  write A[0] = 0x2
  expect read A[1] == 0x1
}
in child {
  thread cr {
    expect read A[0] == 0x1
    write A[1] = 0x3
    expect read A[0] == 0x1
  }
}
expect read A[0] == 0x2
expect read A[1] == 0x1
in child {
  expect read A[0] == 0x1
  expect read A[1] == 0x3
}
check consistent
check no_lost_write
