# shellcheck shell=bash
# Sourced helpers: messages, waiting with a timeout, and stopping what a script started, by PID, in
# reverse order, on exit. Nothing here kills a process by name.

# Prints a message on stderr, prefixed with the script's name.
tessera_log() {
  printf '%s: %s\n' "${TESSERA_LOG_PREFIX:-${0##*/}}" "$*" >&2
}

# Prints a message and exits with status 1 (the EXIT trap still cleans up).
tessera_die() {
  tessera_log "error: $*"
  exit 1
}

# Cleanup actions, run last-in first-out by tessera_cleanup_run. Each entry is a command line quoted
# with printf %q, so arguments with spaces survive.
TESSERA_CLEANUP=()

# Registers a command to run at cleanup.
tessera_cleanup_push() {
  local quoted
  printf -v quoted '%q ' "$@"
  TESSERA_CLEANUP+=("$quoted")
}

# Forgets the newest registered command (after undoing its work by hand).
tessera_cleanup_pop() {
  if ((${#TESSERA_CLEANUP[@]} > 0)); then
    unset 'TESSERA_CLEANUP[-1]'
  fi
}

# Runs the registered actions once, newest first; failures are reported, not fatal.
tessera_cleanup_run() {
  local i
  for ((i = ${#TESSERA_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${TESSERA_CLEANUP[i]}" || tessera_log "cleanup step failed: ${TESSERA_CLEANUP[i]}"
  done
  TESSERA_CLEANUP=()
}

# True while PID runs (a zombie, i.e. exited but not yet reaped, does not count).
tessera_pid_running() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Stops a child process of this shell: SIGTERM, up to TIMEOUT seconds (default 5), then SIGKILL; reaps
# it so that it does not stay <defunct>. Prints nothing when it is already gone.
tessera_stop_pid() {
  local pid=$1 name=${2:-process} timeout=${3:-5} waited=0
  if tessera_pid_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    while tessera_pid_running "$pid" && ((waited < timeout * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if tessera_pid_running "$pid"; then
      tessera_log "$name (pid $pid) ignored SIGTERM for ${timeout}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# Polls COMMAND every 0.1 s until it succeeds (status 0) or TIMEOUT seconds pass (status 1).
tessera_wait_until() {
  local timeout=$1 tries
  shift
  for ((tries = timeout * 10; tries > 0; tries--)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
