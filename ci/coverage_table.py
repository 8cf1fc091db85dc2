#!/usr/bin/env python3
"""ci/coverage's side-by-side table: llvm-cov's per-function tables of
memblock.c for mbfuzz and for the kernel suite, their JSON exports, and
ci/unreachable-in-userspace.txt; writes Markdown and prints it."""
import json
import sys

mb_table, mb_json, ks_table, ks_json, unreachable_file, tree, md_path = sys.argv[1:]


def plain(name):
    # llvm-cov prefixes a static function with its file: "bridge.c:memblock_dump".
    return name.rsplit(":", 1)[-1]


def functions(table):
    """name -> (lines, lines covered, branches, branches covered)."""
    result = {}
    with open(table) as f:
        for line in f:
            p = line.split()
            if len(p) == 10 and p[0] != "TOTAL" and p[1].isdigit():
                lines, lmiss, branches, bmiss = int(p[4]), int(p[5]), int(p[7]), int(p[8])
                result[plain(p[0])] = (lines, lines - lmiss, branches, branches - bmiss)
    return result


def export(path):
    """(lines, covered, branches, covered) of memblock.c; name -> first line."""
    data = json.load(open(path))["data"][0]
    files = [f for f in data["files"] if f["filename"].endswith("/memblock.c")]
    if len(files) != 1:
        sys.exit(f"ci/coverage: {path}: expected one memblock.c, found {len(files)}")
    s = files[0]["summary"]
    totals = (s["lines"]["count"], s["lines"]["covered"],
              s["branches"]["count"], s["branches"]["covered"])
    first = {plain(fn["name"]): fn["regions"][0][0] for fn in data["functions"]
             if fn["filenames"][0].endswith("/memblock.c")}
    return totals, first


unreachable = {}
with open(unreachable_file) as f:
    for n, line in enumerate(f, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition("|")
        if not sep or not name.strip() or not reason.strip():
            sys.exit(f"ci/coverage: {unreachable_file}:{n}: expected 'function|reason'")
        unreachable[name.strip()] = reason.strip()

sides = []
for table, js in ((mb_table, mb_json), (ks_table, ks_json)):
    fns = functions(table)
    totals, first = export(js)
    sums = tuple(sum(v[i] for v in fns.values()) for i in range(4))
    if sums != totals:
        print(f"ci/coverage: warning: {table}: the functions add up to {sums}, "
              f"memblock.c's totals are {totals}", file=sys.stderr)
    if totals[1] == 0:
        sys.exit(f"ci/coverage: {table}: no line of memblock.c covered (no profile?)")
    sides.append((fns, totals, first))

names = set(sides[0][0]) | set(sides[1][0])
first = {**sides[1][2], **sides[0][2]}
order = sorted(names, key=lambda n: (first.get(n, 1 << 30), n))
missing = sorted(set(unreachable) - names)
for name in missing:
    print(f"ci/coverage: warning: {unreachable_file} lists {name}, "
          f"which is not a function of memblock.c", file=sys.stderr)


def frac(c, t):
    return f"{c}/{t}"


def pct(c, t):
    return f"{c}/{t} ({100.0 * c / t:.2f}%)" if t else f"{c}/{t}"


def reachable(fns, totals):
    out = list(totals)
    for name in unreachable:
        if name in fns:
            lines, lcov, branches, bcov = fns[name]
            out[0] -= lines
            out[1] -= lcov
            out[2] -= branches
            out[3] -= bcov
    return out


md = []
md.append("# memblock.c coverage: mbfuzz and the kernel's suite")
md.append("")
md.append(f"Tree: `{tree}`. mbfuzz: numa64's memblock.c, tests and corpus. "
          "Kernel suite: tools/testing/memblock, `make NUMA=1`, ./main. "
          "Lines and branches covered/total, as `llvm-cov report` counts them; "
          "functions in source order. (u): listed in ci/unreachable-in-userspace.txt.")
md.append("")
md.append("| function | mbfuzz lines | mbfuzz branches | kernel suite lines | kernel suite branches |")
md.append("|---|---:|---:|---:|---:|")
for name in order:
    cells = [name + (" (u)" if name in unreachable else "")]
    for fns, _, _ in sides:
        if name in fns:
            lines, lcov, branches, bcov = fns[name]
            cells += [frac(lcov, lines), frac(bcov, branches)]
        else:
            cells += ["-", "-"]
    md.append("| " + " | ".join(cells) + " |")
if missing:
    md.append("")
    md.append("Listed as unreachable but not in memblock.c: " + ", ".join(missing) + ".")
listed = [n for n in unreachable if n in names]
md.append("")
md.append(f"Reachable: every function but the {len(listed)} listed ({', '.join(listed)}).")
md.append("")
md.append("| totals | mbfuzz | kernel suite |")
md.append("|---|---:|---:|")
(mb_fns, mb_tot, _), (ks_fns, ks_tot, _) = sides
mb_r, ks_r = reachable(mb_fns, mb_tot), reachable(ks_fns, ks_tot)
md.append(f"| branches, all | {pct(mb_tot[3], mb_tot[2])} | {pct(ks_tot[3], ks_tot[2])} |")
md.append(f"| branches, reachable | {pct(mb_r[3], mb_r[2])} | {pct(ks_r[3], ks_r[2])} |")
md.append(f"| lines, all | {pct(mb_tot[1], mb_tot[0])} | {pct(ks_tot[1], ks_tot[0])} |")
md.append(f"| lines, reachable | {pct(mb_r[1], mb_r[0])} | {pct(ks_r[1], ks_r[0])} |")
text = "\n".join(md) + "\n"
with open(md_path, "w") as f:
    f.write(text)
sys.stdout.write(text)
