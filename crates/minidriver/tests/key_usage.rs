//! The certificate's key usage decides what an RSA key may do: a key certified for signatures only
//! refuses `CardRSADecrypt` whatever key spec the CSP asks with, while a dual-use key decrypts with
//! either spec.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::str::FromStr;
use std::time::Duration;

use der::{Decode, Encode};
use tessera_piv::objects::CertificateObject;
use tessera_piv::{AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PinPolicy, Session};
use windows_sys::Win32::Security::Cryptography::{CARD_PADDING_NONE, CARD_RSA_DECRYPT_INFO};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use common::{Context, TestCard};

const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;
const AT_KEYEXCHANGE: u32 = 1;
const AT_SIGNATURE: u32 = 2;

/// A leaf certificate profile with one key-usage extension.
struct Leaf(KeyUsage);

impl BuilderProfile for Leaf {
    fn get_issuer(&self, _subject: &Name) -> Name {
        Name::from_str("CN=key usage test CA").unwrap()
    }

    fn get_subject(&self) -> Name {
        Name::from_str("CN=key usage test").unwrap()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(vec![self.0.to_extension(tbs.subject(), &[])?])
    }
}

/// Puts a certificate with `usage` for the key in `slot` on the card: the card's attestation gives the
/// key's SubjectPublicKeyInfo; a software CA signs.
fn certify(card: &TestCard, slot: KeyRef, usage: KeyUsage) {
    let mut s = Session::new(card.card.connect());
    s.select().unwrap();
    let attestation = Certificate::from_der(&s.attest(slot).unwrap()).unwrap();
    let spki = attestation.tbs_certificate().subject_public_key_info().clone();
    let ca = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let validity = Validity::from_now(Duration::from_secs(3600)).unwrap();
    let builder = CertificateBuilder::new(Leaf(usage), SerialNumber::from(7u32), validity, spki).unwrap();
    let der = builder
        .build::<_, p256::ecdsa::DerSignature>(&ca)
        .unwrap()
        .to_der()
        .unwrap();
    s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
        .unwrap();
    let object = CertificateObject::new(der).encode().unwrap();
    s.put_data(slot.certificate_object().unwrap(), &object).unwrap();
}

/// Raw `CardRSADecrypt` of a small value with the container at `index`.
fn decrypt(ctx: &Context, index: u8, key_spec: u32) -> u32 {
    let mut data = vec![0u8; 128];
    data[0] = 5;
    let mut info = CARD_RSA_DECRYPT_INFO {
        dwVersion: 2,
        bContainerIndex: index,
        dwKeySpec: key_spec,
        pbData: data.as_mut_ptr(),
        cbData: 128,
        pPaddingInfo: std::ptr::null_mut(),
        dwPaddingType: CARD_PADDING_NONE,
    };
    // SAFETY: valid arguments.
    unsafe { ctx.cd.pfnCardRSADecrypt.unwrap()(&*ctx.cd, &mut info) }
}

#[test]
fn a_signature_only_key_refuses_decryption_and_a_dual_use_key_decrypts_with_either_spec() {
    let card = TestCard::new(71);
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::RSA1024, PinPolicy::Once);
    certify(
        &card,
        KeyRef::AUTHENTICATION,
        KeyUsage(KeyUsages::DigitalSignature.into()),
    );
    card.generate(KeyRef::KEY_MANAGEMENT, AlgorithmId::RSA1024, PinPolicy::Once);
    certify(
        &card,
        KeyRef::KEY_MANAGEMENT,
        KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment),
    );
    let ctx = Context::acquire(&card.card, 7);
    ctx.login();
    // 9A: index 0, signature only.
    for spec in [AT_SIGNATURE, AT_KEYEXCHANGE] {
        assert_eq!(
            decrypt(&ctx, 0, spec),
            SCARD_E_INVALID_PARAMETER,
            "a signature-only key decrypted (key spec {spec})"
        );
    }
    // 9D: index 2, dual use.
    for spec in [AT_KEYEXCHANGE, AT_SIGNATURE] {
        assert_eq!(decrypt(&ctx, 2, spec), 0, "the dual-use key (key spec {spec})");
    }
}
