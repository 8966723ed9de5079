//! `tessera keys …` and `tessera certificates …` on virtual card files, judged with RustCrypto and
//! x509-cert: what the card signed verifies with the key it reported or the key that was imported.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;
use common::{card, info, s, slot, tessera};
use der::{DecodePem, Encode};
use p256::ecdsa::signature::Verifier;
use spki::DecodePublicKey;

const PIN: &str = "123456\n";

/// `tessera certificates request SLOT --subject SUBJECT --virtual PATH`, with `--pin-stdin` and the
/// PIN on standard input when one is given.
fn request_certificate(path: &std::path::Path, slot: &str, subject: &str, pin: Option<&str>) -> common::Run {
    let mut args = vec!["certificates", "request", slot, "--subject", subject];
    if pin.is_some() {
        args.push("--pin-stdin");
    }
    args.extend(["--virtual", s(path)]);
    tessera(&args, pin.unwrap_or(""))
}

/// `tessera keys generate SLOT --virtual PATH` (the default algorithm): the public key's PEM.
fn generate(path: &std::path::Path, slot: &str) -> String {
    tessera(&["keys", "generate", slot, "--virtual", s(path)], "")
        .expect(0)
        .stdout
}

/// The certificate request a successful [`request_certificate`] printed.
fn signed(run: common::Run) -> x509_cert::request::CertReq {
    let csr = run.expect(0).stdout;
    x509_cert::request::CertReq::from_pem(csr.as_bytes()).unwrap()
}

fn verify_p256(public_pem: &str, message: &[u8], der_signature: &[u8]) {
    let key = p256::ecdsa::VerifyingKey::from_public_key_pem(public_pem).unwrap();
    let sig = p256::ecdsa::Signature::from_der(der_signature).unwrap();
    key.verify(message, &sig).unwrap();
}

#[test]
fn generate_selfsign_export_round_trip_verifies_with_the_generated_key() {
    let (_dir, path) = card();
    let run = tessera(
        &[
            "keys",
            "generate",
            "9a",
            "--algorithm",
            "p256",
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(0);
    assert!(
        run.stderr.contains("factory-default management key"),
        "{}",
        run.stderr
    );
    let public_pem = run.stdout;
    assert!(
        public_pem.starts_with("-----BEGIN PUBLIC KEY-----"),
        "{public_pem}"
    );
    tessera(
        &[
            "certificates",
            "selfsign",
            "9a",
            "--subject",
            "CN=Alice,O=Example",
            "--pin-stdin",
            "--virtual",
            s(&path),
        ],
        PIN,
    )
    .expect(0);
    let pem = tessera(&["certificates", "export", "9a", "--virtual", s(&path)], "")
        .expect(0)
        .stdout;
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).unwrap();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    verify_p256(&public_pem, &tbs, cert.signature().raw_bytes());
    assert_eq!(cert.tbs_certificate().subject().to_string(), "CN=Alice,O=Example");
    // DER export is the same certificate.
    let dir = tempfile::tempdir().unwrap();
    let der_path = dir.path().join("a.cer");
    tessera(
        &[
            "certificates",
            "export",
            "9a",
            "--der",
            "--out",
            s(&der_path),
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(0);
    assert_eq!(std::fs::read(&der_path).unwrap(), cert.to_der().unwrap());
}

#[test]
fn a_request_is_signed_by_the_slot_key() {
    let (_dir, path) = card();
    let public_pem = generate(&path, "9d");
    let request = signed(request_certificate(&path, "9d", "CN=Bob", Some(PIN)));
    let info = request.info.to_der().unwrap();
    verify_p256(&public_pem, &info, request.signature.raw_bytes());
    assert_eq!(request.info.subject.to_string(), "CN=Bob");
    // A wrong PIN is refused before anything is signed, with the tries left.
    let run = request_certificate(&path, "9d", "CN=Bob", Some("999999\n")).expect(5);
    assert!(run.stderr.contains("wrong PIN: 2 tries left"), "{}", run.stderr);
}

#[test]
fn an_imported_p256_key_signs_what_verifies_with_the_original() {
    use p256::pkcs8::EncodePrivateKey;
    let (dir, path) = card();
    let secret = p256::SecretKey::from_slice(&[0x21; 32]).unwrap();
    let key_file = dir.path().join("key.pem");
    std::fs::write(
        &key_file,
        secret.to_pkcs8_pem(Default::default()).unwrap().as_bytes(),
    )
    .unwrap();
    tessera(
        &[
            "keys",
            "import",
            "9e",
            s(&key_file),
            "--pin-policy",
            "never",
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(0);
    let v = info(&path);
    assert_eq!(slot(&v, "9E").unwrap()["origin"], "imported");
    assert_eq!(slot(&v, "9E").unwrap()["pin_policy"], "never");
    // No PIN needed (policy never): the request is signed by the imported key.
    let request = signed(request_certificate(&path, "9e", "CN=Imported", None));
    let verifying = p256::ecdsa::VerifyingKey::from(secret.public_key());
    let sig = p256::ecdsa::Signature::from_der(request.signature.raw_bytes()).unwrap();
    verifying.verify(&request.info.to_der().unwrap(), &sig).unwrap();
    // Garbage is refused without touching the card.
    let junk = dir.path().join("junk.pem");
    std::fs::write(
        &junk,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let run = tessera(&["keys", "import", "9e", s(&junk), "--virtual", s(&path)], "").expect(12);
    assert!(
        run.stderr.contains("is not an RSA, P-256 or P-384 private key"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_imported_rsa_key_round_trips() {
    use rand_core::SeedableRng;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let (dir, path) = card();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let key = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
    let key_file = dir.path().join("rsa.der");
    std::fs::write(&key_file, key.to_pkcs1_der().unwrap().as_bytes()).unwrap();
    tessera(&["keys", "import", "82", s(&key_file), "--virtual", s(&path)], "").expect(0);
    let v = info(&path);
    assert_eq!(slot(&v, "82").unwrap()["algorithm"], "RSA-2048");
    let request = signed(request_certificate(&path, "82", "CN=R", Some(PIN)));
    let digest = <sha2::Sha256 as sha2::Digest>::digest(request.info.to_der().unwrap());
    key.to_public_key()
        .verify(
            rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &digest,
            request.signature.raw_bytes(),
        )
        .unwrap();
}

#[test]
fn certificates_import_compressed_and_delete() {
    let (dir, path) = card();
    let source = tempfile::tempdir().unwrap();
    let donor = source.path().join("donor.json");
    tessera(&["demo", "--virtual", s(&donor)], "").expect(0);
    let pem_file = dir.path().join("cert.pem");
    let pem = tessera(&["certificates", "export", "9a", "--virtual", s(&donor)], "")
        .expect(0)
        .stdout;
    std::fs::write(&pem_file, &pem).unwrap();
    let run = tessera(
        &[
            "certificates",
            "import",
            "9c",
            s(&pem_file),
            "--compress",
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(0);
    assert!(run.stderr.contains("gzip"), "{}", run.stderr);
    let back = tessera(&["certificates", "export", "9c", "--virtual", s(&path)], "")
        .expect(0)
        .stdout;
    assert_eq!(back, pem);
    let v = info(&path);
    assert_eq!(slot(&v, "9C").unwrap()["certificate"]["compressed"], true);
    tessera(&["certificates", "delete", "9c", "--virtual", s(&path)], "").expect(0);
    let run = tessera(&["certificates", "export", "9c", "--virtual", s(&path)], "").expect(12);
    assert!(run.stderr.contains("holds no certificate"), "{}", run.stderr);
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    tessera(
        &["certificates", "import", "9c", s(&bad), "--virtual", s(&path)],
        "",
    )
    .expect(12);
    // A bad subject is refused before the card is touched.
    tessera(
        &[
            "certificates",
            "selfsign",
            "9c",
            "--subject",
            "no equals sign",
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(12);
}

#[test]
fn delete_and_attest() {
    let (_dir, path) = card();
    let public_pem = generate(&path, "9a");
    let attestation = tessera(&["keys", "attest", "9a", "--virtual", s(&path)], "")
        .expect(0)
        .stdout;
    let cert = x509_cert::Certificate::from_pem(attestation.as_bytes()).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().unwrap();
    let generated = p256::PublicKey::from_public_key_pem(&public_pem).unwrap();
    assert_eq!(
        p256::PublicKey::from_public_key_der(&spki).unwrap(),
        generated,
        "attests the generated key"
    );
    tessera(&["keys", "delete", "9a", "--virtual", s(&path)], "").expect(0);
    assert!(slot(&info(&path), "9A").is_none());
    let run = tessera(&["keys", "attest", "9a", "--virtual", s(&path)], "").expect(11);
    assert!(run.stderr.contains("does not attest slot 9A"), "{}", run.stderr);
}

#[test]
fn slots_are_checked_before_anything_happens() {
    let (_dir, path) = card();
    let run = tessera(&["keys", "generate", "9b", "--virtual", s(&path)], "").expect(2);
    assert!(run.stderr.contains("not a key slot"), "{}", run.stderr);
    tessera(&["keys", "generate", "zz", "--virtual", s(&path)], "").expect(2);
}
