#!/usr/bin/env bash
# The peer in the same run: what OpenSC's pkcs11-tool and Tessera's card module each spend on the same
# card state: OpenSC's APDUs as the card counts them, Tessera's as `tessera bench` counts them at the
# module's SCardTransmit (checked against the card's own count).
#
#   scripts/bench-vs-opensc.sh [--latency MS] [--json FILE] [--min-ratio SCENARIO=X]...
#
# It starts a private pcscd with the virtual card (scripts/with-virtual-reader.sh, with the card's
# --stats file: APDUs and bytes as the card counts them), personalises the card through pcscd with
# yubico-piv-tool as the judges in crates/virtual-card/tests/judges/ do (RSA-2048 in 9A and 9D, P-256
# in 9C and 9E, P-256 in 82 and RSA-2048 in 83, each key generated on the card with a certificate it
# signed, the key history object announcing the two retired keys), then:
#
#  * runs pkcs11-tool (opensc-pkcs11.so) once per operation, each a new process as an application is,
#    and reads the card's counters around it: list objects; login + RSA-2048 PKCS#1 signature (9A);
#    login + ECDSA P-256 (9C, PIN always); login + RSA-OAEP decryption (9D). Every signature is verified
#    and every plaintext compared with openssl;
#  * runs `tessera bench --through-pcscd` on the same card state (S1-S9, see `tessera bench --help`);
#  * prints both columns and the ratio (OpenSC's APDUs / Tessera's), for the equivalent scenario:
#      list objects         <-> S9 list containers and certificates (new context, nothing cached)
#      login + sign RSA     <-> S1 cold logon, S7 a second process's logon, and S7w the same after the
#                               module wrote to the card (S6 gave it the freshness object and the
#                               container map, as an enrollment through Windows does; pkcs11-tool reads
#                               neither)
#      login + ECDSA        <-> S3c (new context, nothing cached); S3 (warm) shown as well
#      login + decrypt      <-> S4c (new context, nothing cached); S4 (warm) shown as well
#    pkcs11-tool has no long-lived context: each of its figures is a whole new process, so a ratio
#    against a warm scenario is marked as such.
#
# --min-ratio S1=3.5 (repeatable) fails the run when OpenSC's APDUs / Tessera's for that scenario is
# lower. --json FILE writes both columns as JSON. Exit status: non-zero when a tool or a check failed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

latency=10
json_out=
min_ratios=()
inside=
while (($# > 0)); do
  case $1 in
    --latency) latency=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --min-ratio) min_ratios+=("$2"); shift 2 ;;
    --inside) inside=$2; shift 2 ;; # (internal) running under with-virtual-reader.sh, stats file $2
    -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-vs-opensc: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

target_dir=${CARGO_TARGET_DIR:-$repo_root/target}

if [[ -z $inside ]]; then
  # The binaries first, outside the namespace, so that the private pcscd runs only as long as needed.
  cargo build --quiet -p tessera-cli --bin tessera
  cargo build --quiet -p tessera-virtual-card --bin tessera-virtual-card
  export TESSERA_VCARD_BIN=${TESSERA_VCARD_BIN:-$target_dir/debug/tessera-virtual-card}
  work=$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-opensc.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  args=(--inside "$work/stats.json" --latency "$latency")
  [[ -z $json_out ]] || args+=(--json "$(realpath -m "$json_out")")
  for r in ${min_ratios[@]+"${min_ratios[@]}"}; do args+=(--min-ratio "$r"); done
  scripts/with-virtual-reader.sh --stats "$work/stats.json" -- "$0" "${args[@]}"
  exit $?
fi

stats=$inside
tessera=${TESSERA_BIN:-$target_dir/debug/tessera}
[[ -x $tessera ]] || { echo "bench-vs-opensc: no tessera binary at $tessera" >&2; exit 1; }
# run/expect/check, card_certificate, $WORK and $READER come from the judges' helpers.
# shellcheck source=crates/virtual-card/tests/judges/lib.sh
source crates/virtual-card/tests/judges/lib.sh

MODULE=${OPENSC_PKCS11:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
PIN=123456
# shellcheck disable=SC2317  # called through run and measure
ypt() { yubico-piv-tool -r "$READER" "$@"; }
# shellcheck disable=SC2317  # called through run and measure
p11() { pkcs11-tool --module "$MODULE" "$@"; }
counters() { jq -r '"\(.apdus) \(.bytes_in) \(.bytes_out)"' "$stats"; }

echo "==== personalising the card through pcscd with yubico-piv-tool"
# slot algorithm pin-policy
slots=("9a RSA2048 once" "9c ECCP256 always" "9d RSA2048 once" "9e ECCP256 never" "82 ECCP256 once"
  "83 RSA2048 once")
for entry in "${slots[@]}"; do
  read -r slot alg policy <<<"$entry"
  run ypt -a generate -s "$slot" -A "$alg" --pin-policy="$policy" -o "$WORK/$slot.pub"
  card_certificate "$slot" "$alg" "$WORK/$slot.pub" "bench $slot" "$WORK/$slot.crt" "$PIN"
  run ypt -a import-certificate -s "$slot" -i "$WORK/$slot.crt"
done
# The key history object (SP 800-73-4 Part 1 §3.3.2): two retired keys with on-card certificates, which
# is how hosts find 82 and 83.
printf '\xC1\x01\x02\xC2\x01\x00\xFE\x00' >"$WORK/key-history.bin"
run ypt -a write-object --id 0x5FC10C --format binary -i "$WORK/key-history.bin"
run ypt -a status
expect "Slot 82"
expect "Slot 83"

# measure NAME CMD...: runs CMD (which must succeed) and records the card's APDUs and bytes it cost.
declare -A peer_apdus=() peer_to=() peer_from=()
measure() {
  local name=$1 before after
  shift
  read -r -a before <<<"$(counters)"
  run "$@"
  read -r -a after <<<"$(counters)"
  peer_apdus[$name]=$((after[0] - before[0]))
  peer_to[$name]=$((after[1] - before[1]))
  peer_from[$name]=$((after[2] - before[2]))
  echo "  $name: ${peer_apdus[$name]} APDUs, ${peer_to[$name]} bytes to the card, ${peer_from[$name]} from it"
}

echo "==== OpenSC pkcs11-tool, one process per operation"
head -c 1000 /dev/urandom >"$WORK/data"
measure list p11 --list-objects
expect "Certificate Object"
expect "bench 9a"
measure sign_rsa p11 --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$WORK/data" -o "$WORK/rsa.sig"
run openssl dgst -sha256 -verify "$WORK/9a.pub" -signature "$WORK/rsa.sig" "$WORK/data"
expect "Verified OK"
measure ecdsa p11 --login --pin "$PIN" --sign --id 02 -m ECDSA-SHA256 --signature-format openssl \
  -i "$WORK/data" -o "$WORK/ec.sig"
run openssl dgst -sha256 -verify "$WORK/9c.pub" -signature "$WORK/ec.sig" "$WORK/data"
expect "Verified OK"
printf 'a content-encryption key for 9D' >"$WORK/secret"
run openssl pkeyutl -encrypt -pubin -inkey "$WORK/9d.pub" -pkeyopt rsa_padding_mode:oaep \
  -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$WORK/secret" -out "$WORK/secret.enc"
measure decrypt p11 --login --pin "$PIN" --decrypt --id 03 -m RSA-PKCS-OAEP --hash-algorithm SHA256 \
  --mgf MGF1-SHA256 -i "$WORK/secret.enc" -o "$WORK/secret.dec"
check "RSA-OAEP decryption gives the plaintext back" cmp "$WORK/secret" "$WORK/secret.dec"

echo "==== Tessera: tessera bench --through-pcscd on the same card"
read -r -a before <<<"$(counters)"
run "$tessera" bench --through-pcscd --reader "$READER" --yes --rounds 1 --latency "$latency" \
  --json "$WORK/tessera.json"
read -r -a after <<<"$(counters)"
tessera_json=$WORK/tessera.json
field() { jq -r --arg id "$1" ".scenarios[] | select(.id == \$id) | .$2" "$tessera_json"; }
# The bench counts at the module's SCardTransmit; the card counts everything, the bench's own uncounted
# connections (logging the PIN out before each scenario, S8's other tool) included, so never less.
bench_apdus=$(jq '[.scenarios[].apdus] | add' "$tessera_json")
card_apdus=$((after[0] - before[0]))
check "the card saw at least the APDUs the bench counted ($card_apdus >= $bench_apdus)" \
  test "$card_apdus" -ge "$bench_apdus"
for id in S1 S3 S3c S4 S4c S7 S7w S9; do
  status=$(field "$id" status)
  check "tessera bench $id ran ($status)" test "$status" = ok
done

echo
echo "==== the same operations on the same card state (OpenSC: the card's count; Tessera: tessera bench's)"
rows=("list list_objects S9" "sign_rsa login_+_sign_RSA-2048 S1" "sign_rsa login_+_sign_RSA-2048 S7"
  "sign_rsa login_+_sign_RSA-2048 S7w"
  "ecdsa login_+_ECDSA_P-256 S3c" "ecdsa login_+_ECDSA_P-256 S3" "decrypt login_+_decrypt_RSA-OAEP S4c"
  "decrypt login_+_decrypt_RSA-OAEP S4")
printf '%-26s %22s   %-46s %22s   %s\n' "operation" "OpenSC APDUs (bytes)" "Tessera scenario" \
  "APDUs (bytes)" "ratio"
json_rows=()
declare -A ratio_of=()
for row in "${rows[@]}"; do
  read -r key label id <<<"$row"
  t_apdus=$(field "$id" apdus)
  for n in "$t_apdus" "${peer_apdus[$key]:-}"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "FAIL: no APDU count for $label ($id): '$n'" >&2; exit 1; }
  done
  t_bytes=$(($(field "$id" bytes_to_card) + $(field "$id" bytes_from_card)))
  p_apdus=${peer_apdus[$key]}
  p_bytes=$((${peer_to[$key]} + ${peer_from[$key]}))
  ratio=$(awk -v p="$p_apdus" -v t="$t_apdus" 'BEGIN { if (t > 0) printf "%.2f", p / t; else print "inf" }')
  ratio_of[$id]=$ratio
  label=${label//_/ }
  warm=
  [[ $id == S3 || $id == S4 ]] && warm=" (warm context: not a new process)"
  printf '%-26s %10s (%9s)   %-46s %10s (%9s)   %sx%s\n' "$label" "$p_apdus" "$p_bytes" \
    "$id $(field "$id" title)" "$t_apdus" "$t_bytes" "$ratio" "$warm"
  json_rows+=("$(jq -n --arg op "$label" --arg id "$id" --argjson pa "$p_apdus" --argjson pb "$p_bytes" \
    --argjson ta "$t_apdus" --argjson tb "$t_bytes" --arg r "$ratio" \
    '{operation: $op, opensc_apdus: $pa, opensc_bytes: $pb, tessera_scenario: $id, tessera_apdus: $ta,
      tessera_bytes: $tb, ratio: $r}')")
done
echo "(pkcs11-tool starts a process per operation: the rows to compare are S9, S1, S7, S7w, S3c and S4c; S3 and S4"
echo " are one transaction in a long-lived context, which pkcs11-tool does not have)"
if [[ -n $json_out ]]; then
  printf '%s\n' "${json_rows[@]}" | jq -s --slurpfile t "$tessera_json" '{rows: ., tessera: $t[0]}' >"$json_out"
  echo "JSON: $json_out"
fi
failed=0
for spec in ${min_ratios[@]+"${min_ratios[@]}"}; do
  id=${spec%%=*} want=${spec#*=}
  got=${ratio_of[$id]:-}
  if [[ -z $got ]] || ! awk -v g="$got" -v w="$want" 'BEGIN { exit !(g == "inf" || g >= w) }'; then
    echo "FAIL: $id: OpenSC / Tessera = ${got:-?}, at least $want wanted" >&2
    failed=1
  else
    echo "  ok: $id: OpenSC / Tessera = $got (at least $want)"
  fi
done
finish
exit "$failed"
