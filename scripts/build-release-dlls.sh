#!/usr/bin/env bash
# Builds the card module for Windows as it ships, for x64 and x86 (mingw cross toolchains):
#
#  * the release profile (fat LTO, one codegen unit, unwinding kept for the panic boundary), through
#    `cargo rustc --crate-type cdylib`: the crate is also an rlib, and Cargo applies LTO only when no rlib
#    is built alongside;
#  * its debug information (line tables and symbols) split into tessera_minidriver.dll.debug, kept for
#    support: `addr2line -e tessera_minidriver.dll.debug ADDRESS` turns an address from a crash report
#    into a source line;
#  * the DLL stripped, with a .gnu_debuglink section naming the debug file (gdb and WinDbg's DWARF
#    plug-ins find it there);
#  * checked: exports, imports and version resource (scripts/lib/windows-artifacts.sh), the exported
#    CardAcquireContext resolving to its source line through the debug file, and the size.
#
# usage: scripts/build-release-dlls.sh [--max-bytes N] [--out DIR] [x64|x86]...   (default: both)
#   --max-bytes N   largest acceptable stripped DLL (default 1500000, i.e. 1.5 MB)
#   --out DIR       where the DLLs and debug files go (default target/windows-release)
# Prints one line per DLL: "x64 tessera_minidriver.dll: N bytes (debug file: M bytes)". Exits non-zero
# when a build or a check fails or a DLL is larger than the limit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
# shellcheck source=scripts/lib/windows-artifacts.sh
source scripts/lib/windows-artifacts.sh

max_bytes=1500000
target_dir=${CARGO_TARGET_DIR:-$repo_root/target}
out_dir=$target_dir/windows-release
arches=()
while (($# > 0)); do
  case $1 in
    --max-bytes) max_bytes=$2; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    x64 | x86) arches+=("$1"); shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-release-dlls: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
((${#arches[@]} > 0)) || arches=(x64 x86)

declare -A triple=([x64]=x86_64-pc-windows-gnu [x86]=i686-pc-windows-gnu)
declare -A tools=([x64]=x86_64-w64-mingw32 [x86]=i686-w64-mingw32)

failed=0
summary=()
for arch in "${arches[@]}"; do
  t=${triple[$arch]} prefix=${tools[$arch]}
  echo "---- $arch ($t): cargo rustc --release --crate-type cdylib"
  if ! cargo rustc --quiet --release -p tessera-minidriver --lib --crate-type cdylib --target "$t"; then
    echo "$arch: the release build failed" >&2
    failed=1
    continue
  fi
  built=$target_dir/$t/release/tessera_minidriver.dll
  dest=$out_dir/$arch
  mkdir -p "$dest"
  rm -f "$dest/tessera_minidriver.dll" "$dest/tessera_minidriver.dll.debug"
  # The debug link records the debug file's name and CRC; objcopy looks for it by that name, so it is
  # made in the destination folder.
  (
    cd "$dest"
    "$prefix-objcopy" --only-keep-debug "$built" tessera_minidriver.dll.debug
    "$prefix-objcopy" --strip-all --add-gnu-debuglink=tessera_minidriver.dll.debug "$built" tessera_minidriver.dll
  ) || { echo "$arch: splitting the debug information failed" >&2; failed=1; continue; }
  dll=$dest/tessera_minidriver.dll debug=$dest/tessera_minidriver.dll.debug
  check_dll "$dll" "$prefix-objdump" || failed=1
  # Whole outputs first: `grep -q` or `awk … exit` on a pipe would end the producer early, which fails
  # the pipe under pipefail.
  sections=$("$prefix-objdump" -h "$dll")
  if ! grep '\.gnu_debuglink' <<<"$sections" >/dev/null; then
    echo "$arch: the stripped DLL has no .gnu_debuglink section" >&2
    failed=1
  fi
  if grep '\.debug_' <<<"$sections" >/dev/null; then
    echo "$arch: the stripped DLL still carries debug sections" >&2
    failed=1
  fi
  # The exported entry point, looked up in the debug file, names its source line.
  symbols=$("$prefix-nm" "$debug")
  address=$(awk '$2 == "T" && $3 ~ /^_?CardAcquireContext(@[0-9]+)?$/ {print $1}' <<<"$symbols" | head -n 1)
  source_line=
  [[ -z $address ]] || source_line=$("$prefix-addr2line" -e "$debug" "0x$address")
  echo "$arch: CardAcquireContext at 0x${address:-?} is ${source_line:-not found}"
  if [[ $source_line != *crates/minidriver/src/abi/entries/acquire.rs:* ]]; then
    echo "$arch: the debug file does not resolve CardAcquireContext to its source line" >&2
    failed=1
  fi
  size=$(stat -c %s "$dll")
  debug_size=$(stat -c %s "$debug")
  line="$arch tessera_minidriver.dll: $size bytes (debug file: $debug_size bytes)"
  if ((size > max_bytes)); then
    line+=" -- larger than the limit of $max_bytes bytes"
    failed=1
  fi
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
echo "DLLs and debug files in $out_dir"
exit "$failed"
