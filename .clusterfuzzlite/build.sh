#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build of mbfuzz's fuzz targets. Honours what
# OSS-Fuzz sets: $CC $CXX $CFLAGS $CXXFLAGS (sanitizer and coverage flags),
# $LIB_FUZZING_ENGINE, $SRC, $WORK and $OUT. Writes to $OUT, per target: the
# binary, <target>.dict, <target>.options and <target>_seed_corpus.zip.
#
# The kernel tree under test: $MEMBLOCK_KERNEL_SRC if set, else $SRC/linux
# when the image provides one (.clusterfuzzlite/Dockerfile), else Debian's
# linux-source-6.1.
set -eu
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$root/CMakeLists.txt" ] || root=$SRC/mbfuzz  # OSS-Fuzz copies build.sh to $SRC
work=${WORK:-/tmp}/mbfuzz
kernel=${MEMBLOCK_KERNEL_SRC:-}
[ -n "$kernel" ] || { [ -f "$SRC/linux/mm/memblock.c" ] && kernel=$SRC/linux; } || true

# The fuzz targets, with OSS-Fuzz's flags and engine.
cmake -S "$root" -B "$work/fuzz" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DMBFUZZ_FUZZERS=ON -DMBFUZZ_LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DMBFUZZ_TESTS=OFF -DMBFUZZ_FMT_HEADER_ONLY=ON ${kernel:+-DMEMBLOCK_KERNEL_SRC="$kernel"}
cmake --build "$work/fuzz" --target fuzzers

# A plain mbfuzz (no sanitizer: it runs here, under any sanitizer the build
# is for) to encode text traces into seeds.
env -u CFLAGS -u CXXFLAGS cmake -S "$root" -B "$work/tools" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DMBFUZZ_TESTS=OFF -DMBFUZZ_FMT_HEADER_ONLY=ON ${kernel:+-DMEMBLOCK_KERNEL_SRC="$kernel"}
cmake --build "$work/tools" --target mbfuzz
mbfuzz=$work/tools/cli/mbfuzz

seeds=$work/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{memblock,bootmem,trace_parser,dtb_boot,e820_boot,log_boot}
traces=$(find "$root/corpus/traces" "$root/corpus/known" "$root/corpus/regressions" "$root/corpus/boundaries" "$root/corpus/boot/traces" \
           -name '*.trace' | sort)
for trace in $traces; do
  name=$(echo "${trace#"$root"/corpus/}" | tr / -)
  "$mbfuzz" encode "$trace" -o "$seeds/memblock/${name%.trace}"
  cp "$trace" "$seeds/trace_parser/$name"
done
for trace in "$root"/corpus/bootmem/*.trace; do
  "$mbfuzz" encode "$trace" -o "$seeds/bootmem/$(basename "$trace" .trace)"
  cp "$trace" "$seeds/trace_parser/bootmem-$(basename "$trace")"
done
cp "$root"/corpus/bad/*.trace "$seeds/trace_parser/"
cp "$root"/corpus/boot/e820/*.e820 "$root"/corpus/bad/*.e820 "$seeds/e820_boot/"
cp "$root"/corpus/boot/logs/*.log "$root"/corpus/bad/*.log "$seeds/log_boot/"
cp "$root"/corpus/bad/*.dtb "$seeds/dtb_boot/"
if command -v dtc >/dev/null; then
  for dts in "$root"/core/tests/dts/*.dts; do
    dtc -q -I dts -O dtb -o "$seeds/dtb_boot/$(basename "$dts" .dts).dtb" "$dts"
  done
fi

for binary in "$work"/fuzz/fuzz/*_fuzzer; do
  target=$(basename "$binary")
  case "$target" in
    memblock_*) corpus=memblock ;;
    *) corpus=${target%_fuzzer} ;;
  esac
  cp "$binary" "$work/fuzz/fuzz/$target.dict" "$work/fuzz/fuzz/$target.options" "$OUT/"
  rm -f "$OUT/${target}_seed_corpus.zip"
  (cd "$seeds/$corpus" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  # The corpus that long campaigns merged for this variant (ci/campaign).
  variant=${target#memblock_}
  variant=${variant%_fuzzer}
  if [ "$corpus" = memblock ] && [ -d "$root/corpus/fuzz/$variant" ]; then
    (cd "$root/corpus/fuzz/$variant" && zip -q -r "$OUT/${target}_seed_corpus.zip" . -x README.md)
  fi
done
