// SPDX-License-Identifier: Apache-2.0
//
// The model speaks the user interface of MMUAPI (errnos, advice, userfaultfd messages,
// pagemap bits, system calls); everyone who imports the model sees it too.

@_exported import MMUAPI
