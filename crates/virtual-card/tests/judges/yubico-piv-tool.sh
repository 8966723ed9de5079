#!/usr/bin/env bash
# Judge: Yubico's yubico-piv-tool (libykpiv) drives the virtual card as it would a YubiKey.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ypt() { yubico-piv-tool -r "$READER" "$@"; }
NEW_KEY=0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071

run ypt -a version
expect "Application version 5.7.2 found."
run ypt -a status
expect $'Version:\t5.7.2'
expect $'Serial Number:\t32000001'
expect $'CHUID:\t3019d4e739da739ced39ce739d836858210842108421c84210c3eb3410'
expect $'CCC:\tf015a000000116ff02'
expect $'PIN tries left:\t3'

# 9A: RSA-2048 generated on the card, self-signed, imported.
run ypt -a generate -s 9a -A RSA2048 -o "$WORK/9a.pub"
expect "Successfully generated a new private key."
check "9A public key is RSA-2048" grep -q "Public-Key: (2048 bit)" <(openssl pkey -pubin -in "$WORK/9a.pub" -noout -text)
card_certificate 9a RSA2048 "$WORK/9a.pub" "tessera judge 9a" "$WORK/9a.crt" 123456
run openssl verify -CAfile "$WORK/9a.crt" "$WORK/9a.crt"
expect "OK"
run ypt -a import-certificate -s 9a -i "$WORK/9a.crt"
expect "Successfully imported a new certificate."

# 9C: ECC P-256 (PIN always).
run ypt -a generate -s 9c -A ECCP256 -o "$WORK/9c.pub"
expect "Successfully generated a new private key."
card_certificate 9c ECCP256 "$WORK/9c.pub" "tessera judge 9c" "$WORK/9c.crt" 123456
run openssl verify -CAfile "$WORK/9c.crt" "$WORK/9c.crt"
expect "OK"
run ypt -a import-certificate -s 9c -i "$WORK/9c.crt"
expect "Successfully imported a new certificate."

run ypt -a status
expect $'Slot 9a:\t'
expect $'Algorithm:\tRSA2048'
expect $'Subject DN:\tCN=tessera judge 9a'
expect $'Slot 9c:\t'
expect $'Algorithm:\tECCP256'
expect $'Subject DN:\tCN=tessera judge 9c'

# Signatures and decryption, checked by the tool against the certificates.
run ypt -a verify-pin -P 123456 -a test-signature -s 9a -i "$WORK/9a.crt"
expect "Successful RSA verification."
run ypt -a verify-pin -P 123456 -a test-decipher -s 9a -i "$WORK/9a.crt"
expect "Successfully performed RSA decryption!"
run ypt -a verify-pin -P 123456 -a test-signature -s 9c -i "$WORK/9c.crt"
expect "Successful ECDSA verification."
run ypt -a verify-pin -P 123456 -a test-decipher -s 9c -i "$WORK/9c.crt"
expect "Successfully performed ECDH exchange with card."
# 9C is PIN-always: without a fresh VERIFY the card refuses.
run_failing ypt -a test-signature -s 9c -i "$WORK/9c.crt"
expect "Failed signing test data."

# Attestation: a certificate for the 9A key, issued by the F9 attestation key.
run ypt -a attest -s 9a -o "$WORK/9a-attest.crt"
run ypt -a read-certificate -s f9 -o "$WORK/f9.crt"
run openssl x509 -in "$WORK/9a-attest.crt" -noout -text
expect "Subject: CN = YubiKey PIV Attestation 9a"
expect "1.3.6.1.4.1.41482.3.3:"
expect "1.3.6.1.4.1.41482.3.7:"
expect "1.3.6.1.4.1.41482.3.8:"
expect "1.3.6.1.4.1.41482.3.9:"
run openssl verify -CAfile "$WORK/f9.crt" "$WORK/9a-attest.crt"
expect "OK"
check "the attested key is the 9A key" cmp -s <(openssl x509 -in "$WORK/9a-attest.crt" -noout -pubkey) "$WORK/9a.pub"

# PIN, PUK, unblock.
run ypt -a change-pin -P 123456 -N 24681357
expect "Successfully changed the pin code."
run ypt -a verify-pin -P 24681357
expect "Successfully verified PIN."
run ypt -a change-puk -P 12345678 -N 87654321
expect "Successfully changed the puk code."
run_failing ypt -a verify-pin -P 111111
expect "2 tries left before pin is blocked"
run_failing ypt -a verify-pin -P 111111
run_failing ypt -a verify-pin -P 111111
run_failing ypt -a verify-pin -P 24681357
expect "blocked"
run ypt -a unblock-pin -P 87654321 -N 13572468
expect "Successfully unblocked the pin code."
run ypt -a verify-pin -P 13572468
expect "Successfully verified PIN."

# Management key, objects.
run ypt -a set-mgm-key -n "$NEW_KEY"
expect "Successfully set new management key."
head -c 1500 /dev/urandom >"$WORK/object.bin"
run_failing ypt -a write-object --id 0x5fff20 -f binary -i "$WORK/object.bin"
expect "Failed authentication with the application."
run ypt --key="$NEW_KEY" -a write-object --id 0x5fff20 -f binary -i "$WORK/object.bin"
run ypt -a read-object --id 0x5fff20 -f binary -o "$WORK/object.out"
check "object 5FFF20 reads back as written" cmp "$WORK/object.bin" "$WORK/object.out"

finish
