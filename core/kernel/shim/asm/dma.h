/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: memblock.h includes it; nothing in it is needed. */
#ifndef MBFUZZ_SHIM_ASM_DMA_H
#define MBFUZZ_SHIM_ASM_DMA_H
#endif
