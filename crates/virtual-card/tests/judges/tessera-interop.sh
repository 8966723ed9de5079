#!/usr/bin/env bash
# Judge: Tessera's card module and the third-party PIV clients on one card, both ways.
#  1. A card enrolled through the card module (`tessera demo` over PC/SC: keys generated with
#     CardCreateContainerEx, certificates and the container map 5FFF10 written through the module) is
#     read and used by yubico-piv-tool (status, test-signature) and OpenSC's pkcs11-tool (a signature
#     verified by openssl with the certificate read from the card).
#  2. A card personalised by yubico-piv-tool (9A, 9C, 9D, 9E and the retired slot 82) shows every key
#     as a container with its certificate to the module (`tessera info --windows`).
#  3. A certificate replaced or deleted by yubico-piv-tool is seen as such in a new module context, and
#     the `cardcf` the module reports changes with the renewed 9A certificate (a CSP's cache keyed by
#     it gives way) while it stays the same on an unchanged card.
# The tessera binary: TESSERA_BIN, or the debug build of this checkout (built with cargo when needed).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
if [[ -z ${TESSERA_BIN:-} ]]; then
  (cd "$repo_root" && cargo build --quiet -p tessera-cli --bin tessera)
  TESSERA_BIN=${CARGO_TARGET_DIR:-$repo_root/target}/debug/tessera
fi
[[ -x $TESSERA_BIN ]] || fail "no tessera binary at $TESSERA_BIN"

MODULE=${OPENSC_PKCS11:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
PIN=123456
ypt() { yubico-piv-tool -r "$READER" "$@"; }
p11() { pkcs11-tool --module "$MODULE" "$@"; }
tessera() { "$TESSERA_BIN" "$@"; }
demo() { printf '%s\n%s\n' "$PIN" 12345678 | tessera demo --reader "$READER" --yes --pin-stdin; }

# slot_has SLOT TEXT: in the last `yubico-piv-tool -a status` output, SLOT's section has the line TEXT.
slot_has() {
  if awk -v slot="Slot $1:" -v want="$2" '
    index($0, "Slot ") == 1 || index($0, "PIN tries") == 1 { inside = index($0, slot) == 1 }
    inside && $0 == "\t" want { found = 1 }
    END { exit !found }' <<<"$OUT"; then
    pass "slot $1 has '$2'"
  else
    fail "slot $1 has no '$2' in the output above"
  fi
}

# json_check DESCRIPTION FILTER: the jq FILTER is true of the last command's output (JSON).
json_check() {
  if jq -e "$2" <<<"$OUT" >/dev/null; then pass "$1"; else fail "$1 (jq: $2)"; fi
}

echo "==== 1. a card enrolled through Tessera's card module, used by yubico-piv-tool and pkcs11-tool"
run demo
expect "enroll RSA-2048 (key exchange)"
expect "enroll ECDSA P-256"

run ypt -a status
slot_has "9a" $'Algorithm:\tRSA2048'
slot_has "9a" $'Subject DN:\tO=Tessera, CN=Tessera demo RSA'
slot_has "9d" $'Algorithm:\tECCP256'
slot_has "9d" $'Subject DN:\tO=Tessera, CN=Tessera demo P-256'

run ypt -a read-certificate -s 9a -o "$WORK/demo-9a.crt"
run ypt -a read-certificate -s 9d -o "$WORK/demo-9d.crt"
run ypt -a verify-pin -P "$PIN" -a test-signature -s 9a -i "$WORK/demo-9a.crt"
expect "Successful RSA verification."
run ypt -a verify-pin -P "$PIN" -a test-signature -s 9d -i "$WORK/demo-9d.crt"
expect "Successful ECDSA verification."

head -c 1000 /dev/urandom >"$WORK/data"
run p11 --list-objects
expect "Tessera demo RSA"
run p11 --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$WORK/data" -o "$WORK/demo-9a.sig"
run openssl x509 -in "$WORK/demo-9a.crt" -noout -pubkey
printf '%s\n' "$OUT" >"$WORK/demo-9a.pub"
run openssl dgst -sha256 -verify "$WORK/demo-9a.pub" -signature "$WORK/demo-9a.sig" "$WORK/data"
expect "Verified OK"

run tessera container-map show --json --reader "$READER"
json_check "the map has a valid RSA-2048 record for 9A" \
  'any(.[]; .slot == "9A" and .key_bits == 2048 and .valid and .slot_has_key)'
json_check "the map has a valid P-256 record for 9D" \
  'any(.[]; .slot == "9D" and .key_spec == "AT_ECDSA_P256" and .valid and .slot_has_key)'
json_check "the map has these two records only" 'length == 2'
MAP=$OUT
run tessera info --windows --json --reader "$READER"
# shellcheck disable=SC2016  # jq variables, not shell ones
check "every map record is the module's container at its index, with its name" \
  jq -e --argjson map "$MAP" '[.containers[] | {index, name}] as $served
    | all($map[]; {index, name} as $r | any($served[]; . == $r))' <<<"$OUT"
json_check "the 9A container has the demo's RSA certificate" \
  'any(.containers[]; .index == 0 and .key_bits == 2048 and .certificate_subject == "CN=Tessera demo RSA,O=Tessera")'
# The yubikey crate's container-map reader (MsContainer::read_mscmap) judges the same map in
# crates/cli/tests/mscmap_pcsc.rs.

echo "==== 2. a card personalised by yubico-piv-tool, seen through the card module"
run tessera reset --reader "$READER" --yes
# slot algorithm: generated on the card, with a certificate the card signed, imported.
slots=("9a RSA2048" "9c ECCP256" "9d RSA2048" "9e ECCP256" "82 ECCP256")
for entry in "${slots[@]}"; do
  read -r slot alg <<<"$entry"
  run ypt -a generate -s "$slot" -A "$alg" -o "$WORK/$slot.pub"
  expect "Successfully generated a new private key."
  card_certificate "$slot" "$alg" "$WORK/$slot.pub" "interop $slot" "$WORK/$slot.crt" "$PIN"
  run ypt -a import-certificate -s "$slot" -i "$WORK/$slot.crt"
  expect "Successfully imported a new certificate."
done
# The key history object (SP 800-73-4 Part 1 §3.3.2): one retired key with an on-card certificate.
printf '\xC1\x01\x01\xC2\x01\x00\xFE\x00' >"$WORK/key-history.bin"
run ypt -a write-object --id 0x5FC10C --format binary -i "$WORK/key-history.bin"
run ypt -a status
expect $'Slot 82:\t'

run tessera info --windows --json --reader "$READER"
for entry in "${slots[@]}"; do
  read -r slot alg <<<"$entry"
  case $alg in
    RSA2048) json_check "one RSA-2048 container with the certificate of $slot" \
      "[.containers[] | select(.key_bits == 2048 and .certificate_subject == \"CN=interop $slot\")] | length == 1" ;;
    ECCP256)
      json_check "one ECDSA P-256 container with the certificate of $slot" \
        "[.containers[] | select(.key_spec == \"AT_ECDSA_P256\" and .certificate_subject == \"CN=interop $slot\")] | length == 1"
      json_check "its ECDH twin names it" \
        "(.containers[] | select(.key_spec == \"AT_ECDSA_P256\" and .certificate_subject == \"CN=interop $slot\") | .associated_ecdh) as \$twin
         | \$twin != null and any(.containers[]; .index == \$twin and .key_spec == \"AT_ECDHE_P256\")" ;;
  esac
done
json_check "no container without a certificate" 'all(.containers[]; .certificate_subject != null)'
json_check "eight containers: five keys and the ECDH twins of the three P-256 keys" '.containers | length == 8'
nine_c=$(jq '.containers[] | select(.certificate_subject == "CN=interop 9c" and .key_spec == "AT_ECDSA_P256") | .index' <<<"$OUT")
nine_c_file=$(jq -r ".containers[] | select(.index == $nine_c) | .certificate_file" <<<"$OUT")
cardcf_before=$(jq -r '.cardcf' <<<"$OUT")
run tessera info --windows --json --reader "$READER"
json_check "cardcf is the same in another context on the unchanged card" ".cardcf == \"$cardcf_before\""

echo "==== 3. a certificate renewed and one deleted by yubico-piv-tool, in a new module context"
card_certificate 9a RSA2048 "$WORK/9a.pub" "interop 9a renewed" "$WORK/9a-renewed.crt" "$PIN"
run ypt -a import-certificate -s 9a -i "$WORK/9a-renewed.crt"
expect "Successfully imported a new certificate."
run ypt -a delete-certificate -s 9c
run_failing ypt -a read-certificate -s 9c
run tessera info --windows --json --reader "$READER"
json_check "cardcf changed with the 9A certificate yubico-piv-tool renewed (it bumps no freshness)" \
  ".cardcf != \"$cardcf_before\" and (.cardcf | length == 12)"
json_check "the 9A container has the renewed certificate" \
  'any(.containers[]; .key_bits == 2048 and .certificate_subject == "CN=interop 9a renewed")'
json_check "the old 9A certificate is not served" \
  'all(.containers[]; .certificate_subject != "CN=interop 9a")'
json_check "the deleted 9C certificate is not served" \
  'all(.containers[]; .certificate_subject != "CN=interop 9c")'
json_check "the 9C key's container $nine_c is still there, without a certificate file" \
  "any(.containers[]; .index == $nine_c and .certificate_file == null)"
json_check "${nine_c_file#mscp/} is no longer listed in mscp" \
  "all(.mscp_files[]; . != \"${nine_c_file#mscp/}\")"
json_check "still eight containers" '.containers | length == 8'

finish
