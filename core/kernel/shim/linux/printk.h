/* SPDX-License-Identifier: GPL-2.0 */
/* mbfuzz shim: kernel messages are captured by the harness, not printed. */
#ifndef MBFUZZ_SHIM_LINUX_PRINTK_H
#define MBFUZZ_SHIM_LINUX_PRINTK_H

/* No format attribute: kernel format strings use %pa and friends. */
void mb_kernel_printk(const char *fmt, ...);

#define printk(fmt...) mb_kernel_printk(fmt)
#define pr_emerg printk
#define pr_err printk
#define pr_warn printk
#define pr_notice printk
#define pr_info printk
#define pr_cont printk
#define pr_debug printk
#define pr_warn_ratelimited printk

#endif
