# guest_memfd conversion under Linux 6.18: the in-place conversion series (Ackerley Tng, Sean
# Christopherson; v7, 2026-05) adds KVM_SET_MEMORY_ATTRIBUTES2 = _IOWR(KVMIO, 0xd2, struct
# kvm_memory_attributes2) on the guest_memfd itself. 6.18's guest_memfd has no ioctl at all
# (kvm_gmem_fops has no unlocked_ioctl), so the conversion is ENOTTY, private or shared, and
# nothing changes: the page is still there and shared (INIT_SHARED). A memfd answers the same.
# Checked on the kernel through /dev/kvm. The series is design guest_memfd.conversion =
# in_place (not implemented yet).
scenario "guest_memfd conversion is ENOTTY in 6.18"
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw
write A[0] = 0x5
convert G[0..1] private -> ENOTTY
convert G[0] shared -> ENOTTY
expect read A[0] == 0x5
expect pagemap A[0] present=1
memfd F 1p
convert F[0] private -> ENOTTY
