// SPDX-License-Identifier: GPL-2.0
/*
 * The unity bridge: the production mm/memblock.c, unmodified, in one
 * translation unit with the entry points declared in memblock_bridge.h.
 *
 * Built once per variant (CONFIG_NUMA on/off, 64/32-bit phys_addr_t) with
 * -fvisibility=hidden, then `objcopy --localize-hidden`, so that the only
 * global symbol left is this variant's `struct mb_kernel` and several
 * variants link into one program.
 *
 * Being one translation unit with memblock.c gives the bridge the static
 * state a complete reset needs.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include "mm/memblock.c"

#include "memblock_bridge.h"

#ifndef MB_VARIANT
#error "MB_VARIANT (uma64, numa32, ...) must be defined"
#endif
#ifndef MB_KERNEL_VERSION
#error "MB_KERNEL_VERSION must be defined"
#endif

#define MB_STRINGIFY_(x) #x
#define MB_STRINGIFY(x) MB_STRINGIFY_(x)
#define MB_CONCAT_(a, b) a##b
#define MB_CONCAT(a, b) MB_CONCAT_(a, b)

/* The switches of the environment (declared in the shims). */
bool mirrored_kernelcore;
bool movable_node_enabled;
bool mb_slab_available;

/* Where BUG() unwinds to: the entry point currently running. */
static jmp_buf mb_unwind;

/* A runaway iteration in a broken memblock.c must not hang the harness. */
#define MB_MAX_ITERATIONS (1UL << 22)

static const char *mb_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* What snprintf() into room bytes appended: its result, clamped to the room. */
static size_t mb_appended(int written, size_t room)
{
	return written < 0 ? 0 : (size_t)written < room ? (size_t)written : room - 1;
}

/*
 * Appends one C conversion (spec, without '*') of the next argument. As in
 * the kernel's vsprintf and unlike C's, %#x of zero is "0x0".
 */
static size_t mb_convert(char *out, size_t room, const char *spec, size_t spec_len, va_list *ap)
{
	char format[32];
	char conversion = spec[spec_len - 1];
	size_t prefix = strspn(spec, "%-+ #0123456789.");
	const char *length = spec + prefix;
	int n = 0;

	if (prefix + 3 >= sizeof(format))
		return 0;
	/* Integers are widened to long long: the format says so. */
	(memcpy)(format, spec, prefix); /* the real one: the shim's is for simulated memory */
	format[prefix] = 'l';
	format[prefix + 1] = 'l';
	format[prefix + 2] = conversion;
	format[prefix + 3] = '\0';
	if (strchr("di", conversion)) {
		long long value = length[0] == 'z' ? va_arg(*ap, ssize_t) :
				  length[0] == 'l' && length[1] == 'l' ? va_arg(*ap, long long) :
				  length[0] == 'l' ? va_arg(*ap, long) : va_arg(*ap, int);
		n = snprintf(out, room, format, value);
	} else if (strchr("ouxX", conversion)) {
		unsigned long long value = length[0] == 'z' ? va_arg(*ap, size_t) :
					   length[0] == 'l' && length[1] == 'l' ? va_arg(*ap, unsigned long long) :
					   length[0] == 'l' ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
		if (value == 0 && memchr(spec, '#', prefix) && conversion != 'o')
			n = snprintf(out, room, "0%c0", conversion);
		else
			n = snprintf(out, room, format, value);
	} else if (conversion == 'c') {
		n = snprintf(out, room, "%c", va_arg(*ap, int));
	} else if (conversion == 's') {
		format[prefix] = 's';
		format[prefix + 1] = '\0';
		n = snprintf(out, room, format, va_arg(*ap, const char *));
	} else if (conversion == '%') {
		n = snprintf(out, room, "%%");
	}
	return mb_appended(n, room);
}

/*
 * printk's format as memblock.c uses it: C's conversions, and the kernel's
 * pointer extensions: %pa (a phys_addr_t passed by address, printed as 0x
 * and every hex digit of its width; %pap the same) and %pS and the like (a
 * symbol: here the pointer). printk's trailing newline is presentation, not
 * content, and is dropped.
 */
static void mb_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	va_list args;
	size_t n = 0;

	va_copy(args, ap);
	while (*fmt && n + 1 < len) {
		if (*fmt != '%') {
			buf[n++] = *fmt++;
			continue;
		}
		if (fmt[1] == 'p') {
			const void *p = va_arg(args, const void *);
			int written;

			fmt += 2;
			if (*fmt == 'a') {
				fmt += fmt[1] == 'p' ? 2 : 1;
				written = snprintf(buf + n, len - n, "0x%0*llx", (int)(2 * sizeof(phys_addr_t)),
						   (unsigned long long)*(const phys_addr_t *)p);
			} else {
				while (isalnum((unsigned char)*fmt))
					fmt++;
				written = snprintf(buf + n, len - n, "%p", p);
			}
			n += mb_appended(written, len - n);
			continue;
		}
		size_t spec_len = 1 + strspn(fmt + 1, "-+ #0123456789.hlzjt");
		if (!fmt[spec_len])
			break;
		spec_len++;
		n += mb_convert(buf + n, len - n, fmt, spec_len, &args);
		fmt += spec_len;
	}
	va_end(args);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

void mb_kernel_printk(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	mb_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mb_host_printk(buf);
}

void mb_kernel_warn(const char *file, int line, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	mb_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mb_host_event(MB_EVENT_WARN, mb_basename(file), line, buf);
}

void mb_kernel_bug(const char *file, int line, const char *what)
{
	mb_host_event(MB_EVENT_BUG, mb_basename(file), line, what);
	longjmp(mb_unwind, 1);
}

void mb_kernel_panic(const char *file, int line, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	mb_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mb_host_event(MB_EVENT_BUG, mb_basename(file), line, buf);
	longjmp(mb_unwind, 1);
}

void mb_kernel_limit(const char *file, int line, const char *what)
{
	mb_host_event(MB_EVENT_LIMIT, mb_basename(file), line, what);
	longjmp(mb_unwind, 1);
}

void *mb_kernel_memcpy(void *dst, const void *src, size_t n)
{
	/* Only memblock_double_array copies, and memblock reads the copy back. */
	if (mb_host_unbacked(dst, n))
		mb_kernel_limit(__FILE__, __LINE__,
			 "region array placed outside the simulated physical memory window");
	return mb_host_memcpy(dst, src, n);
}

/*
 * Runs one memblock call; a BUG inside unwinds back here. Locals written
 * before setjmp and read after a longjmp would need volatile: the bodies only
 * write results after the call has returned.
 */
#define MB_GUARDED(body)                                                       \
	do {                                                                   \
		if (setjmp(mb_unwind))                                         \
			return MB_ABORTED;                                     \
		body;                                                          \
		return MB_DONE;                                                \
	} while (0)

static struct memblock_type *mb_type(enum mb_region_type type)
{
	return type == MB_RESERVED ? &memblock.reserved : &memblock.memory;
}

/* ---- state ---------------------------------------------------------------- */

static struct memblock mb_pristine;

__attribute__((constructor)) static void mb_save_pristine(void)
{
	mb_pristine = memblock;
}

static void mb_reset(void)
{
	memblock = mb_pristine;
	(memset)(memblock_memory_init_regions, 0, sizeof(memblock_memory_init_regions));
	(memset)(memblock_reserved_init_regions, 0, sizeof(memblock_reserved_init_regions));
	memblock_memory = &memblock.memory;
	memblock_debug = 0;
	system_has_some_mirror = false;
	memblock_can_resize = 0;
	memblock_memory_in_slab = 0;
	memblock_reserved_in_slab = 0;
	reset_managed_pages_done = 0;
	max_low_pfn = 0;
	min_low_pfn = 0;
	max_pfn = 0;
	max_possible_pfn = 0;
#ifndef CONFIG_NUMA
	(memset)(&contig_page_data, 0, sizeof(contig_page_data));
#endif
	mirrored_kernelcore = false;
	movable_node_enabled = false;
	mb_slab_available = false;
}

static void mb_globals(struct mb_globals *out)
{
	out->bottom_up = memblock.bottom_up;
	out->current_limit = memblock_get_current_limit();
	out->can_resize = memblock_can_resize;
	out->has_some_mirror = system_has_some_mirror;
	out->discarded = memblock_memory == NULL;
}

static void mb_type_info(enum mb_region_type type, struct mb_type_info *out)
{
	struct memblock_type *t = mb_type(type);

	out->cnt = t->cnt;
	out->max = t->max;
	out->total_size = t->total_size;
	out->in_static_array = t->regions == memblock_memory_init_regions ||
			       t->regions == memblock_reserved_init_regions;
}

static size_t mb_regions(enum mb_region_type type, struct mb_region *out, size_t cap)
{
	struct memblock_type *t = mb_type(type);

	for (size_t i = 0; i < t->cnt && i < cap; i++) {
		out[i].base = t->regions[i].base;
		out[i].size = t->regions[i].size;
		out[i].flags = t->regions[i].flags;
		out[i].nid = memblock_get_region_node(&t->regions[i]);
	}
	return t->cnt;
}

/* ---- environment switches -------------------------------------------------- */

static int mb_set_slab_available(int on)
{
	mb_slab_available = on;
	return MB_DONE;
}

static int mb_set_movable_node(int on)
{
	movable_node_enabled = on;
	return MB_DONE;
}

static int mb_set_mirrored_kernelcore(int on)
{
	mirrored_kernelcore = on;
	return MB_DONE;
}

/* ---- mutators -------------------------------------------------------------- */

static int mb_add(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_add(base, size));
}

static int mb_add_node(uint64_t base, uint64_t size, int nid, uint32_t flags, int *ret)
{
	MB_GUARDED(*ret = memblock_add_node(base, size, nid, (enum memblock_flags)flags));
}

static int mb_remove(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_remove(base, size));
}

static int mb_reserve(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_reserve(base, size));
}

static int mb_phys_free(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_phys_free(base, size));
}

static int mb_free_virt(int has_ptr, uint64_t phys, uint64_t size)
{
	MB_GUARDED(memblock_free(has_ptr ? __va(phys) : NULL, size));
}

static int mb_mark_hotplug(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_mark_hotplug(base, size));
}

static int mb_clear_hotplug(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_clear_hotplug(base, size));
}

static int mb_mark_mirror(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_mark_mirror(base, size));
}

static int mb_mark_nomap(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_mark_nomap(base, size));
}

static int mb_clear_nomap(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_clear_nomap(base, size));
}

static int mb_set_node(uint64_t base, uint64_t size, enum mb_region_type type, int nid, int *ret)
{
	MB_GUARDED(*ret = memblock_set_node(base, size, mb_type(type), nid));
}

static int mb_trim_memory(uint64_t align)
{
	MB_GUARDED(memblock_trim_memory(align));
}

static int mb_enforce_memory_limit(uint64_t limit)
{
	MB_GUARDED(memblock_enforce_memory_limit(limit));
}

static int mb_cap_memory_range(uint64_t base, uint64_t size)
{
	MB_GUARDED(memblock_cap_memory_range(base, size));
}

static int mb_mem_limit_remove_map(uint64_t limit)
{
	MB_GUARDED(memblock_mem_limit_remove_map(limit));
}

static int mb_set_current_limit(uint64_t limit)
{
	MB_GUARDED(memblock_set_current_limit(limit));
}

static int mb_set_bottom_up(int enable)
{
	MB_GUARDED(memblock_set_bottom_up(enable));
}

static int mb_allow_resize(void)
{
	MB_GUARDED(memblock_allow_resize());
}

/* ---- allocators ------------------------------------------------------------ */

static int mb_phys_alloc(uint64_t size, uint64_t align, uint64_t *addr)
{
	MB_GUARDED(*addr = memblock_phys_alloc(size, align));
}

static int mb_phys_alloc_range(uint64_t size, uint64_t align, uint64_t start, uint64_t end,
			       uint64_t *addr)
{
	MB_GUARDED(*addr = memblock_phys_alloc_range(size, align, start, end));
}

static int mb_phys_alloc_try_nid(uint64_t size, uint64_t align, int nid, uint64_t *addr)
{
	MB_GUARDED(*addr = memblock_phys_alloc_try_nid(size, align, nid));
}

static int mb_alloc_range_nid(uint64_t size, uint64_t align, uint64_t start, uint64_t end,
			      int nid, int exact_nid, uint64_t *addr)
{
	MB_GUARDED(*addr = memblock_alloc_range_nid(size, align, start, end, nid, exact_nid));
}

static int mb_alloc(uint64_t size, uint64_t align, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc(size, align));
}

static int mb_alloc_raw(uint64_t size, uint64_t align, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_raw(size, align));
}

static int mb_alloc_from(uint64_t size, uint64_t align, uint64_t min_addr, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_from(size, align, min_addr));
}

static int mb_alloc_low(uint64_t size, uint64_t align, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_low(size, align));
}

static int mb_alloc_node(uint64_t size, uint64_t align, int nid, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_node(size, align, nid));
}

static int mb_alloc_try_nid(uint64_t size, uint64_t align, uint64_t min_addr, uint64_t max_addr,
			    int nid, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_try_nid(size, align, min_addr, max_addr, nid));
}

static int mb_alloc_try_nid_raw(uint64_t size, uint64_t align, uint64_t min_addr,
				uint64_t max_addr, int nid, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_try_nid_raw(size, align, min_addr, max_addr, nid));
}

static int mb_alloc_exact_nid_raw(uint64_t size, uint64_t align, uint64_t min_addr,
				  uint64_t max_addr, int nid, void **ptr)
{
	MB_GUARDED(*ptr = memblock_alloc_exact_nid_raw(size, align, min_addr, max_addr, nid));
}

/* ---- queries --------------------------------------------------------------- */

static int mb_overlaps_region(enum mb_region_type type, uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_overlaps_region(mb_type(type), base, size));
}

static int mb_is_region_reserved(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_is_region_reserved(base, size));
}

static int mb_is_memory(uint64_t addr, int *ret)
{
	MB_GUARDED(*ret = memblock_is_memory(addr));
}

static int mb_is_map_memory(uint64_t addr, int *ret)
{
	MB_GUARDED(*ret = memblock_is_map_memory(addr));
}

static int mb_is_region_memory(uint64_t base, uint64_t size, int *ret)
{
	MB_GUARDED(*ret = memblock_is_region_memory(base, size));
}

static int mb_is_reserved(uint64_t addr, int *ret)
{
	MB_GUARDED(*ret = memblock_is_reserved(addr));
}

static int mb_phys_mem_size(uint64_t *ret)
{
	MB_GUARDED(*ret = memblock_phys_mem_size());
}

static int mb_reserved_size(uint64_t *ret)
{
	MB_GUARDED(*ret = memblock_reserved_size());
}

static int mb_start_of_dram(uint64_t *ret)
{
	MB_GUARDED(*ret = memblock_start_of_DRAM());
}

static int mb_end_of_dram(uint64_t *ret)
{
	MB_GUARDED(*ret = memblock_end_of_DRAM());
}

static int mb_search_pfn_nid(uint64_t pfn, int *nid, uint64_t *start_pfn, uint64_t *end_pfn)
{
	unsigned long start = 0, end = 0;

	MB_GUARDED({
		*nid = memblock_search_pfn_nid(pfn, &start, &end);
		*start_pfn = start;
		*end_pfn = end;
	});
}

static int mb_free_ranges(int nid, uint32_t flags, int reverse, mb_range_sink sink, void *ctx)
{
	phys_addr_t start, end;
	int range_nid;
	u64 i;
	unsigned long n = 0;

	MB_GUARDED({
		if (reverse) {
			for_each_free_mem_range_reverse(i, nid, (enum memblock_flags)flags,
							&start, &end, &range_nid) {
				if (++n > MB_MAX_ITERATIONS)
					mb_kernel_limit(__FILE__, __LINE__, "free range iteration does not end");
				sink(ctx, start, end, range_nid);
			}
		} else {
			for_each_free_mem_range(i, nid, (enum memblock_flags)flags, &start, &end,
						&range_nid) {
				if (++n > MB_MAX_ITERATIONS)
					mb_kernel_limit(__FILE__, __LINE__, "free range iteration does not end");
				sink(ctx, start, end, range_nid);
			}
		}
	});
}

static int mb_mem_pfn_ranges(int nid, mb_range_sink sink, void *ctx)
{
	unsigned long start, end;
	int range_nid, i;
	unsigned long n = 0;

	MB_GUARDED({
		for_each_mem_pfn_range(i, nid, &start, &end, &range_nid) {
			if (++n > MB_MAX_ITERATIONS)
				mb_kernel_limit(__FILE__, __LINE__, "pfn range iteration does not end");
			sink(ctx, start, end, range_nid);
		}
	});
}

/* ---- hand-off ---------------------------------------------------------------- */

static int mb_free_all(uint64_t new_max_low_pfn)
{
	MB_GUARDED({
		max_low_pfn = new_max_low_pfn;
		memblock_free_all();
	});
}

static int mb_discard(void)
{
	MB_GUARDED(memblock_discard());
}

/* ---- what memblock prints ------------------------------------------------ */

static int mb_dump(void)
{
	static char debug[] = "debug";
	int was = memblock_debug;

	MB_GUARDED({
		early_memblock(debug);
		memblock_dump_all();
		memblock_debug = was;
	});
}

__attribute__((visibility("default"))) const struct mb_kernel MB_CONCAT(mb_kernel_, MB_VARIANT) = {
	.build = {
		.name = MB_STRINGIFY(MB_VARIANT),
		.kernel_version = MB_KERNEL_VERSION,
#ifdef CONFIG_NUMA
		.numa = 1,
#else
		.numa = 0,
#endif
		.max_numnodes = MAX_NUMNODES,
		.phys_bits = 8 * sizeof(phys_addr_t),
		.page_size = PAGE_SIZE,
		.smp_cache_bytes = SMP_CACHE_BYTES,
		.init_regions = INIT_MEMBLOCK_REGIONS,
		.max_order = MAX_ORDER,
	},
	.reset = mb_reset,
	.set_slab_available = mb_set_slab_available,
	.set_movable_node = mb_set_movable_node,
	.set_mirrored_kernelcore = mb_set_mirrored_kernelcore,
	.add = mb_add,
	.add_node = mb_add_node,
	.remove = mb_remove,
	.reserve = mb_reserve,
	.phys_free = mb_phys_free,
	.free_virt = mb_free_virt,
	.mark_hotplug = mb_mark_hotplug,
	.clear_hotplug = mb_clear_hotplug,
	.mark_mirror = mb_mark_mirror,
	.mark_nomap = mb_mark_nomap,
	.clear_nomap = mb_clear_nomap,
	.set_node = mb_set_node,
	.trim_memory = mb_trim_memory,
	.enforce_memory_limit = mb_enforce_memory_limit,
	.cap_memory_range = mb_cap_memory_range,
	.mem_limit_remove_map = mb_mem_limit_remove_map,
	.set_current_limit = mb_set_current_limit,
	.set_bottom_up = mb_set_bottom_up,
	.allow_resize = mb_allow_resize,
	.phys_alloc = mb_phys_alloc,
	.phys_alloc_range = mb_phys_alloc_range,
	.phys_alloc_try_nid = mb_phys_alloc_try_nid,
	.alloc_range_nid = mb_alloc_range_nid,
	.alloc = mb_alloc,
	.alloc_raw = mb_alloc_raw,
	.alloc_from = mb_alloc_from,
	.alloc_low = mb_alloc_low,
	.alloc_node = mb_alloc_node,
	.alloc_try_nid = mb_alloc_try_nid,
	.alloc_try_nid_raw = mb_alloc_try_nid_raw,
	.alloc_exact_nid_raw = mb_alloc_exact_nid_raw,
	.overlaps_region = mb_overlaps_region,
	.is_region_reserved = mb_is_region_reserved,
	.is_memory = mb_is_memory,
	.is_map_memory = mb_is_map_memory,
	.is_region_memory = mb_is_region_memory,
	.is_reserved = mb_is_reserved,
	.phys_mem_size = mb_phys_mem_size,
	.reserved_size = mb_reserved_size,
	.start_of_dram = mb_start_of_dram,
	.end_of_dram = mb_end_of_dram,
	.search_pfn_nid = mb_search_pfn_nid,
	.free_ranges = mb_free_ranges,
	.mem_pfn_ranges = mb_mem_pfn_ranges,
	.free_all = mb_free_all,
	.discard = mb_discard,
	.dump = mb_dump,
	.globals = mb_globals,
	.type_info = mb_type_info,
	.regions = mb_regions,
};
