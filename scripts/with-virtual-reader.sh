#!/usr/bin/env bash
# Runs a command with Tessera's virtual PIV card in a reader of a private pcscd.
#
# The script re-executes itself in a private mount namespace (unshare -m, so it must run as root), starts
# a pcscd there with one vpcd reader on free TCP ports (scripts/lib/private-pcscd.sh), attaches the
# virtual card (tessera-virtual-card --vpcd 127.0.0.1:PORT), waits until the reader shows the card's
# ATR, runs COMMAND with the reader's exact name in TESSERA_READER, and stops everything it started when
# COMMAND ends, also on failure or a signal. It exits with COMMAND's status. A pcscd outside is not
# touched, and several runs can happen at the same time.
# shellcheck disable=SC2317  # the trap handlers below are reached through trap
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/with-virtual-reader.sh [OPTIONS] -- COMMAND [ARG...]

Options passed to the virtual card (tessera-virtual-card):
  --state FILE          card state file (created on first use); default: a fresh in-memory card
  --serial N            serial number reported by GET SERIAL
  --seed N              seed of the card's deterministic RNG
  --stats FILE          where the card writes its APDU/byte counters
  --trace FILE          where the card writes its APDU trace
  --mgm-algorithm ALG   management key algorithm of a new card
  --test-faults         accept the card's test-fault instruction (conformance cases that need a
                        misbehaving card)
Other options:
  --no-card             start the reader without a card (TESSERA_VIRTUAL_CARD=0)
  -h, --help            this help

COMMAND sees:
  TESSERA_READER        exact name of the reader (with the card)
  TESSERA_ATR           the card's ATR, hex (empty with --no-card)
  TESSERA_PCSC_READERS  every reader of the private pcscd, one per line
  TESSERA_VPCD_PORT     the vpcd port the card is attached to
  TESSERA_VIRTUAL_CARD  1 with a card, 0 with --no-card

Environment: TESSERA_VCARD_BIN (prebuilt bridge; otherwise it is built with cargo),
TESSERA_PCSCD_DEBUG=1 (pcscd logs APDUs), TESSERA_KEEP_LOGS=1 (keep the log directory).
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
original_args=("$@")
# shellcheck disable=SC2034  # read by tessera_log (lib/processes.sh)
TESSERA_LOG_PREFIX=with-virtual-reader

vcard_args=()
no_card=0
while (($# > 0)); do
  case $1 in
    --state | --serial | --seed | --stats | --trace | --mgm-algorithm)
      (($# >= 2)) || { echo "with-virtual-reader: $1 needs a value" >&2; exit 2; }
      vcard_args+=("$1" "$2")
      shift 2
      ;;
    --state=* | --serial=* | --seed=* | --stats=* | --trace=* | --mgm-algorithm=*)
      vcard_args+=("$1")
      shift
      ;;
    --test-faults) vcard_args+=("$1"); shift ;;
    --no-card) no_card=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "with-virtual-reader: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
if (($# == 0)); then
  echo "with-virtual-reader: no command given" >&2
  usage >&2
  exit 2
fi

# shellcheck source=SCRIPTDIR/lib/private-pcscd.sh
. "$script_dir/lib/private-pcscd.sh"

# --- Outside the namespace: check, build the bridge, re-execute. -----------------------------------
if [[ ${_TESSERA_VR_IN_NAMESPACE:-} != 1 ]]; then
  [[ $(id -u) == 0 ]] || tessera_die "must run as root (it creates a mount namespace and mounts tmpfs)"
  command -v unshare >/dev/null || tessera_die "unshare not found (util-linux)"
  if ((no_card == 0)); then
    if [[ -n ${TESSERA_VCARD_BIN:-} ]]; then
      [[ -x $TESSERA_VCARD_BIN ]] || tessera_die "TESSERA_VCARD_BIN=$TESSERA_VCARD_BIN is not executable"
    else
      (cd "$repo_root" && cargo build --quiet -p tessera-virtual-card --bin tessera-virtual-card) ||
        tessera_die "could not build tessera-virtual-card"
      target_dir=$(cd "$repo_root" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
      [[ -n $target_dir ]] || tessera_die "cannot find cargo's target directory"
      TESSERA_VCARD_BIN=$target_dir/debug/tessera-virtual-card
      [[ -x $TESSERA_VCARD_BIN ]] || tessera_die "no bridge binary at $TESSERA_VCARD_BIN"
    fi
    export TESSERA_VCARD_BIN
  fi
  export _TESSERA_VR_IN_NAMESPACE=1
  exec unshare --mount --propagation private -- "$BASH" "${BASH_SOURCE[0]}" "${original_args[@]}"
fi

# --- Inside the private mount namespace. -------------------------------------------------------------
# A nested run (COMMAND calling this script) must make a namespace of its own.
unset _TESSERA_VR_IN_NAMESPACE

# COMMAND gets this shell's stdin; when there is none (closed descriptor), it gets /dev/null.
if [[ ! -e /proc/$$/fd/0 ]]; then
  exec </dev/null
fi

command_pid=
on_exit() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [[ -n $command_pid ]]; then
    tessera_stop_pid "$command_pid" "$1"
  fi
  if ((status != 0)); then
    show_logs
  fi
  tessera_cleanup_run
  exit "$status"
}
show_logs() {
  local log
  for log in "$PRIVATE_PCSCD_DIR/vcard.log" "$PRIVATE_PCSCD_LOG"; do
    if [[ -n $PRIVATE_PCSCD_DIR && -s $log ]]; then
      tessera_log "last lines of ${log##*/}:"
      tail -n 30 "$log" >&2
    fi
  done
}
# During setup a signal ends the run; while COMMAND runs it is passed on to COMMAND (see below).
signal_seen=0
on_signal() {
  local signal=$1 number
  number=$(kill -l "$signal")
  signal_seen=1
  if [[ -n $command_pid ]] && tessera_pid_running "$command_pid"; then
    kill -s "$signal" "$command_pid" 2>/dev/null || true
    return
  fi
  exit $((128 + number))
}
trap 'on_exit COMMAND' EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

private_pcscd_start
reader=$PRIVATE_PCSCD_READER
atr=
if ((no_card == 0)); then
  "$TESSERA_VCARD_BIN" --vpcd "127.0.0.1:$PRIVATE_PCSCD_PORT" "${vcard_args[@]}" \
    >"$PRIVATE_PCSCD_DIR/vcard.log" 2>&1 </dev/null &
  vcard_pid=$!
  tessera_cleanup_push tessera_stop_pid "$vcard_pid" tessera-virtual-card 10
  atr=$(private_pcscd_wait_card "$reader" 30 "$vcard_pid") ||
    tessera_die "no card in '$reader' after 30 s (bridge: $TESSERA_VCARD_BIN)"
fi

export TESSERA_READER=$reader
export TESSERA_ATR=$atr
TESSERA_PCSC_READERS=$(private_pcscd_readers)
export TESSERA_PCSC_READERS
export TESSERA_VPCD_PORT=$PRIVATE_PCSCD_PORT
export TESSERA_VIRTUAL_CARD=$((1 - no_card))
tessera_log "reader '$reader'${atr:+, ATR $atr}"

# COMMAND runs in the background so that this shell can pass signals on while it waits; the subshell
# gives back SIGINT/SIGQUIT, which bash ignores in background jobs, and stdin is kept explicitly.
(
  trap - INT QUIT TERM HUP
  exec "$@"
) <&0 &
command_pid=$!
status=0
while :; do
  signal_seen=0
  if wait "$command_pid"; then status=0; else status=$?; fi
  # `wait` also returns when a trapped signal arrives; bash keeps a finished job's status, so waiting
  # again returns COMMAND's own status.
  ((signal_seen)) || break
done
command_pid=
if [[ -n ${vcard_pid:-} ]] && ! tessera_pid_running "$vcard_pid"; then
  tessera_log "warning: tessera-virtual-card ended before the command did"
  show_logs
fi
exit "$status"
