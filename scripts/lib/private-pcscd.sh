# shellcheck shell=bash disable=SC2034  # the PRIVATE_PCSCD_* globals are for the caller
# Sourced helpers: a private pcscd with one vpcd reader, inside the caller's private mount namespace.
#
#   unshare -m --propagation private bash -c '. scripts/lib/private-pcscd.sh; trap tessera_cleanup_run EXIT; private_pcscd_start; …'
#
# private_pcscd_start mounts a tmpfs on /run/pcscd (pcscd 1.9.9 always uses /run/pcscd/pcscd.comm;
# clients of this namespace then reach only this daemon), mounts an empty tmpfs over each USB driver
# bundle (so the private daemon cannot claim a USB reader that a pcscd outside uses), writes a conf
# directory with a vpcd reader.conf on a free TCP port pair (vpcd listens on PORT for slot 00 and on
# PORT+1 for slot 01, on all addresses), runs `pcscd -f -c CONFDIR` in the background with its log in a
# file, and waits until the reader is listed. Everything it starts is registered with
# tessera_cleanup_push and stopped by PID in tessera_cleanup_run.
#
# Facts checked on Debian 12 (pcsc-lite 1.9.9, vsmartcard-vpcd 3.3):
# - `pcscd -c DIR` reads every file in DIR as reader.conf syntax (and nothing from /etc/reader.conf.d);
#   DIR must hold only configuration files.
# - Reader names are "FRIENDLYNAME 00 00" and "FRIENDLYNAME 00 01": FRIENDLYNAME, the reader's index
#   in this daemon (00, it is the only one), the slot.
# - If the port is taken, vpcd logs "Address already in use", pcscd logs "… init failed" and runs on
#   without any reader: that is detected and another port pair is tried.
#
# Results (globals): PRIVATE_PCSCD_PID, PRIVATE_PCSCD_PORT (slot 00's port), PRIVATE_PCSCD_READER
# (slot 00's exact name), PRIVATE_PCSCD_DIR (work directory), PRIVATE_PCSCD_LOG.

_private_pcscd_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/processes.sh
. "$_private_pcscd_lib_dir/processes.sh"

# The vpcd driver and pcscd's (compiled-in) driver directory on Debian.
: "${TESSERA_VPCD_DRIVER:=/usr/lib/pcsc/drivers/serial/libifdvpcd.so}"
: "${TESSERA_PCSC_DRIVER_DIR:=/usr/lib/pcsc/drivers}"
# The reader's FRIENDLYNAME.
: "${TESSERA_READER_FRIENDLYNAME:=Tessera Virtual PCD}"
# Ports are drawn from [BASE, BASE+SPAN), below Linux's default ephemeral range (32768-60999).
: "${TESSERA_VPCD_PORT_BASE:=20000}"
: "${TESSERA_VPCD_PORT_SPAN:=12000}"

PRIVATE_PCSCD_PID=
PRIVATE_PCSCD_PORT=
PRIVATE_PCSCD_READER=
PRIVATE_PCSCD_DIR=
PRIVATE_PCSCD_LOG=

# Fails unless this shell runs in a mount namespace other than its parent's (as after
# `unshare -m --propagation private`): the tmpfs mounts below would otherwise hide the pcscd socket and
# drivers of the parent's namespace, e.g. the host's. (PID 1's namespace is not always readable, so the
# parent is the reference.)
private_pcscd_require_namespace() {
  local mine parent
  mine=$(readlink /proc/self/ns/mnt) || tessera_die "cannot read /proc/self/ns/mnt"
  parent=$(readlink "/proc/$PPID/ns/mnt" 2>/dev/null) || parent=
  if [[ -z $parent || $mine == "$parent" ]]; then
    tessera_die "not in a private mount namespace: run under 'unshare -m --propagation private'"
  fi
}

# True when a TCP socket (IPv4 or IPv6, any state) uses local port $1 in this network namespace.
private_pcscd_port_in_use() {
  local hex
  printf -v hex '%04X' "$1"
  awk -v port="$hex" 'FNR > 1 { n = split($2, a, ":"); if (a[n] == port) found = 1 }
                      END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Prints a port P such that P and P+1 are free.
private_pcscd_pick_ports() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((TESSERA_VPCD_PORT_BASE + (RANDOM * 32768 + RANDOM) % TESSERA_VPCD_PORT_SPAN))
    if ! private_pcscd_port_in_use "$port" && ! private_pcscd_port_in_use $((port + 1)); then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Prints the readers this namespace's pcscd lists, one per line, in its order.
private_pcscd_readers() {
  local out
  out=$(timeout 5 pcsc_scan -r 2>/dev/null) || true
  sed -n 's/^[0-9][0-9]*: //p' <<<"$out"
}

# Prints the ATR (hex, no spaces) of the card in reader $1, without connecting to it (no APDU is sent);
# fails when there is no card.
private_pcscd_atr() {
  local out atr
  out=$(timeout 5 pcsc_scan -c -n 2>/dev/null) || true
  atr=$(awk -v reader="$1" '
    /^ Reader [0-9]+: / { sub(/^ Reader [0-9]+: /, ""); current = $0; next }
    /^  ATR: / && current == reader { sub(/^  ATR: /, ""); gsub(/ /, ""); print; exit }' <<<"$out")
  [[ -n $atr ]] && echo "$atr"
}

# Waits up to $2 seconds (default 20) for a card in reader $1 and prints its ATR. While waiting, the
# process with PID $3 (optional, e.g. the card's bridge) must stay alive.
private_pcscd_wait_card() {
  local reader=$1 timeout=${2:-20} guard=${3:-} tries atr
  for ((tries = timeout * 10; tries > 0; tries--)); do
    if atr=$(private_pcscd_atr "$reader"); then
      echo "$atr"
      return 0
    fi
    if [[ -n $guard ]] && ! tessera_pid_running "$guard"; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

_private_pcscd_reader_listed() {
  local readers
  readers=$(private_pcscd_readers)
  grep -qxF -- "$1" <<<"$readers"
}

# Starts pcscd with one vpcd reader; see the top of this file.
private_pcscd_start() {
  private_pcscd_require_namespace
  command -v pcscd >/dev/null || tessera_die "pcscd not found (apt-get install pcscd)"
  command -v pcsc_scan >/dev/null || tessera_die "pcsc_scan not found (apt-get install pcsc-tools)"
  [[ -r $TESSERA_VPCD_DRIVER ]] || tessera_die "no vpcd driver at $TESSERA_VPCD_DRIVER (apt-get install vsmartcard-vpcd)"
  # A socket named in the environment would lead clients to another daemon.
  unset PCSCLITE_CSOCK_NAME

  PRIVATE_PCSCD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tessera-pcscd.XXXXXX")
  tessera_cleanup_push _private_pcscd_remove_dir "$PRIVATE_PCSCD_DIR"
  PRIVATE_PCSCD_LOG=$PRIVATE_PCSCD_DIR/pcscd.log
  : >"$PRIVATE_PCSCD_LOG"
  mkdir "$PRIVATE_PCSCD_DIR/conf"

  # /run/pcscd may not exist yet (no pcscd ever ran); creating the empty directory is the only change
  # outside this namespace, and pcscd would create it the same way.
  mkdir -p /run/pcscd
  mount -t tmpfs -o mode=0755,size=1m tessera-pcscd /run/pcscd
  # USB reader drivers are bundles (DIR/*.bundle/Contents/Info.plist); an empty directory over each one
  # keeps this daemon away from real readers. The serial drivers, vpcd among them, stay usable.
  local bundle
  for bundle in "$TESSERA_PCSC_DRIVER_DIR"/*.bundle; do
    [[ -d $bundle ]] || continue
    mount -t tmpfs -o mode=0755,size=1m tessera-no-usb-driver "$bundle"
  done

  # Concurrent runs on one machine choose their ports one at a time: the lock is held from the choice
  # until vpcd listens.
  local lock_fd attempt port
  exec {lock_fd}>"${TMPDIR:-/tmp}/tessera-vpcd-ports.lock"
  flock -w 120 "$lock_fd" || tessera_die "could not take the vpcd port lock"
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=$(private_pcscd_pick_ports) || tessera_die "no free TCP port pair found"
    if _private_pcscd_try_port "$port" "$lock_fd"; then
      break
    fi
    port=
  done
  exec {lock_fd}>&-
  [[ -n $port ]] || { _private_pcscd_show_log; tessera_die "pcscd did not list a vpcd reader (5 attempts)"; }
  PRIVATE_PCSCD_PORT=$port
}

# One attempt on port $1: write the conf, start pcscd, wait for the reader. Undoes itself on failure.
# $2 is the lock's descriptor, closed in pcscd: a daemon holding it would keep the lock held.
_private_pcscd_try_port() {
  local port=$1 lock_fd=$2 conf=$PRIVATE_PCSCD_DIR/conf/vpcd.conf name
  name="$TESSERA_READER_FRIENDLYNAME 00 00"
  printf 'FRIENDLYNAME "%s"\nDEVICENAME   /dev/null:0x%04X\nLIBPATH      %s\nCHANNELID    0x%04X\n' \
    "$TESSERA_READER_FRIENDLYNAME" "$port" "$TESSERA_VPCD_DRIVER" "$port" >"$conf"
  local -a debug=()
  [[ ${TESSERA_PCSCD_DEBUG:-0} == 1 ]] && debug=(--debug --apdu)
  # The log is shared by the attempts: only this attempt's lines count.
  local log_start
  log_start=$(($(wc -l <"$PRIVATE_PCSCD_LOG") + 1))
  pcscd --foreground "${debug[@]}" --config "$PRIVATE_PCSCD_DIR/conf" >>"$PRIVATE_PCSCD_LOG" 2>&1 </dev/null \
    {lock_fd}>&- &
  local pid=$! tries
  tessera_cleanup_push tessera_stop_pid "$pid" pcscd
  for ((tries = 100; tries > 0; tries--)); do
    if _private_pcscd_reader_listed "$name"; then
      PRIVATE_PCSCD_PID=$pid
      PRIVATE_PCSCD_READER=$name
      return 0
    fi
    if ! tessera_pid_running "$pid" || grep -E 'init failed|Open Port .* Failed' < <(tail -n "+$log_start" "$PRIVATE_PCSCD_LOG") >/dev/null; then
      break
    fi
    sleep 0.1
  done
  tessera_log "vpcd reader on port $port did not come up; trying another port"
  tessera_stop_pid "$pid" pcscd
  tessera_cleanup_pop
  return 1
}

# Removes the work directory, unless TESSERA_KEEP_LOGS=1.
_private_pcscd_remove_dir() {
  if [[ ${TESSERA_KEEP_LOGS:-0} == 1 ]]; then
    tessera_log "logs kept in $1"
  else
    rm -rf -- "$1"
  fi
}

_private_pcscd_show_log() {
  if [[ -s $PRIVATE_PCSCD_LOG ]]; then
    tessera_log "last lines of the pcscd log:"
    tail -n 20 "$PRIVATE_PCSCD_LOG" >&2
  fi
}

# Stops the private pcscd now (it is also stopped by tessera_cleanup_run).
private_pcscd_stop() {
  if [[ -n $PRIVATE_PCSCD_PID ]]; then
    tessera_stop_pid "$PRIVATE_PCSCD_PID" pcscd
    PRIVATE_PCSCD_PID=
  fi
}
