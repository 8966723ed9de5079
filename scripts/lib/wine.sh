# shellcheck shell=bash disable=SC2016  # single-quoted `bash -c` scripts expand in the child, on purpose
# Wine tier helpers: a cached Debian chroot (trixie) with Wine 10, and a way to run Windows programs in it
# against a private pcscd.
#
# Why a chroot: the host's Wine (Debian 12, Wine 8) has a stub winscard.dll; trixie's Wine 10 forwards
# winscard to pcsc-lite. Why the host's libpcsclite: trixie's client library speaks pcsc-lite protocol 4:5,
# the host's pcscd 4:4. See shared/reference/environment.md §Wine and notes/wine-findings.md.
#
# Source this file; it sets no shell options and is safe under `set -euo pipefail`. Needs root.
#
#   wine_ensure_targets                 rustup targets + mingw linkers (x86_64 and i686)
#   wine_chroot_setup                   create (once) the cached chroot and Wine prefix
#   wine_has_wine32                     true if 32-bit programs can run in the chroot
#   wine_exec [OPTIONS] -- CMD...       run CMD inside the chroot (e.g. `wine prog.exe args`)
#
# Environment:
#   TESSERA_WINE_SUITE    Debian suite of the chroot (default trixie)
#   TESSERA_WINE_CACHE    cache directory (default /var/cache/tessera/wine-$TESSERA_WINE_SUITE)
#   TESSERA_WINE_MIRROR   Debian mirror URI (default: the main suite's URIs: in the host's apt sources)
#   TESSERA_WINE_32BIT    1 (default) also installs wine32:i386 so 32-bit programs run; 0 skips it
#   TESSERA_WINE_WORKDIR  folder bind-mounted at the same path (default: the repository root)
#   TESSERA_WINEDEBUG     WINEDEBUG for the Windows program (default -all)
#
# Mounts and processes: every mount is made inside a fresh private mount namespace (`unshare -m -p --fork
# --propagation private`), a child of the caller's namespace (so the caller's private /run/pcscd is
# visible); a trap unmounts it all, and when that namespace ends nothing it mounted can remain whatever
# happened. The PID namespace makes the kernel kill and reap whatever Wine leaves running (wineserver,
# winedevice.exe) when the run ends.

TESSERA_WINE_LIB="${BASH_SOURCE[0]}"

# Bump when the chroot's content changes so that old caches are rebuilt.
WINE__CACHE_FORMAT="tessera-wine-4"
# Paths inside the chroot.
WINE__PREFIX_IN_CHROOT="/var/lib/tessera/wineprefix"
WINE__HOST_LIB_IN_CHROOT="/opt/tessera/host-pcsclite"
WINE__HOST_LIB32_IN_CHROOT="/opt/tessera/host-pcsclite-i386"
# PATH inside the chroot; the last entry has wineserver on Debian releases after trixie.
WINE__PATH_IN_CHROOT="/usr/local/bin:/usr/bin:/bin:/usr/lib/x86_64-linux-gnu/wine"

wine__log() { printf 'wine.sh: %s\n' "$*" >&2; }

wine__suite() { printf '%s' "${TESSERA_WINE_SUITE:-trixie}"; }

wine__cache() { printf '%s' "${TESSERA_WINE_CACHE:-/var/cache/tessera/wine-$(wine__suite)}"; }

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

wine_ensure_targets() {
    local installed target
    installed="$(rustup target list --installed)"
    for target in x86_64-pc-windows-gnu i686-pc-windows-gnu; do
        if ! grep -qx "$target" <<<"$installed"; then
            wine__retry_once rustup target add "$target"
        fi
    done
    local missing=()
    command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
    command -v i686-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-i686)
    if ((${#missing[@]})); then
        wine__apt_install_host "${missing[@]}"
    fi
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

# True when Wine itself runs 32-bit programs without i386 Unix libraries ("new WoW64": the 64-bit
# package ships i386 PE DLLs, as Debian's Wine 10.0~repack-12 in sid does; trixie's 10.0~repack-6 does not).
wine__has_new_wow64() { [[ -f "$(wine__cache)/root/usr/lib/x86_64-linux-gnu/wine/i386-windows/ntdll.dll" ]]; }

# True when 32-bit Windows programs can run in the chroot (wine32:i386 installed, or new WoW64).
wine_has_wine32() { wine__marker_ok "$(wine__cache)/complete32" || wine__has_new_wow64; }

wine__wine32_wanted_now() { # CACHE
    [[ "${TESSERA_WINE_32BIT:-1}" == 1 ]] && ! wine__marker_ok "$1/complete32" && ! wine__has_new_wow64 &&
        [[ -z "$(find "$1/wine32.failed" -mmin -1440 2>/dev/null)" ]]
}

# Creates the chroot once (debootstrap, Wine, prefix); later calls return at once. With TESSERA_WINE_32BIT=1
# (the default) it also adds wine32:i386; if that fails (it needs the mirror's i386 indexes) the 64-bit
# chroot stays usable, the reason is kept in $cache/wine32.failed and the attempt is repeated a day later.
wine_chroot_setup() {
    local cache root
    cache="$(wine__cache)"
    root="$cache/root"
    if wine__marker_ok "$cache/complete" && ! wine__wine32_wanted_now "$cache"; then
        return 0
    fi
    command -v debootstrap >/dev/null || wine__apt_install_host debootstrap
    command -v unshare >/dev/null || wine__apt_install_host util-linux
    local mirror suite
    mirror="$(wine_mirror)"
    suite="$(wine__suite)"
    mkdir -p "$cache"
    (
        # Options of its own: a failed step must stop here whatever the caller has set.
        set -euo pipefail
        # One setup at a time per cache; a second caller waits, then finds the markers.
        # `|| exit 1` on every step: when a caller runs this in an `if`, bash ignores `set -e` here too.
        exec 9>"$cache/setup.lock" || exit 1
        flock 9 || exit 1
        started=$SECONDS
        if ! wine__marker_ok "$cache/complete"; then
            wine__assert_nothing_mounted_below "$root"
            rm -f "$cache/complete" "$cache/complete32" "$cache/wine32.failed"
            wine__log "creating the Wine chroot ($suite) in $root from $mirror"
            if ! unshare -m -p --fork --kill-child --propagation private -- \
                bash -c 'source "$1"; shift; wine__setup_base "$@"' \
                wine-setup "$TESSERA_WINE_LIB" "$root" "$mirror" "$suite"; then
                wine__log "the $suite chroot could not be set up"
                exit 1
            fi
            printf '%s\n' "$WINE__CACHE_FORMAT" >"$cache/complete" || exit 1
        fi
        if wine__wine32_wanted_now "$cache"; then
            if wine__setup_wine32 "$cache" 2>"$cache/wine32.err"; then
                printf '%s\n' "$WINE__CACHE_FORMAT" >"$cache/complete32"
                rm -f "$cache/wine32.failed" "$cache/wine32.err"
            else
                mv "$cache/wine32.err" "$cache/wine32.failed"
                wine__log "32-bit Wine is not available (64-bit works); reason in $cache/wine32.failed:"
                tail -n 8 "$cache/wine32.failed" >&2
            fi
        fi
        wine__log "chroot ready after $((SECONDS - started)) s ($(du -sh --one-file-system "$cache" | cut -f1))"
    )
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

wine__wineboot() { # ROOT LOG ARG
    # mscoree/mshtml disabled: no Mono/Gecko prompts (there is no display and no download).
    chroot "$1" /usr/bin/env -i PATH="$WINE__PATH_IN_CHROOT" HOME=/root WINEPREFIX="$WINE__PREFIX_IN_CHROOT" \
        WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" XDG_RUNTIME_DIR=/tmp \
        bash -c 'wineboot "$1" && wineserver -w' wineboot "$3" >"$2" 2>&1
}

# An interrupted earlier setup leaves a partial tree: start over. --one-file-system keeps rm out of anything
# mounted below (the caller has also checked that nothing is).
wine__debootstrap() { # ROOT MIRROR SUITE
    rm -rf --one-file-system "$1"
    mkdir -p "$1"
    debootstrap --variant=minbase "$3" "$1" "$2" >"$1.debootstrap.log" 2>&1
}

# Runs inside a private mount namespace: debootstrap, apt, wineboot. Not for direct use.
wine__setup_base() { # ROOT MIRROR SUITE
    set -euo pipefail
    wine__exit_on_signals
    local root="$1" mirror="$2" suite="$3" t0=$SECONDS
    if ! wine__retry_once wine__debootstrap "$root" "$mirror" "$suite"; then
        wine__log "debootstrap failed; last lines of $root.debootstrap.log:"
        tail -n 20 "$root.debootstrap.log" >&2
        return 1
    fi
    wine__log "debootstrap: $((SECONDS - t0)) s"

    wine__mount_system "$root"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    # Follow the host's apt policy on stale Release files (mirrors that serve a dated snapshot). The dump
    # is read whole first: `apt-config | grep -q` under pipefail fails whenever grep stops reading early.
    local apt_config
    apt_config=$(apt-config dump 2>/dev/null || true)
    if grep -q '^Acquire::Check-Valid-Until "false"' <<<"$apt_config"; then
        printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/99tessera-valid-until"
    fi
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
    if ! wine__wineboot "$root" "$root.wineboot.log" -i; then
        wine__log "wineboot failed; last lines of $root.wineboot.log:"
        tail -n 20 "$root.wineboot.log" >&2
        return 1
    fi
    wine__log "wineboot -i: $((SECONDS - t2)) s"
    wine__unmount_all
    trap - EXIT
}

# The host's own libpcsclite1 for i386 (same version as its amd64 one, so it speaks the host pcscd's
# protocol), fetched with the host's apt sources into a private apt state, unpacked to DEST.
wine__fetch_host_pcsclite_i386() { # DEST
    local dest="$1" version tmp
    version="$(dpkg-query -W -f '${Version}' libpcsclite1:amd64)"
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
    local opts=(-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp" -o "Dir::Cache::archives=$tmp/archives"
        -o Dir::State::status=/dev/null -o APT::Architecture=i386 -o APT::Architectures::=i386
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    # Some of the host's suites may fail to update; only the download below must succeed.
    apt-get "${opts[@]}" update -qq >"$tmp/update.log" 2>&1 || true
    if ! (cd "$tmp" && wine__retry_once apt-get "${opts[@]}" download "libpcsclite1:i386=$version") \
        >"$tmp/download.log" 2>&1; then
        wine__log "could not download the host's libpcsclite1:i386=$version:"
        cat "$tmp/update.log" "$tmp/download.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    mkdir -p "$tmp/x"
    dpkg-deb -x "$tmp"/libpcsclite1_*_i386.deb "$tmp/x"
    mkdir -p "$dest"
    cp -L "$tmp"/x/usr/lib/i386-linux-gnu/libpcsclite.so.1 "$dest/libpcsclite.so.1"
    rm -rf "$tmp"
}

# Adds wine32:i386 and the host's i386 libpcsclite, and updates the prefix. Not for direct use.
wine__setup_wine32() { # CACHE
    local cache="$1" root="$1/root" t0=$SECONDS
    wine__fetch_host_pcsclite_i386 "$root$WINE__HOST_LIB32_IN_CHROOT" || return 1
    unshare -m -p --fork --kill-child --propagation private -- \
        bash -c 'source "$1"; shift; wine__setup_wine32_in_namespace "$@"' \
        wine-setup32 "$TESSERA_WINE_LIB" "$root" || return 1
    wine__log "32-bit Wine added in $((SECONDS - t0)) s"
}

# Runs inside a private mount namespace. Not for direct use.
wine__setup_wine32_in_namespace() { # ROOT
    set -euo pipefail
    wine__exit_on_signals
    local root="$1" t0=$SECONDS
    wine__mount_system "$root"
    chroot "$root" dpkg --add-architecture i386
    if ! wine__retry_once wine__apt_in_chroot "$root" "$root.apt32.log" wine32:i386; then
        wine__log "apt-get install wine32:i386 failed; last lines of $root.apt32.log:"
        tail -n 20 "$root.apt32.log" >&2
        # Leave the 64-bit chroot as it was: apt must not keep asking for i386 indexes.
        chroot "$root" dpkg --remove-architecture i386 || true
        chroot "$root" apt-get update -qq >/dev/null 2>&1 || true
        return 1
    fi
    wine__log "apt-get install wine32:i386: $((SECONDS - t0)) s"
    local t1=$SECONDS
    if ! wine__wineboot "$root" "$root.wineboot32.log" -u; then
        wine__log "wineboot -u failed; last lines of $root.wineboot32.log:"
        tail -n 20 "$root.wineboot32.log" >&2
        return 1
    fi
    wine__log "wineboot -u: $((SECONDS - t1)) s"
    wine__unmount_all
    trap - EXIT
}

# wine_exec [--pcscd-socket-dir DIR] [--workdir DIR] [--bind DIR]... [--] CMD...
#
# Runs CMD (typically `wine prog.exe ARGS...`) inside the chroot with WINEPREFIX set, the host's
# libpcsclite on LD_LIBRARY_PATH, DIR (default /run/pcscd, the caller's private pcscd) at /run/pcscd, and
# the work folder and every --bind folder at their own paths (so Z:\<path> in Windows is the same file).
# The caller's environment is passed on (Wine hands it to the Windows process); PATH and LD_LIBRARY_PATH
# are the chroot's. The current directory is kept when it is visible inside (else /). Returns CMD's exit
# status (a Windows exit code modulo 256). Runs are serialised per cache (one wineserver per prefix).
wine_exec() {
    local sockdir="/run/pcscd" workdir="${TESSERA_WINE_WORKDIR:-}" binds=()
    while (($#)); do
        case "$1" in
            --pcscd-socket-dir) sockdir="$2"; shift 2 ;;
            --workdir) workdir="$2"; shift 2 ;;
            --bind) binds+=("$2"); shift 2 ;;
            --) shift; break ;;
            -*) wine__log "wine_exec: unknown option $1"; return 2 ;;
            *) break ;;
        esac
    done
    if (($# == 0)); then
        wine__log "usage: wine_exec [--pcscd-socket-dir DIR] [--workdir DIR] [--bind DIR]... -- CMD..."
        return 2
    fi
    if [[ -z "$workdir" ]]; then
        workdir="$(git -C "$(dirname "$TESSERA_WINE_LIB")" rev-parse --show-toplevel 2>/dev/null || pwd)"
    fi
    local cache
    cache="$(wine__cache)"
    if ! wine__marker_ok "$cache/complete"; then
        wine__log "no Wine chroot in $cache: call wine_chroot_setup first"
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
    if [[ -d "$sockdir" ]]; then
        wine__bind "$root" "$sockdir" /run/pcscd
    else
        wine__log "pcscd socket folder $sockdir does not exist; winscard will find no pcscd"
    fi
    local dir
    for dir in "$workdir" "${binds[@]}"; do
        [[ -n "$dir" ]] || continue
        dir="$(readlink -f "$dir")"
        wine__bind "$root" "$dir" "$dir"
    done
    mkdir -p "$root$WINE__HOST_LIB_IN_CHROOT"
    cmp -s "$hostlib" "$root$WINE__HOST_LIB_IN_CHROOT/libpcsclite.so.1" ||
        cp "$hostlib" "$root$WINE__HOST_LIB_IN_CHROOT/libpcsclite.so.1"

    local cwd="$PWD"
    [[ -d "$root$cwd" ]] || cwd=/
    local status=0
    # The loader skips a library of the wrong ELF class, so one path serves 64- and 32-bit Wine.
    chroot "$root" /usr/bin/env \
        PATH="$WINE__PATH_IN_CHROOT" \
        HOME=/root \
        XDG_RUNTIME_DIR=/tmp/xdg-runtime \
        WINEPREFIX="$WINE__PREFIX_IN_CHROOT" \
        WINEDEBUG="${TESSERA_WINEDEBUG:--all}" \
        WINEDLLOVERRIDES="mscoree,mshtml=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}" \
        LD_LIBRARY_PATH="$WINE__HOST_LIB_IN_CHROOT:$WINE__HOST_LIB32_IN_CHROOT" \
        bash -c 'cd "$1" && shift && "$@"; status=$?; wineserver -k 2>/dev/null; wineserver -w 2>/dev/null; exit $status' \
        wine-run "$cwd" "$@" || status=$?
    wine__unmount_all
    trap - EXIT
    return "$status"
}
