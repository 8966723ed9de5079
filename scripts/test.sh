#!/usr/bin/env bash
# Tessera's test entry point (CI runs it through .ci/run).
#
#   scripts/test.sh [TIER...]      TIER: unit, pcsc, windows; default: all, in that order
#
# On a Debian 12 machine, as root, it first installs what the selected tiers need and is missing (apt
# packages, rustup components and targets); with everything present that check takes a second.
#
# Tiers:
#   unit     cargo fmt --check, cargo clippy -D warnings, cargo test --workspace (PROPTEST_CASES >= 10000)
#   pcsc     tests against a private pcscd with a vpcd reader and the virtual card, via
#            scripts/with-virtual-reader.sh: every integration test whose file name contains "pcsc"
#            (crates/*/tests/*pcsc*.rs, run with --include-ignored: a plain cargo test ignores them), and
#            every executable in crates/virtual-card/tests/judges/ (third-party PIV clients), and
#            scripts/bench-vs-opensc.sh (APDUs of OpenSC's pkcs11-tool and of the card module on the same
#            card state, with the ratio). Each gets a fresh card.
#   windows  the release DLLs for x64 and x86 as they ship (scripts/build-release-dlls.sh: LTO, debug
#            information split into a file of its own, stripped; exports/imports/version resource checked,
#            sizes printed, at most 1.5 MB each); the conformance suites built for Windows run each DLL
#            under Wine 10 through Wine's winscard -> the private
#            pcscd -> the virtual card, with the same pass count as the Linux .so: the x64 DLL in a Debian
#            trixie chroot, the x86 DLL under 32-bit Wine in a Debian sid chroot (scripts/lib/wine.sh; both
#            cached in /var/cache/tessera, checked on every run, rebuilt when the check fails)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

all_tiers=(unit pcsc windows)

usage() {
  echo "usage: scripts/test.sh [${all_tiers[*]}]...   (default: all tiers, in that order)"
}

# --- Tier selection -----------------------------------------------------------------------------------
explicit=0
declare -A wanted=()
for arg in "$@"; do
  case $arg in
    unit | pcsc | windows) wanted[$arg]=1; explicit=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "scripts/test.sh: unknown tier '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
selected=()
for tier in "${all_tiers[@]}"; do
  if ((explicit == 0)) || [[ -n ${wanted[$tier]:-} ]]; then
    selected+=("$tier")
  fi
done
runs_windows() { [[ " ${selected[*]} " == *" windows "* ]]; }

# --- Output helpers -----------------------------------------------------------------------------------
header() { printf '\n==== %s ====\n' "$*"; }
step_header() { printf '\n---- %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }

failed_steps=()
# Runs one step; a failure is recorded and the tier goes on, so one run shows every failure. The step's
# exit status is left in step_status (step itself returns 0: the tiers run under `set -e`).
step_status=0
step() {
  local name=$1
  shift
  step_header "$name"
  local start
  start=$(now)
  if "$@"; then
    step_status=0
    printf -- '---- %s: ok (%s)\n' "$name" "$(elapsed "$start" "$(now)")"
  else
    step_status=$?
    printf -- '---- %s: FAILED with status %d (%s)\n' "$name" "$step_status" "$(elapsed "$start" "$(now)")"
    failed_steps+=("$name")
  fi
}

# Records a step that cannot run because one it needs failed: it counts as failed.
not_run() {
  local name=$1 reason=$2
  step_header "$name"
  printf -- '---- %s: FAILED, not run: %s\n' "$name" "$reason"
  failed_steps+=("$name")
}

# Scratch files of this run (the cards' stats files, the Wine setup logs) are removed however the script
# ends, and the background jobs still running (the Wine chroot setups, each the leader of a process group
# of its own) are stopped.
scratch_dir=
background_groups=()
on_exit() {
  local group
  for group in ${background_groups[@]+"${background_groups[@]}"}; do
    kill -TERM -- "-$group" 2>/dev/null || true
  done
  [[ -z $scratch_dir ]] || rm -rf "$scratch_dir"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- Prerequisites -------------------------------------------------------------------------------------
apt_packages_base=(libpcsclite-dev pkg-config pcscd vsmartcard-vpcd pcsc-tools opensc yubico-piv-tool ykcs11
  libclang-dev tmux jq openssl)
apt_packages_windows=(gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 debootstrap)
rust_targets_windows=(x86_64-pc-windows-gnu i686-pc-windows-gnu)

package_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0 "$@"
}

# Installs the missing packages; apt is retried once (a first install on a fresh machine has failed
# once with a passing dpkg "cannot access archive" error).
install_apt_packages() {
  local missing=() package
  for package in "$@"; do
    package_installed "$package" || missing+=("$package")
  done
  ((${#missing[@]} > 0)) || return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "missing packages: ${missing[*]} (run as root on Debian, or install them)" >&2
    return 1
  fi
  echo "installing: ${missing[*]}"
  apt_get update || { sleep 3; apt_get update; }
  apt_get install --no-install-recommends "${missing[@]}" ||
    { sleep 3; apt_get install --no-install-recommends "${missing[@]}"; }
}

ensure_rust() {
  if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
    export PATH=$HOME/.cargo/bin:$PATH
  fi
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup, toolchain >= 1.95)" >&2; return 1; }
}

ensure_rust_components() {
  command -v rustup >/dev/null || return 0 # a toolchain without rustup must bring clippy and rustfmt itself
  local installed missing=() component
  installed=$(rustup component list --installed 2>/dev/null)
  for component in "$@"; do
    grep -q "^$component" <<<"$installed" || missing+=("$component")
  done
  ((${#missing[@]} == 0)) || rustup component add "${missing[@]}"
}

ensure_rust_targets() {
  command -v rustup >/dev/null || { echo "rustup is needed to add targets: $*" >&2; return 1; }
  local installed missing=() target
  installed=$(rustup target list --installed 2>/dev/null)
  for target in "$@"; do
    grep -qx "$target" <<<"$installed" || missing+=("$target")
  done
  ((${#missing[@]} == 0)) || rustup target add "${missing[@]}"
}

prerequisites() {
  # Every tier builds against libpcsclite and runs pcscd (windows too: its runs go through pcscd).
  local packages=("${apt_packages_base[@]}")
  if runs_windows; then
    packages+=("${apt_packages_windows[@]}")
  fi
  install_apt_packages "${packages[@]}"
  ensure_rust
  if [[ " ${selected[*]} " == *" unit "* ]]; then
    ensure_rust_components clippy rustfmt
  fi
  if runs_windows; then
    ensure_rust_targets "${rust_targets_windows[@]}"
  fi
}

# --- Tiers ---------------------------------------------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-$repo_root/target}

# Makes the scratch folder on first use, in the target folder (which the Wine chroots see at the same path).
make_scratch() {
  [[ -z $scratch_dir ]] || return 0
  mkdir -p "$target_dir" && scratch_dir=$(mktemp -d "$target_dir/tessera-test.XXXXXX")
}

tier_unit() {
  # Property tests: at least 10 000 cases each.
  if [[ ! ${PROPTEST_CASES:-} =~ ^[0-9]+$ ]] || ((PROPTEST_CASES < 10000)); then
    export PROPTEST_CASES=10000
  fi
  echo "PROPTEST_CASES=$PROPTEST_CASES"
  step "cargo fmt --check" cargo fmt --all -- --check
  step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
  step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
  step "cargo test" cargo test --workspace --no-fail-fast
}

# The pcsc-tier integration tests: "PACKAGE TEST" for each crates/*/tests/*pcsc*.rs.
pcsc_test_targets() {
  local file crate package
  for file in crates/*/tests/*pcsc*.rs; do
    [[ -f $file ]] || continue
    crate=${file%%/tests/*}
    package=$(sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$crate/Cargo.toml" | head -n 1)
    echo "$package $(basename "$file" .rs)"
  done
}

tier_pcsc() {
  step "build tessera-virtual-card" cargo build -p tessera-virtual-card --bin tessera-virtual-card
  export TESSERA_VCARD_BIN=$target_dir/debug/tessera-virtual-card
  # The module the conformance runner loads by path: cargo test alone does not refresh it.
  step "build the module (.so)" cargo build -p tessera-minidriver

  local targets
  targets=$(pcsc_test_targets)
  local package test
  while read -r package test; do
    [[ -n $package ]] || continue
    # Compiled first, outside the namespace, so that a build failure is reported as such and the private
    # pcscd runs only as long as the tests. They are #[ignore]d (a plain cargo test has no reader for
    # them): --include-ignored runs them here, where the reader exists.
    step "build $package --test $test" cargo test --no-run --quiet -p "$package" --test "$test"
    if ((step_status == 0)); then
      step "$package --test $test (private pcscd)" \
        scripts/with-virtual-reader.sh --test-faults -- cargo test --quiet -p "$package" --test "$test" -- --include-ignored
    else
      not_run "$package --test $test (private pcscd)" "its build failed"
    fi
  done <<<"$targets"

  local judge
  for judge in crates/virtual-card/tests/judges/*; do
    [[ -f $judge && -x $judge ]] || continue
    step "judge ${judge##*/}" scripts/with-virtual-reader.sh -- "$judge"
  done

  # APDU economy against the peer, in one run on one card state: OpenSC's pkcs11-tool and the card
  # module (tessera bench --through-pcscd); both columns and the ratio printed. No minimum ratio yet: the
  # step fails only when a tool or a check fails.
  step "bench against OpenSC (scripts/bench-vs-opensc.sh)" scripts/bench-vs-opensc.sh
}

# Prints the size of both release DLLs side by side (each build step printed its own among its checks).
release_dll_sizes() {
  local arch dll status=0
  for arch in x64 x86; do
    dll=$target_dir/windows-release/$arch/tessera_minidriver.dll
    if [[ -f $dll ]]; then
      echo "$arch tessera_minidriver.dll: $(stat -c %s "$dll") bytes"
    else
      echo "$arch: no release DLL at $dll" >&2
      status=1
    fi
  done
  return "$status"
}

# Runs the conformance suites of one build against a fresh virtual card behind a private pcscd and
# keeps the report. KIND is "linux" (the .so, natively), "wine-x64" or "wine-x86" (the .exe and .dll of
# that architecture under Wine 10, in the chroot scripts/lib/wine.sh keeps for it, through Wine's
# winscard and the host's pcscd).
conformance_run() {
  local kind=$1 report=$2 stats
  make_scratch || return 1
  stats=$scratch_dir/$kind-stats.json
  rm -f "$stats"
  if [[ $kind == linux ]]; then
    # shellcheck disable=SC2016  # the quoted script expands its arguments in the child shell
    scripts/with-virtual-reader.sh --stats "$stats" --test-faults -- sh -c '"$0" --module "$1" --reader "$TESSERA_READER" \
      --provision --card-stats "$2"' "$target_dir/debug/tessera-conformance" \
      "$target_dir/debug/libtessera_minidriver.so" "$stats" >"$report" 2>&1 || true
  else
    local arch=${kind#wine-} target
    case $arch in
      x64) target=x86_64-pc-windows-gnu ;;
      x86) target=i686-pc-windows-gnu ;;
      *) echo "conformance_run: unknown kind $kind" >&2; return 2 ;;
    esac
    # Windows paths: the Linux file system is drive Z:.
    # The release DLL, as it ships (stripped, built by scripts/build-release-dlls.sh); the harness is the
    # debug build.
    local exe=$target_dir/$target/debug/tessera-conformance.exe
    local dll='Z:'${target_dir//\//\\}\\windows-release\\$arch\\tessera_minidriver.dll
    local stats_win='Z:'${stats//\//\\}
    # shellcheck disable=SC2016  # as above
    scripts/with-virtual-reader.sh --stats "$stats" --test-faults -- bash -c \
      'source scripts/lib/wine.sh && wine_exec --arch "$0" --bind "$1" -- wine "$2" --module "$3" \
        --reader "$TESSERA_READER" --provision --card-stats "$4"' \
      "$arch" "$target_dir" "$exe" "$dll" "$stats_win" >"$report" 2>&1 || true
  fi
  # Wine's exit status is not reliable (a crash can end with 0): the report's last line is the verdict.
  local verdict
  verdict=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$report" | tail -n 1)
  # Each failed case with the detail lines under it (why it failed), at most 60 lines.
  awk '/^(FAIL|ERROR)/ { keep = 1; print; next } /^ / && keep { print; next } { keep = 0 }' "$report" |
    head -n 60 || true
  echo "$kind: ${verdict:-no result line (see $report)}"
  [[ -n $verdict && $verdict == *" 0 failed" ]]
}

# Both reports end with the same "N passed, N failed" line.
same_counts() {
  local a b
  a=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)
  b=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n 1)
  echo "${1##*/}: $a"
  echo "${2##*/}: $b"
  [[ -n $a && $a == "$b" ]]
}

# Starts the setup of the Wine chroot of ARCH in the background (wine_chroot_setup: checked, and built when
# it is not cached or fails its check), in a process group of its own, with its output in the scratch folder.
wine_setup_start() {
  local arch=$1
  # shellcheck disable=SC2016  # expanded by the child shell
  setsid --wait bash -c 'source scripts/lib/wine.sh && wine_chroot_setup "$0"' "$arch" \
    >"$scratch_dir/wine-setup-$arch.log" 2>&1 </dev/null &
  wine_setup_pid[$arch]=$!
  background_groups+=("$!")
}

# Waits for the background setup of ARCH and prints what it printed; returns its status.
wine_setup_result() {
  local arch=$1 pid=${wine_setup_pid[$1]} status=0 group kept=()
  wait "$pid" || status=$?
  for group in "${background_groups[@]}"; do
    [[ $group == "$pid" ]] || kept+=("$group")
  done
  background_groups=(${kept[@]+"${kept[@]}"})
  cat "$scratch_dir/wine-setup-$arch.log"
  return "$status"
}

declare -A wine_setup_pid=()

tier_windows() {
  # shellcheck source=scripts/lib/wine.sh
  source scripts/lib/wine.sh
  local results=$target_dir/conformance-reports
  # No report of an earlier run may stand in for one of this run.
  rm -rf "$results"
  mkdir -p "$results"
  local -A target=([x64]=x86_64-pc-windows-gnu [x86]=i686-pc-windows-gnu)
  local -A suite=([x64]="Debian trixie" [x86]="Debian sid, new WoW64")
  local -A bits=([x64]=64-bit [x86]=32-bit)
  local -A built=()
  local arch
  # The chroots are set up while cargo builds: building one from scratch waits mostly on the mirror and
  # the disk (a few minutes, little CPU), cargo on the CPU.
  make_scratch
  for arch in x64 x86; do
    wine_setup_start "$arch"
  done
  for arch in x64 x86; do
    step "cross-build ${target[$arch]} (conformance harness)" cargo build -p tessera-conformance --target "${target[$arch]}"
    local harness_built=$step_status
    # The DLL as it ships: release profile (LTO), debug information split into a file of its own,
    # stripped; exports, imports, version resource and size (at most 1.5 MB) checked; its size printed.
    step "$arch release DLL: build, split debug info, exports/imports/version, size <= 1.5 MB" \
      scripts/build-release-dlls.sh "$arch"
    built[$arch]=$((harness_built | step_status))
  done
  if ((built[x64] == 0 && built[x86] == 0)); then
    step "release DLL sizes (x64, x86)" release_dll_sizes
  else
    not_run "release DLL sizes (x64, x86)" "a release DLL build failed"
  fi
  step "build the Linux module, harness and card" \
    cargo build -p tessera-minidriver -p tessera-conformance -p tessera-virtual-card
  local linux_built=$step_status
  export TESSERA_VCARD_BIN=$target_dir/debug/tessera-virtual-card
  if ((linux_built == 0)); then
    step "conformance: Linux .so through pcscd" conformance_run linux "$results/linux.txt"
  else
    not_run "conformance: Linux .so through pcscd" "the Linux build failed"
  fi
  # Both architectures are required: a Wine that cannot be had fails the tier.
  for arch in x64 x86; do
    local run="conformance: $arch DLL under ${bits[$arch]} Wine through pcscd"
    step "Wine chroot for $arch (${suite[$arch]})" wine_setup_result "$arch"
    local why=
    ((step_status == 0)) || why="no working Wine chroot for $arch"
    ((built[$arch] == 0 && linux_built == 0)) || why="a build it needs failed"
    if [[ -z $why ]]; then
      step "$run" conformance_run "wine-$arch" "$results/windows-$arch.txt"
      step "same pass counts (Linux, Windows $arch)" same_counts "$results/linux.txt" "$results/windows-$arch.txt"
    else
      not_run "$run" "$why"
      not_run "same pass counts (Linux, Windows $arch)" "$why"
    fi
  done
}

# --- Main ------------------------------------------------------------------------------------------------
header "prerequisites"
prerequisites_start=$(now)
prerequisites
echo "prerequisites ready ($(elapsed "$prerequisites_start" "$(now)"))"

summary=()
for tier in "${selected[@]}"; do
  header "tier $tier"
  before=${#failed_steps[@]}
  start=$(now)
  "tier_$tier"
  result=passed
  ((${#failed_steps[@]} == before)) || result=FAILED
  summary+=("$(printf '%-8s %-8s %s' "$tier" "$result" "$(elapsed "$start" "$(now)")")")
done

header "summary"
printf '%s\n' "${summary[@]}"
if ((${#failed_steps[@]} > 0)); then
  printf 'failed: %s\n' "${failed_steps[@]}"
  exit 1
fi
echo "all selected tiers passed"
