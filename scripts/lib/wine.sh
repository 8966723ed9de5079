# shellcheck shell=bash disable=SC2016  # single-quoted `bash -c` scripts expand in the child, on purpose
# Wine tier helpers: two cached Debian chroots with Wine 10, one per Windows architecture, and a way to run
# Windows programs in them against a private pcscd.
#
# Why a chroot: the host's Wine (Debian 12, Wine 8.0) has a stub winscard.dll (SCardConnectW is not
# implemented), while Wine 10 forwards winscard to pcsc-lite. Why the host's libpcsclite inside it: the
# chroot's own client library speaks pcsc-lite protocol 4:5, the host's pcscd (1.9.9) only 4:4, and pcscd
# turns a client of another protocol away.
#
# The two chroots share nothing (own directory, own Wine prefix, own locks), and neither ever gets the
# i386 architecture, so neither depends on the mirror's i386 index:
#   x64  Debian trixie: wine + wine64 (10.0~repack-6) run 64-bit programs.
#   x86  Debian sid: its Wine (10.0~repack-12) is built with "new WoW64": the 64-bit package also ships the
#        i386 PE DLLs (lib/x86_64-linux-gnu/wine/i386-windows) and runs 32-bit programs on 64-bit Unix
#        libraries, so the 32-bit DLL talks to the host's 64-bit libpcsclite like the 64-bit one.
# Trixie's own 32-bit Wine would need wine32:i386 beside wine64 (old WoW64). That is not used: it needs the
# mirror's i386 index, which verifies on some machines and not on others; and once wine32 is installed,
# Debian's `wine` wrapper starts every program with the 32-bit loader, which cannot use a prefix that the
# 64-bit Wine alone created (its syswow64 is empty), so the 64-bit programs fail too (`wine: could not
# load kernel32.dll, status c0000135`), and so does the `wineboot -u` meant to repair the prefix.
#
# Nothing is assumed from a marker file alone: every wine_chroot_setup call runs a check in the chroot (a
# 64-bit program, and for x86 a 32-bit program, must run and report their architecture), and a cached
# chroot that fails it is rebuilt.
#
# Source this file; it sets no shell options and is safe under `set -euo pipefail`. Needs root.
#
#   wine_chroot_setup ARCH              create (once), check (always) the chroot of ARCH (x64 or x86)
#   wine_exec [OPTIONS] -- CMD...       run CMD inside a chroot (e.g. `wine prog.exe args`)
#
# Environment:
#   TESSERA_WINE_CACHE    folder that holds the chroots (default /var/cache/tessera): wine-trixie, wine-sid
#   TESSERA_WINE_MIRROR   Debian mirror URI (default: the main suite's URIs: in the host's apt sources)
#   TESSERA_WINE_WORKDIR  folder bind-mounted at the same path (default: the repository root)
#   TESSERA_WINEDEBUG     WINEDEBUG for the Windows program (default -all)
#
# Mounts and processes: every mount is made inside a fresh private mount namespace (`unshare -m -p --fork
# --propagation private`), a child of the caller's namespace (so the caller's private /run/pcscd is
# visible); a trap unmounts it all, and when that namespace ends nothing it mounted can remain whatever
# happened. The PID namespace makes the kernel kill and reap whatever Wine leaves running (wineserver,
# winedevice.exe) when the run ends.

TESSERA_WINE_LIB="${BASH_SOURCE[0]}"

# Bump when the chroots' content or layout changes, so that old caches are rebuilt. Format 5: one chroot
# per architecture, never an i386 package (format 4 added wine32:i386 to the trixie chroot).
WINE__CACHE_FORMAT="tessera-wine-5"
# Paths inside the chroot.
WINE__PREFIX_IN_CHROOT="/var/lib/tessera/wineprefix"
WINE__HOST_LIB_IN_CHROOT="/opt/tessera/host-pcsclite"
# PATH inside the chroot; the last entry has wineserver on Debian releases after trixie.
WINE__PATH_IN_CHROOT="/usr/local/bin:/usr/bin:/bin:/usr/lib/x86_64-linux-gnu/wine"
# The file that makes a Wine "new WoW64": the i386 ntdll.dll in the 64-bit package.
WINE__NEW_WOW64_NTDLL="/usr/lib/x86_64-linux-gnu/wine/i386-windows/ntdll.dll"

wine__log() { printf 'wine.sh: %s\n' "$*" >&2; }

# The Debian suite of an architecture's chroot.
wine__suite_of() { # ARCH
    case "$1" in
        x64) printf 'trixie' ;;
        x86) printf 'sid' ;;
        *) wine__log "unknown Wine architecture '$1' (x64 or x86)"; return 1 ;;
    esac
}

wine__cache_of() { # ARCH
    local suite
    suite="$(wine__suite_of "$1")" || return 1
    printf '%s/wine-%s' "${TESSERA_WINE_CACHE:-/var/cache/tessera}" "$suite"
}

wine__marker_ok() { [[ -f "$1" && "$(cat "$1")" == "$WINE__CACHE_FORMAT" ]]; }

# Runs a command, and once more after a short pause if it fails (apt mirrors have passing hiccups).
wine__retry_once() {
    if "$@"; then return 0; fi
    wine__log "failed, retrying once: $*"
    sleep 3
    "$@"
}

# The Debian mirror of the host: the first URI of the deb822 stanza whose Suites: holds a plain codename
# (no "-updates"/"-security"), or of the first plain `deb URI codename` line in sources.list.
wine_mirror() {
    if [[ -n "${TESSERA_WINE_MIRROR:-}" ]]; then
        printf '%s\n' "$TESSERA_WINE_MIRROR"
        return 0
    fi
    local file uri=""
    for file in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        [[ -r "$file" ]] || continue
        uri="$(awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && plain && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit }
            }
            /^[ \t]*$/ { flush(); types = ""; uris = ""; plain = 0; next }
            /^[ \t]*#/ { next }
            tolower($1) == "types:" { $1 = ""; types = $0 }
            tolower($1) == "uris:" { $1 = ""; sub(/^ +/, ""); uris = $0 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /[-\/]/) plain = 1 }
            END { if (!found) flush() }
        ' "$file")"
        [[ -n "$uri" ]] && break
    done
    if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
        uri="$(awk '$1 == "deb" {
                i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) !~ /[-\/]/) { print $i; exit }
            }' /etc/apt/sources.list)"
    fi
    if [[ -z "$uri" ]]; then
        wine__log "no Debian mirror found in the host's apt sources; set TESSERA_WINE_MIRROR"
        return 1
    fi
    printf '%s\n' "${uri%/}"
}

# Installs apt packages on the host (CI machines start fresh).
wine__apt_install_host() {
    wine__log "apt-get install $*"
    wine__retry_once apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive wine__retry_once apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The host's libpcsclite.so.1 (x86-64), which speaks the host pcscd's protocol.
wine__host_pcsclite() {
    local lib
    lib="$(ldconfig -p | awk '/libpcsclite\.so\.1 .*x86-64/ { print $NF; exit }')"
    if [[ -z "$lib" || ! -e "$lib" ]]; then
        wine__log "the host's libpcsclite.so.1 was not found (apt-get install libpcsclite1)"
        return 1
    fi
    readlink -f "$lib"
}

# Refuses to go on if anything is mounted below DIR in this namespace (an rm -rf would go through it).
wine__assert_nothing_mounted_below() {
    local dir="$1"
    if findmnt -rno TARGET | awk -v d="$dir/" 'index($0 "/", d) == 1 { found = 1 } END { exit !found }'; then
        wine__log "something is mounted below $dir in this mount namespace; refusing to touch it"
        return 1
    fi
}

# wine_chroot_setup ARCH
#
# Makes sure the chroot of ARCH (x64 or x86) works: checks the cached one, builds it when there is none
# or the cached one fails the check, and checks the new one. Prints what the check saw; returns non-zero,
# with the reason, when no working chroot could be had.
wine_chroot_setup() {
    local arch="${1:-}" cache
    cache="$(wine__cache_of "$arch")" || return 1
    command -v unshare >/dev/null || wine__apt_install_host util-linux || return 1
    command -v flock >/dev/null || wine__apt_install_host util-linux || return 1
    mkdir -p "$cache" || return 1
    # A child shell with options of its own: a failed step stops there even when the caller runs this
    # in an `if` or with `||` (which switches `set -e` off in everything the caller's shell runs).
    bash -c 'set -euo pipefail; source "$1"; shift; wine__setup_locked "$@"' \
        wine-setup "$TESSERA_WINE_LIB" "$arch" "$cache"
}

# The body of wine_chroot_setup, in a shell of its own with `set -euo pipefail`. Not for direct use.
wine__setup_locked() { # ARCH CACHE
    local arch="$1" cache="$2" suite started=$SECONDS reason
    suite="$(wine__suite_of "$arch")"
    # One setup at a time per chroot; a second caller waits, then finds the chroot checked.
    exec 9>"$cache/setup.lock"
    flock 9
    if wine__marker_ok "$cache/complete"; then
        if reason="$(wine__check "$arch" "$cache" 2>&1)"; then
            wine__log "$arch chroot ($suite, cached in $cache) works: $reason"
            return 0
        fi
        wine__log "the cached $arch chroot in $cache fails its check, so it is rebuilt:"
        printf '%s\n' "$reason" | sed 's/^/    /' >&2
    elif [[ -e "$cache/complete" || -e "$cache/root" ]]; then
        wine__log "the cache in $cache is not a finished chroot of format $WINE__CACHE_FORMAT: rebuilding it"
    fi
    rm -f "$cache/complete"
    wine__build "$arch" "$cache"
    printf '%s\n' "$WINE__CACHE_FORMAT" >"$cache/complete"
    if ! reason="$(wine__check "$arch" "$cache" 2>&1)"; then
        rm -f "$cache/complete"
        wine__log "the new $arch chroot in $cache fails its check:"
        printf '%s\n' "$reason" | sed 's/^/    /' >&2
        return 1
    fi
    wine__log "$arch chroot ($suite) built in $((SECONDS - started)) s" \
        "($(du -sh --one-file-system "$cache" | cut -f1)) and works: $reason"
}

# Builds the chroot from scratch: debootstrap, Wine, prefix. Holds the chroot's exec lock, so that no
# wine_exec runs in a tree that is being replaced. Not for direct use.
wine__build() { # ARCH CACHE
    local arch="$1" cache="$2" root="$2/root" suite mirror
    suite="$(wine__suite_of "$arch")"
    command -v debootstrap >/dev/null || wine__apt_install_host debootstrap
    mirror="$(wine_mirror)"
    exec 8>"$cache/exec.lock"
    flock 8
    wine__assert_nothing_mounted_below "$root"
    wine__log "creating the $arch Wine chroot ($suite) in $root from $mirror"
    # Leftovers of cache format 4 (its 32-bit attempt).
    rm -f "$cache/complete32" "$cache/wine32.failed" "$cache/wine32.err"
    if ! unshare -m -p --fork --kill-child --propagation private -- \
        bash -c 'source "$1"; shift; wine__build_in_namespace "$@"' \
        wine-build "$TESSERA_WINE_LIB" "$root" "$mirror" "$suite"; then
        wine__log "the $arch chroot ($suite) could not be set up"
        return 1
    fi
    flock -u 8
}

# wine__check ARCH CACHE: prints one line of evidence per check and returns 0 when every check passed;
# prints the failures (all of them, not only the first) and returns 1 otherwise.
#   - no foreign dpkg architecture (an i386 package in a chroot is what broke the 64-bit Wine before);
#   - a 64-bit program runs: Wine's 64-bit cmd.exe reports PROCESSOR_ARCHITECTURE=AMD64 and exits 0;
#   - x86 only: a 32-bit program runs: the prefix's syswow64\cmd.exe (an i386 PE) reports x86.
wine__check() {
    local arch="$1" cache="$2" root="$2/root" failed=0 evidence=() foreign out
    foreign="$(chroot "$root" dpkg --print-foreign-architectures 2>&1)" || {
        echo "dpkg in the chroot failed: $foreign"
        return 1
    }
    if [[ -n "$foreign" ]]; then
        echo "the chroot has foreign dpkg architectures: $(tr '\n' ' ' <<<"$foreign")"
        failed=1
    fi
    if [[ "$arch" == x86 && ! -f "$root$WINE__NEW_WOW64_NTDLL" ]]; then
        echo "this Wine is not built with new WoW64 ($WINE__NEW_WOW64_NTDLL is missing): 32-bit programs need it"
        failed=1
    fi
    if out="$(wine__run_architecture_probe "$arch" 'C:\windows\system32\cmd.exe' AMD64)"; then
        evidence+=("$out")
    else
        echo "$out"
        failed=1
    fi
    if [[ "$arch" == x86 ]]; then
        if out="$(wine__run_architecture_probe "$arch" 'C:\windows\syswow64\cmd.exe' x86)"; then
            evidence+=("$out")
        else
            echo "$out"
            failed=1
        fi
    fi
    ((failed == 0)) || return 1
    local joined
    printf -v joined '%s; ' "${evidence[@]}"
    printf '%s\n' "${joined%; }"
}

# Runs PROGRAM (a cmd.exe of the prefix) in the chroot of ARCH with `/c echo %PROCESSOR_ARCHITECTURE%`;
# succeeds when it exits 0 and printed exactly EXPECTED. Prints what it saw either way.
wine__run_architecture_probe() { # ARCH PROGRAM EXPECTED
    local arch="$1" program="$2" expected="$3" out status=0 bits=64
    [[ "$expected" == x86 ]] && bits=32
    out="$(TESSERA_WINEDEBUG=-all wine_exec --arch "$arch" --no-pcscd --workdir / -- \
        wine "$program" /c 'echo %PROCESSOR_ARCHITECTURE%' 2>&1 </dev/null)" || status=$?
    out="$(tr -d '\r' <<<"$out")"
    if ((status == 0)) && [[ "$out" == "$expected" ]]; then
        printf '%s-bit program ran (%s printed PROCESSOR_ARCHITECTURE=%s)' "$bits" "$program" "$out"
        return 0
    fi
    printf '%s-bit program did not run: wine %s exited %d, printed: %s' "$bits" "$program" "$status" \
        "$(head -c 600 <<<"$out" | tr '\n' '|')"
    return 1
}

# Mount bookkeeping for the namespace helpers below (each runs in its own `bash -c`, so a global is private
# to one run; a global, not a local, because the EXIT trap runs after the function has returned).
WINE__MOUNTED=()

wine__bind() { # ROOT SOURCE TARGET-INSIDE-ROOT
    mkdir -p "$1$3"
    mount --rbind "$2" "$1$3"
    WINE__MOUNTED+=("$1$3")
}

# shellcheck disable=SC2317  # called through a trap
wine__unmount_all() {
    local i
    for ((i = ${#WINE__MOUNTED[@]} - 1; i >= 0; i--)); do
        umount -R "${WINE__MOUNTED[i]}" 2>/dev/null || umount -R -l "${WINE__MOUNTED[i]}" 2>/dev/null ||
            wine__log "could not unmount ${WINE__MOUNTED[i]} (it goes away with the namespace)"
    done
    WINE__MOUNTED=()
}

# The namespace helpers run as PID 1 of their PID namespace, which ignores every signal it has no handler
# for: without these traps Ctrl-C or a CI's SIGTERM would not stop them (the EXIT trap then unmounts).
wine__exit_on_signals() {
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# proc, dev and sys for package scripts and Wine; unmounted by the EXIT trap.
wine__mount_system() { # ROOT
    WINE__MOUNTED=()
    trap wine__unmount_all EXIT
    mount -t proc proc "$1/proc" && WINE__MOUNTED+=("$1/proc")
    wine__bind "$1" /dev /dev
    wine__bind "$1" /sys /sys
}

wine__apt_in_chroot() { # ROOT LOG PACKAGE...
    local root="$1" log="$2"
    shift 2
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' \
        apt "$@" >"$log" 2>&1
}

wine__wineboot() { # ROOT LOG
    # mscoree/mshtml disabled: no Mono/Gecko prompts (there is no display and no download).
    chroot "$1" /usr/bin/env -i PATH="$WINE__PATH_IN_CHROOT" HOME=/root WINEPREFIX="$WINE__PREFIX_IN_CHROOT" \
        WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" XDG_RUNTIME_DIR=/tmp \
        bash -c 'wineboot -i && wineserver -w' wineboot >"$2" 2>&1
}

# Starts from an empty tree (an interrupted earlier setup leaves a partial one). --one-file-system keeps
# rm out of anything mounted below (the caller has also checked that nothing is).
wine__debootstrap() { # ROOT MIRROR SUITE
    rm -rf --one-file-system "$1"
    mkdir -p "$1"
    debootstrap --variant=minbase --arch=amd64 "$3" "$1" "$2" >"$1.debootstrap.log" 2>&1
}

# Runs inside a private mount namespace: debootstrap, apt, wineboot. Not for direct use.
wine__build_in_namespace() { # ROOT MIRROR SUITE
    set -euo pipefail
    wine__exit_on_signals
    local root="$1" mirror="$2" suite="$3" t0=$SECONDS
    if ! wine__retry_once wine__debootstrap "$root" "$mirror" "$suite"; then
        wine__log "debootstrap failed; last lines of $root.debootstrap.log:"
        tail -n 20 "$root.debootstrap.log" >&2
        return 1
    fi
    wine__log "debootstrap $suite: $((SECONDS - t0)) s"

    wine__mount_system "$root"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    # Follow the host's apt policy on stale Release files (mirrors that serve a dated snapshot). The dump
    # is read whole first: `apt-config | grep -q` under pipefail fails whenever grep stops reading early.
    local apt_config
    apt_config=$(apt-config dump 2>/dev/null || true)
    if grep -q '^Acquire::Check-Valid-Until "false"' <<<"$apt_config"; then
        printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/99tessera-valid-until"
    fi
    # The chroot stays amd64-only whatever the mirror offers: apt must never fetch an i386 index.
    printf 'APT::Architectures { "amd64"; };\n' >"$root/etc/apt/apt.conf.d/99tessera-amd64-only"
    local t1=$SECONDS packages=(wine wine64 libpcsclite1)
    if ! wine__retry_once wine__apt_in_chroot "$root" "$root.apt.log" "${packages[@]}"; then
        wine__log "apt-get in the chroot failed; last lines of $root.apt.log:"
        tail -n 20 "$root.apt.log" >&2
        return 1
    fi
    wine__log "apt-get install ${packages[*]}: $((SECONDS - t1)) s"

    local t2=$SECONDS
    rm -rf "$root$WINE__PREFIX_IN_CHROOT"
    mkdir -p "$(dirname "$root$WINE__PREFIX_IN_CHROOT")"
    if ! wine__wineboot "$root" "$root.wineboot.log"; then
        wine__log "wineboot failed; last lines of $root.wineboot.log:"
        tail -n 20 "$root.wineboot.log" >&2
        return 1
    fi
    wine__log "wineboot -i: $((SECONDS - t2)) s"
    wine__unmount_all
    trap - EXIT
}

# wine_exec [--arch x64|x86] [--pcscd-socket-dir DIR | --no-pcscd] [--workdir DIR] [--bind DIR]... [--] CMD...
#
# Runs CMD (typically `wine prog.exe ARGS...`) inside the chroot of the architecture (default x64) with
# WINEPREFIX set, the host's libpcsclite on LD_LIBRARY_PATH, DIR (default /run/pcscd, the caller's private
# pcscd) at /run/pcscd, and the work folder and every --bind folder at their own paths (so Z:\<path> in
# Windows is the same file). The caller's environment is passed on (Wine hands it to the Windows
# process); PATH and LD_LIBRARY_PATH are the chroot's. The current directory is kept when it is visible
# inside (else /). Returns CMD's exit status (a Windows exit code modulo 256). Runs are serialised per
# chroot (one wineserver per prefix). It does not check the chroot: wine_chroot_setup does.
wine_exec() {
    local arch=x64 sockdir="/run/pcscd" workdir="${TESSERA_WINE_WORKDIR:-}" binds=()
    while (($#)); do
        case "$1" in
            --arch) arch="$2"; shift 2 ;;
            --pcscd-socket-dir) sockdir="$2"; shift 2 ;;
            --no-pcscd) sockdir=""; shift ;;
            --workdir) workdir="$2"; shift 2 ;;
            --bind) binds+=("$2"); shift 2 ;;
            --) shift; break ;;
            -*) wine__log "wine_exec: unknown option $1"; return 2 ;;
            *) break ;;
        esac
    done
    if (($# == 0)); then
        wine__log "usage: wine_exec [--arch x64|x86] [--pcscd-socket-dir DIR | --no-pcscd] [--workdir DIR]" \
            "[--bind DIR]... -- CMD..."
        return 2
    fi
    if [[ -z "$workdir" ]]; then
        workdir="$(git -C "$(dirname "$TESSERA_WINE_LIB")" rev-parse --show-toplevel 2>/dev/null || pwd)"
    fi
    local cache
    cache="$(wine__cache_of "$arch")" || return 2
    if ! wine__marker_ok "$cache/complete"; then
        wine__log "no $arch Wine chroot in $cache: call wine_chroot_setup $arch first"
        return 1
    fi
    local hostlib
    hostlib="$(wine__host_pcsclite)" || return 1
    local status=0
    unshare -m -p --fork --kill-child --propagation private -- \
        bash -c 'source "$1"; shift; wine__exec_in_namespace "$@"' \
        wine-exec "$TESSERA_WINE_LIB" "$cache" "$hostlib" "$sockdir" "$workdir" "${#binds[@]}" \
        ${binds[@]+"${binds[@]}"} "$@" || status=$?
    return "$status"
}

# Runs inside a private mount and PID namespace: mounts, chroot, CMD, unmounts. Not for direct use.
wine__exec_in_namespace() {
    set -euo pipefail
    local cache="$1" hostlib="$2" sockdir="$3" workdir="$4" nbinds="$5"
    shift 5
    local binds=("${@:1:nbinds}")
    shift "$nbinds"
    local root="$cache/root"

    exec 9>"$cache/exec.lock"
    flock 9

    WINE__MOUNTED=()
    trap wine__unmount_all EXIT
    wine__exit_on_signals

    mount -t proc proc "$root/proc" && WINE__MOUNTED+=("$root/proc")
    wine__bind "$root" /dev /dev
    wine__bind "$root" /sys /sys
    # A fresh /tmp per run: the wineserver socket lives there, so a run never meets a server of another.
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" && WINE__MOUNTED+=("$root/tmp")
    # Wine's Wayland probe prints "XDG_RUNTIME_DIR is invalid" on stderr without one.
    install -d -m 0700 "$root/tmp/xdg-runtime"
    if [[ -z "$sockdir" ]]; then
        : # --no-pcscd
    elif [[ -d "$sockdir" ]]; then
        wine__bind "$root" "$sockdir" /run/pcscd
    else
        wine__log "pcscd socket folder $sockdir does not exist; winscard will find no pcscd"
    fi
    local dir
    for dir in "$workdir" "${binds[@]}"; do
        [[ -n "$dir" ]] || continue
        dir="$(readlink -f "$dir")"
        [[ "$dir" != / ]] || continue
        wine__bind "$root" "$dir" "$dir"
    done
    mkdir -p "$root$WINE__HOST_LIB_IN_CHROOT"
    cmp -s "$hostlib" "$root$WINE__HOST_LIB_IN_CHROOT/libpcsclite.so.1" ||
        cp "$hostlib" "$root$WINE__HOST_LIB_IN_CHROOT/libpcsclite.so.1"

    local cwd="$PWD"
    [[ -d "$root$cwd" ]] || cwd=/
    local status=0
    chroot "$root" /usr/bin/env \
        PATH="$WINE__PATH_IN_CHROOT" \
        HOME=/root \
        XDG_RUNTIME_DIR=/tmp/xdg-runtime \
        WINEPREFIX="$WINE__PREFIX_IN_CHROOT" \
        WINEDEBUG="${TESSERA_WINEDEBUG:--all}" \
        WINEDLLOVERRIDES="mscoree,mshtml=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}" \
        LD_LIBRARY_PATH="$WINE__HOST_LIB_IN_CHROOT" \
        bash -c 'cd "$1" && shift && "$@"; status=$?; wineserver -k 2>/dev/null; wineserver -w 2>/dev/null; exit $status' \
        wine-run "$cwd" "$@" || status=$?
    wine__unmount_all
    trap - EXIT
    return "$status"
}
