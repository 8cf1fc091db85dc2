# Shared by the ci/ scripts (sourced, not run).
#
# require_packages PKG...: every Debian package named must be installed. As
# root, missing ones are installed with apt; otherwise the exact apt-get line
# is printed and the script exits 2.

MBFUZZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing mbfuzz needs on Debian 12.
MBFUZZ_BUILD_PACKAGES=(
  cmake ninja-build g++ binutils xz-utils make
  libfmt-dev libcli11-dev libgtest-dev libboost-dev librapidcheck-dev
  liburcu-dev  # the kernel's own memblock suite (tools/lib/slab.c)
  libfdt-dev device-tree-compiler python3  # boot layouts from device trees (corpus/boot/gen-dtb-corpus)
  linux-source-6.1
)

# What the ground-truth boots of a real kernel need besides (ctest label qemu).
MBFUZZ_QEMU_PACKAGES=(qemu-system-x86)

# What the fuzz build (clang, libFuzzer) needs besides.
MBFUZZ_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

require_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "mbfuzz: missing packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "mbfuzz: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build_tree PRESET: configure (once) and build with a CMake preset.
build_tree() {
  local preset=$1
  shift
  cmake --preset "$preset" -S "$MBFUZZ_ROOT" "$@" >/dev/null
  cmake --build --preset "$preset"
}

# copy_kernel_tree TREE DEST: the part of a kernel tree mbfuzz builds from,
# with mm/memblock.c's original kept as DEST/memblock.c.orig for mutating.
copy_kernel_tree() {
  local tree=$1 dest=$2
  mkdir -p "$dest/mm" "$dest/include/linux" "$dest/tools"
  cp "$tree/Makefile" "$dest/"
  cp "$tree/include/linux/memblock.h" "$tree/include/linux/gfp_types.h" "$dest/include/linux/"
  cp -r "$tree/tools/include" "$dest/tools/"
  cp "$tree/mm/memblock.c" "$dest/memblock.c.orig"
  cp "$tree/mm/memblock.c" "$dest/mm/memblock.c"
}

# mutate DEST LINE BROKEN: DEST/mm/memblock.c is the original with the first
# line equal to LINE replaced by BROKEN; fails if LINE is not there.
mutate() {
  MB_LINE="$2" MB_BROKEN="$3" \
    perl -0pe 's/^\Q$ENV{MB_LINE}\E$/$ENV{MB_BROKEN}/m or die "line not found\n"' \
    "$1/memblock.c.orig" >"$1/mm/memblock.c"
}

# refuse_to_empty PROGRAM DIR: DIR is about to be emptied (rm -rf); exit 2
# when it is / or holds the repository.
refuse_to_empty() {
  if [ "$2" = / ] || [[ "$MBFUZZ_ROOT/" == "$2"/* ]]; then
    echo "$1: --out $2 holds the repository, and it is emptied first" >&2
    exit 2
  fi
}

# seconds_since START: seconds, to a tenth, since START (from date +%s%N).
seconds_since() {
  local ms=$(( ($(date +%s%N) - $1) / 1000000 ))
  echo "$((ms / 1000)).$((ms % 1000 / 100))"
}

# checked_corpus_traces: every committed trace that must agree with the
# specification (all of corpus/ but corpus/bad), one path per line, sorted.
checked_corpus_traces() { find "$MBFUZZ_ROOT/corpus" -name '*.trace' -not -path '*/bad/*' | sort; }

# The default tree, as the ci build extracted it.
default_kernel_tree() { echo "$MBFUZZ_ROOT/build/ci/kernel-tree/linux-source-6.1"; }

# fetch_kernel_image DIR: Debian's own amd64 kernel image of the same
# version as linux-source-6.1 (so the booted kernel runs the memblock.c under
# test), downloaded with apt and unpacked into DIR once; prints the vmlinuz path.
fetch_kernel_image() {
  local dir=$1 version pkg candidate versions
  mkdir -p "$dir"
  local existing
  existing=$(ls "$dir"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
  if [ -n "$existing" ]; then echo "$existing"; return 0; fi
  version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
  find_image() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' | awk '{print $1}' |
      while read -r candidate; do
        # (apt-cache show PKG=VERSION succeeds even when there is no such version)
        versions=$(apt-cache madison "$candidate" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
        if grep -qxF "$version" <<<"$versions"; then echo "$candidate"; fi
      done | head -n 1
  }
  pkg=$(find_image)
  if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    pkg=$(find_image)
  fi
  if [ -z "$pkg" ]; then
    echo "mbfuzz: no linux-image-6.1.0-*-amd64-unsigned of version $version in the apt lists;" >&2
    echo "  run: sudo apt-get update" >&2
    exit 2
  fi
  (cd "$dir" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) || {
    echo "mbfuzz: apt-get download $pkg=$version failed" >&2
    exit 2
  }
  dpkg-deb --fsys-tarfile "$dir"/"$pkg"_*.deb | tar -x -C "$dir" --wildcards './boot/vmlinuz-*'
  rm -f "$dir"/"$pkg"_*.deb
  ls "$dir"/boot/vmlinuz-* | head -n 1
}

# ---- fuzzing campaigns (ci/fuzz, ci/campaign) ----------------------------------

# encode_fuzz_seeds MBFUZZ DIR: the fuzzers' seeds as bytes (`mbfuzz encode`)
# in DIR: every example, regression and boundary trace, and the boot layouts
# of real machines (device trees, e820 maps). Run from the repository root.
encode_fuzz_seeds() {
  local mbfuzz=$1 seeds=$2 trace name
  mkdir -p "$seeds"
  for trace in corpus/traces/*.trace corpus/regressions/*.trace corpus/boundaries/*.trace \
               $(find corpus/boot/traces -name '*.trace' | sort); do
    [ -f "$trace" ] || continue
    name=$(basename "$trace" .trace)
    case "$trace" in corpus/boot/traces/*) name=$(echo "${trace#corpus/}" | tr / -) name=${name%.trace} ;; esac
    "$mbfuzz" encode "$trace" -o "$seeds/$name"
  done
}

# encode_bootmem_seeds MBFUZZ DIR: the bootmem fuzz target's seeds as bytes
# in DIR: the traces of bootmem's calls (corpus/bootmem).
encode_bootmem_seeds() {
  local mbfuzz=$1 seeds=$2 trace
  mkdir -p "$seeds"
  for trace in corpus/bootmem/*.trace; do
    [ -f "$trace" ] && "$mbfuzz" encode "$trace" -o "$seeds/$(basename "$trace" .trace)"
  done
}

# fuzz_target BUILD VARIANT: the fuzz target of a variant (numa64, ...,
# bootmem) in the fuzz build BUILD.
fuzz_target() {
  if [ "$2" = bootmem ]; then echo "$1/fuzz/bootmem_fuzzer"; else echo "$1/fuzz/memblock_$2_fuzzer"; fi
}

# Extra flags for the fuzzer when crash_signature reproduces an input (e.g.
# -timeout=10, so a hang is reported in seconds); none by default.
TRIAGE_REPRO_FLAGS=()

# crash_signature VARIANT FUZZER INPUT: runs INPUT (bytes) once through
# FUZZER, its output into INPUT.log, and prints the line crashes are
# deduplicated by: the mbfuzz-signature line of a divergence, else the
# sanitizer's SUMMARY line (without line:column), else "<kind> on VARIANT"
# (kind: the artifact's prefix, crash, timeout, oom, ...).
crash_signature() {
  local variant=$1 fuzzer=$2 input=$3
  "$fuzzer" ${TRIAGE_REPRO_FLAGS[@]+"${TRIAGE_REPRO_FLAGS[@]}"} "$input" >"$input.log" 2>&1 || true
  grep -m1 -oE '^mbfuzz-signature: .*' "$input.log" ||
    grep -m1 -oE '^SUMMARY: [A-Za-z]+Sanitizer: [^ ]+ [^ ]+' "$input.log" | sed -E 's/:[0-9]+:[0-9]+//' ||
    echo "$(basename "$input" | cut -d- -f1) on $variant"
}

# write_finding VARIANT MBFUZZ INPUT SIGNATURE DIR: one finding's folder,
# from INPUT and the INPUT.log crash_signature left: input, fuzzer.log,
# signature, report.txt and finding.trace (`mbfuzz repro`), minimized.trace
# (`mbfuzz minimize`), test.c and minimized-report.txt.
write_finding() {
  local variant=$1 mbfuzz=$2 input=$3 signature=$4 dir=$5
  # bootmem's fuzz target decodes bootmem's calls; memblock answers them on numa64.
  local as=(--variant "$variant")
  [ "$variant" = bootmem ] && as=(--variant numa64 --vocabulary bootmem)
  mkdir -p "$dir"
  cp "$input" "$dir/input"
  cp "$input.log" "$dir/fuzzer.log"
  echo "$signature" >"$dir/signature"
  "$mbfuzz" repro "${as[@]}" --format bytes "$input" --emit-trace "$dir/finding.trace" \
    >"$dir/report.txt" 2>&1 || true
  if "$mbfuzz" minimize "${as[@]}" "$dir/finding.trace" -o "$dir/minimized.trace" 2>>"$dir/report.txt"; then
    "$mbfuzz" repro "${as[@]}" "$dir/minimized.trace" --emit-c "$dir/test.c" \
      >"$dir/minimized-report.txt" 2>&1 || true
  fi
}

# triage_crashes VARIANT FUZZER MBFUZZ OUT START CLASSIFY INPUT...: the
# inputs libFuzzer saved (crashes, timeouts, OOMs), in the order given. Each
# is reproduced once to read its signature (crash_signature); the first input
# of each signature is kept. CLASSIFY names a function (or is empty) called
# as CLASSIFY VARIANT SIGNATURE INPUT: exit status 0 makes the input a
# finding (what it prints is a note), anything else not one (what it prints
# says why). A finding is written into OUT/VARIANT-<n> (write_finding), n
# being TRIAGE_FINDINGS, counted up across calls. Appends one row per
# signature to TRIAGE_ROWS, fields separated by $'\x1f' (read them with
# IFS=$'\x1f' read -r ...): variant, seconds from START
# (epoch) to the input's mtime, signature, the finding's folder (or the input
# when it is not a finding), note.
TRIAGE_FINDINGS=0
TRIAGE_ROWS=()
triage_crashes() {
  local variant=$1 fuzzer=$2 mbfuzz=$3 out=$4 start=$5 classify=$6
  shift 6
  local input found_after signature note dir is_finding
  local -A seen=()
  for input in "$@"; do
    [ -f "$input" ] || continue
    found_after=$(( $(stat -c %Y "$input") - start ))
    signature=$(crash_signature "$variant" "$fuzzer" "$input")
    [ -n "${seen[$signature]:-}" ] && continue
    seen[$signature]=1
    note="" is_finding=true
    if [ -n "$classify" ]; then
      if note=$("$classify" "$variant" "$signature" "$input"); then is_finding=true; else is_finding=false; fi
    fi
    if $is_finding; then
      TRIAGE_FINDINGS=$((TRIAGE_FINDINGS + 1))
      dir=$out/$variant-$TRIAGE_FINDINGS
      write_finding "$variant" "$mbfuzz" "$input" "$signature" "$dir"
    else
      dir=$input
    fi
    TRIAGE_ROWS+=("$(printf '%s\x1f%s\x1f%s\x1f%s\x1f%s' "$variant" "$found_after" "$signature" "$dir" "$note")")
  done
}
