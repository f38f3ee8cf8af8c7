// SPDX-License-Identifier: Apache-2.0
//
// The KSM counters of /sys/kernel/mm/ksm (Documentation/admin-guide/mm/ksm.rst).

/// The files of /sys/kernel/mm/ksm that `expect ksm` reads, in the order reports print them.
public enum KSMCounter {
    public static let names: [String] = [
        "pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
        "ksm_zero_pages", "general_profit",
    ]
}
