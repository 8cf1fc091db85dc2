/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: x86-64 and arm64 both have 64-byte cache lines. */
#ifndef MBFUZZ_SHIM_LINUX_CACHE_H
#define MBFUZZ_SHIM_LINUX_CACHE_H

#define L1_CACHE_SHIFT 6
#define L1_CACHE_BYTES (1 << L1_CACHE_SHIFT)
#define SMP_CACHE_BYTES L1_CACHE_BYTES

#endif
