//! Private-key operations of the card checked with an independent library (RustCrypto): signatures
//! verified, decryptions and key agreements compared, attestation certificates parsed and verified.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Pkcs1v15Encrypt, Pkcs1v15Sign};
use sha2::{Digest, Sha256, Sha384};
use tessera_piv::commands::ImportKey;
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinPolicy, PublicKey, Session,
    TouchPolicy,
};
use tessera_virtual_card::{CardConfig, VirtualCard};

use common::{admin_session, card};

fn pin() -> PaddedPin {
    PaddedPin::new(b"123456").unwrap()
}

/// Generates a key pair with the default PIN and touch policies.
fn generate(s: &mut Session<&mut VirtualCard>, slot: KeyRef, alg: AlgorithmId) -> PublicKey {
    s.generate_key_pair(slot, alg, PinPolicy::Default, TouchPolicy::Default)
        .unwrap()
}

/// The uncompressed point of an EC public key.
fn ec_point(key: &PublicKey) -> &[u8] {
    let PublicKey::Ecc { point, .. } = key else {
        panic!("not an EC key: {key:?}")
    };
    point
}

fn rsa_public(key: &PublicKey) -> rsa::PublicKey {
    let PublicKey::Rsa {
        modulus, exponent, ..
    } = key
    else {
        panic!("not RSA")
    };
    rsa::PublicKey::new(
        BoxedUint::from_be_slice_vartime(modulus),
        BoxedUint::from_be_slice_vartime(exponent),
    )
    .unwrap()
}

/// EMSA-PKCS1-v1_5 encoding of a SHA-256 digest for a `k`-byte modulus (the host's job on PIV).
fn pkcs1_sha256(digest: &[u8], k: usize) -> Vec<u8> {
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
        0x04, 0x20,
    ];
    let t_len = prefix.len() + digest.len();
    let mut out = vec![0x00, 0x01];
    out.extend(std::iter::repeat_n(0xFF, k - t_len - 3));
    out.push(0x00);
    out.extend_from_slice(&prefix);
    out.extend_from_slice(digest);
    out
}

#[test]
fn ecdsa_p256_and_p384_signatures_verify() {
    let mut card = card(11);
    let mut s = admin_session(&mut card);
    let pk256 = generate(&mut s, KeyRef::AUTHENTICATION, AlgorithmId::ECCP256);
    let pk384 = generate(&mut s, KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP384);
    s.verify(KeyRef::PIN, &pin()).unwrap();
    let digest = Sha256::digest(b"tessera");
    let sig = s
        .private_key_operation(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, &digest)
        .unwrap();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(ec_point(&pk256)).unwrap();
    let sig = p256::ecdsa::Signature::from_der(&sig).unwrap();
    vk.verify_prehash(&digest, &sig).unwrap();
    assert!(vk.verify_prehash(&Sha256::digest(b"other"), &sig).is_err());

    let digest = Sha384::digest(b"tessera");
    let sig = s
        .private_key_operation(KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP384, &digest)
        .unwrap();
    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(ec_point(&pk384)).unwrap();
    vk.verify_prehash(&digest, &p384::ecdsa::Signature::from_der(&sig).unwrap())
        .unwrap();
}

#[test]
fn rsa_sign_and_decrypt_with_every_size() {
    let mut card = card(12);
    let mut s = admin_session(&mut card);
    let mut host_rng = rand_chacha_rng();
    for (alg, slot) in [
        (AlgorithmId::RSA1024, KeyRef(0x82)),
        (AlgorithmId::RSA2048, KeyRef::AUTHENTICATION),
        (AlgorithmId::RSA3072, KeyRef(0x83)),
        (AlgorithmId::RSA4096, KeyRef(0x84)),
    ] {
        let public = s
            .generate_key_pair(slot, alg, PinPolicy::Never, TouchPolicy::Default)
            .unwrap();
        let key = rsa_public(&public);
        let k = key.size();
        assert_eq!(k * 8, alg.key_bits().unwrap() as usize);
        assert_eq!(key.e().to_be_bytes_trimmed_vartime().as_ref(), &[1, 0, 1]);
        let digest = Sha256::digest(b"signed by the virtual card");
        let sig = s
            .private_key_operation(slot, alg, &pkcs1_sha256(&digest, k))
            .unwrap();
        key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig).unwrap();
        let secret = b"session key material";
        let ciphertext = key.encrypt(&mut host_rng, Pkcs1v15Encrypt, secret).unwrap();
        let padded = s.private_key_operation(slot, alg, &ciphertext).unwrap();
        let sep = padded.iter().skip(2).position(|&b| b == 0).unwrap() + 3;
        assert_eq!((&padded[..2], &padded[sep..]), (&[0u8, 2][..], &secret[..]));
    }
}

fn rand_chacha_rng() -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::seed_from_u64(99)
}

#[test]
fn ecdh_matches_the_host_computation() {
    let mut card = card(13);
    let mut s = admin_session(&mut card);
    let public = generate(&mut s, KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP256);
    let point = ec_point(&public);
    let card_public = p256::PublicKey::from_sec1_bytes(point).unwrap();
    let host = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let host_point = host.public_key().to_sec1_bytes();
    s.verify(KeyRef::PIN, &pin()).unwrap();
    let shared = s
        .key_agreement(KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP256, &host_point)
        .unwrap();
    assert_eq!(
        &shared[..],
        host.diffie_hellman(&card_public).raw_secret_bytes().as_slice()
    );
}

#[test]
fn imported_keys_sign_like_the_original() {
    use rsa::traits::PrivateKeyParts;
    let mut card = card(14);
    let mut s = admin_session(&mut card);
    let mut rng = rand_chacha_rng();
    let host_key = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
    let bytes = |v: &BoxedUint| v.to_be_bytes_trimmed_vartime().to_vec();
    let p = bytes(host_key.primes()[0].as_ref());
    let q = bytes(host_key.primes()[1].as_ref());
    let dp = bytes(host_key.dp().unwrap());
    let dq = bytes(host_key.dq().unwrap());
    let qinv = bytes(&host_key.crt_coefficient().unwrap());
    let material = ImportKey::Rsa {
        p: &p,
        q: &q,
        dp: &dp,
        dq: &dq,
        qinv: &qinv,
    };
    s.import_key(
        KeyRef::SIGNATURE,
        AlgorithmId::RSA2048,
        &material,
        PinPolicy::Never,
        TouchPolicy::Default,
    )
    .unwrap();
    let meta = s.get_metadata(KeyRef::SIGNATURE).unwrap().unwrap();
    assert_eq!(meta.origin, Some(tessera_piv::commands::KeyOrigin::Imported));
    let key = host_key.to_public_key();
    assert_eq!(meta.public_key.as_ref().map(rsa_public), Some(key.clone()));
    let digest = Sha256::digest(b"imported");
    let sig = s
        .private_key_operation(
            KeyRef::SIGNATURE,
            AlgorithmId::RSA2048,
            &pkcs1_sha256(&digest, 256),
        )
        .unwrap();
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig).unwrap();
    // EC import: the public key the card reports is the scalar's.
    let scalar = [0x17u8; 32];
    s.import_key(
        KeyRef::CARD_AUTHENTICATION,
        AlgorithmId::ECCP256,
        &ImportKey::Ecc { scalar: &scalar },
        PinPolicy::Default,
        TouchPolicy::Default,
    )
    .unwrap();
    let meta = s.get_metadata(KeyRef::CARD_AUTHENTICATION).unwrap().unwrap();
    let expected = p256::SecretKey::from_slice(&scalar)
        .unwrap()
        .public_key()
        .to_sec1_bytes()
        .to_vec();
    assert!(matches!(meta.public_key, Some(PublicKey::Ecc { point, .. }) if point == expected));
    assert_eq!(
        meta.pin_policy,
        Some(PinPolicy::Never),
        "9E defaults to PIN policy NEVER"
    );
}

#[test]
fn attestation_certificate_is_signed_by_f9_and_carries_yubico_extensions() {
    use der::{Decode, Encode};
    use x509_cert::Certificate;
    let mut card = card(15);
    let mut s = admin_session(&mut card);
    let public = s
        .generate_key_pair(
            KeyRef::SIGNATURE,
            AlgorithmId::ECCP256,
            PinPolicy::Once,
            TouchPolicy::Cached,
        )
        .unwrap();
    let attestation = s.attest(KeyRef::SIGNATURE).unwrap();
    let authority = s.get_data(0x5FFF01).unwrap().unwrap();
    let authority_der = tessera_piv::tlv::parse_single(&authority, 0x70).unwrap();
    let authority = Certificate::from_der(authority_der).unwrap();
    let cert = Certificate::from_der(&attestation).unwrap();
    assert_eq!(
        cert.tbs_certificate().issuer(),
        authority.tbs_certificate().subject()
    );
    assert_eq!(
        cert.tbs_certificate().subject().to_string(),
        "CN=YubiKey PIV Attestation 9c"
    );
    // The certified key is the slot's key.
    let point = ec_point(&public);
    let spki = cert.tbs_certificate().subject_public_key_info();
    assert_eq!(spki.subject_public_key.raw_bytes(), point);
    // Signed by the F9 key (ECDSA P-256 / SHA-256), which also signed its own certificate.
    let f9 = p256::ecdsa::VerifyingKey::from_sec1_bytes(
        authority
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    )
    .unwrap();
    for c in [&cert, &authority] {
        let tbs = c.tbs_certificate().to_der().unwrap();
        let sig = p256::ecdsa::Signature::from_der(c.signature().raw_bytes()).unwrap();
        f9.verify_prehash(&Sha256::digest(&tbs), &sig).unwrap();
    }
    let ext = |oid: &str| {
        cert.tbs_certificate()
            .extensions()
            .unwrap()
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes().to_vec())
            .unwrap()
    };
    assert_eq!(ext("1.3.6.1.4.1.41482.3.3"), [5, 7, 2]);
    assert_eq!(ext("1.3.6.1.4.1.41482.3.7"), [0x02, 0x04, 0x01, 0xE8, 0x48, 0x01]);
    assert_eq!(
        ext("1.3.6.1.4.1.41482.3.8"),
        [PinPolicy::Once.to_byte(), TouchPolicy::Cached.to_byte()]
    );
    assert_eq!(ext("1.3.6.1.4.1.41482.3.9"), [0x01]);
}

#[test]
fn aes192_management_key_configuration() {
    let config = CardConfig {
        management_algorithm: ManagementAlgorithm::Aes192,
        ..CardConfig::seeded(16)
    };
    let mut card = VirtualCard::new(config).unwrap();
    let mut s = Session::new(&mut card);
    s.select().unwrap();
    let meta = s.get_metadata(KeyRef::MANAGEMENT).unwrap().unwrap();
    assert_eq!(
        (meta.algorithm, meta.is_default),
        (Some(AlgorithmId::AES192), Some(true))
    );
    assert!(
        s.authenticate_management_key(&common::default_key()).is_err(),
        "3DES must be refused"
    );
    s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Aes192).unwrap())
        .unwrap();
    // External authentication as the minidriver does it.
    let challenge = s.management_challenge(ManagementAlgorithm::Aes192).unwrap();
    let key = ManagementKey::default_for(ManagementAlgorithm::Aes192).unwrap();
    s.management_response(
        ManagementAlgorithm::Aes192,
        &key.encrypt_block(&challenge).unwrap(),
    )
    .unwrap();
}

#[test]
fn extended_length_session_writes_large_objects() {
    let mut card = card(17);
    let mut s = Session::with_options(
        &mut card,
        tessera_piv::SessionOptions {
            extended_length: true,
            ..Default::default()
        },
    );
    s.select().unwrap();
    s.authenticate_management_key(&common::default_key()).unwrap();
    let content: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    s.put_data(0x5FC105, &content).unwrap();
    assert_eq!(&s.get_data(0x5FC105).unwrap().unwrap()[..], &content[..]);
}
