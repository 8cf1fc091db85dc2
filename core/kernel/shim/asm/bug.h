/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbfuzz shim: BUG and WARN are captured, never silent and never a bare
 * abort. WARN*() reports an event and memblock goes on, as in the kernel;
 * BUG*() reports an event and unwinds to the bridge entry (mb_kernel_bug is
 * noreturn). The *_ONCE forms report every time: a once-flag would be hidden
 * state that survives between runs.
 */
#ifndef MBFUZZ_SHIM_ASM_BUG_H
#define MBFUZZ_SHIM_ASM_BUG_H

void mb_kernel_warn(const char *file, int line, const char *fmt, ...);
void mb_kernel_bug(const char *file, int line, const char *what) __attribute__((noreturn));

#define WARN(condition, format...) ({					\
	int __ret_warn_on = !!(condition);				\
	if (__builtin_expect(__ret_warn_on, 0))				\
		mb_kernel_warn(__FILE__, __LINE__, format);		\
	__builtin_expect(__ret_warn_on, 0);				\
})
#define WARN_ON(condition) WARN(condition, "WARN_ON(%s)", #condition)
#define WARN_ONCE(condition, format...) WARN(condition, format)
#define WARN_ON_ONCE(condition) WARN(condition, "WARN_ON_ONCE(%s)", #condition)

#define BUG_ON(condition) do {						\
	if (__builtin_expect(!!(condition), 0))				\
		mb_kernel_bug(__FILE__, __LINE__, "BUG_ON(" #condition ")"); \
} while (0)

#endif
