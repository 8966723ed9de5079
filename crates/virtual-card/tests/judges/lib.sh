# Helpers shared by the judge scripts (sourced, not executed; not executable so scripts/test.sh skips it).
# A judge drives the card in the reader named by TESSERA_READER with a third-party tool and asserts on the
# tool's output. Every check prints one line; the first failing check ends the judge with status 1.

[[ -n ${TESSERA_READER:-} ]] || { echo "judge: TESSERA_READER is not set (run me through scripts/with-virtual-reader.sh)" >&2; exit 2; }
READER=$TESSERA_READER
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CHECKS=0
OUT=

# pass WHAT / fail WHAT: count a passed check, or end the judge on a failed one.
pass() {
  CHECKS=$((CHECKS + 1))
  echo "  ok: $1"
}
fail() {
  echo "FAIL: $1" >&2
  exit 1
}

# show_output: the last command's output, indented.
show_output() { printf '%s\n' "$OUT" | sed 's/^/    /'; }

# run CMD...: runs CMD (stdout and stderr) into $OUT and shows it; a non-zero status fails the judge.
run() {
  echo "\$ $*"
  if ! OUT=$("$@" 2>&1); then
    show_output
    fail "command failed: $*"
  fi
  show_output
}

# run_failing CMD...: like run, but CMD must fail.
run_failing() {
  echo "\$ $* (must fail)"
  if OUT=$("$@" 2>&1); then
    show_output
    fail "command succeeded but should not: $*"
  fi
  show_output
}

# expect TEXT: the last command's output contains TEXT (fixed string).
expect() {
  if grep -qF -- "$1" <<<"$OUT"; then
    pass "output has '$1'"
  else
    fail "expected '$1' in the output above"
  fi
}

# check DESCRIPTION CMD...: CMD must succeed (a condition that is not a tool run).
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

finish() {
  echo "judge ${0##*/}: $CHECKS checks passed"
}

# --- DER helpers (coreutils only) ----------------------------------------------------------------
hex_of() { od -An -tx1 -v "$1" | tr -d ' \n'; }
der_len() {
  local n=$1
  if ((n < 128)); then printf '%02x' "$n"; elif ((n < 256)); then printf '81%02x' "$n"; else printf '82%04x' "$n"; fi
}
write_hex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" >"$2"; }

# card_certificate SLOT ALGORITHM PUBKEY.pem CN OUT.pem PIN
# A self-signed certificate for the card's key in SLOT, signed by the card. It first tries
# `yubico-piv-tool -a selfsign-certificate`; Debian 12's yubico-piv-tool 2.2 cannot do that with
# OpenSSL 3 (it fails before sending any APDU: upstream issue Yubico/yubico-piv-tool#388), so then
# openssl builds the to-be-signed certificate for PUBKEY and the card signs it through
# `yubico-piv-tool --sign` (libykpiv's sign path), and the pieces are assembled here.
card_certificate() {
  local slot=$1 alg=$2 pub=$3 cn=$4 out=$5 pin=$6
  run_maybe yubico-piv-tool -r "$READER" -a verify-pin -P "$pin" -a selfsign-certificate -s "$slot" \
    -S "/CN=$cn/" -i "$pub" -o "$out"
  if ((LAST_STATUS == 0)); then
    expect "Successfully generated a new self signed certificate."
    return
  fi
  expect "Failed signing certificate."
  echo "  note: selfsign-certificate is broken in this yubico-piv-tool (OpenSSL 3); signing via --sign instead"
  local keyalg algid tmp=$WORK/selfsign-$slot
  mkdir -p "$tmp"
  case $alg in
    RSA*) keyalg=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048); algid=300d06092a864886f70d01010b0500 ;;
    ECCP256) keyalg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); algid=300a06082a8648ce3d040302 ;;
    *) echo "FAIL: card_certificate: unsupported $alg" >&2; exit 1 ;;
  esac
  openssl genpkey "${keyalg[@]}" -out "$tmp/template.key" 2>/dev/null
  openssl req -new -key "$tmp/template.key" -subj "/CN=$cn" -out "$tmp/template.csr"
  openssl x509 -req -in "$tmp/template.csr" -signkey "$tmp/template.key" -force_pubkey "$pub" -days 365 \
    -sha256 -out "$tmp/template.crt" 2>/dev/null
  local header
  header=$(openssl asn1parse -in "$tmp/template.crt" | sed -n '1s/.*hl=\([0-9]*\).*/\1/p')
  openssl asn1parse -in "$tmp/template.crt" -strparse "$header" -noout -out "$tmp/tbs.der"
  run yubico-piv-tool -r "$READER" -a verify-pin -P "$pin" --sign -s "$slot" -A "$alg" -H SHA256 \
    -i "$tmp/tbs.der" -o "$tmp/signature.bin"
  expect "Signature successful!"
  local tbs sig bits body
  tbs=$(hex_of "$tmp/tbs.der")
  sig=$(hex_of "$tmp/signature.bin")
  bits="03$(der_len $((${#sig} / 2 + 1)))00$sig"
  body="$tbs$algid$bits"
  write_hex "30$(der_len $((${#body} / 2)))$body" "$tmp/cert.der"
  openssl x509 -inform DER -in "$tmp/cert.der" -out "$out"
}

LAST_STATUS=0
# run_maybe CMD...: like run, but records the status in LAST_STATUS instead of failing.
run_maybe() {
  echo "\$ $*"
  if OUT=$("$@" 2>&1); then LAST_STATUS=0; else LAST_STATUS=$?; fi
  printf '%s\n' "$OUT" | sed 's/^/    /'
}
