//! Sequences that mirror what Windows does with a card (the certification kit's CertSequences: SCLogon,
//! SSL_ECC, MailSign, MailDecrypt, EFS), each on a fresh context and checked end to end with the
//! harness's own cryptography: the certificate read through the module is parsed with `x509-cert`, and
//! what the card signs is verified with the key in that certificate.

use tessera_piv::PublicKey;

use crate::blobs;
use crate::codes::*;
use crate::ffi::calls::flags::*;
use crate::ffi::calls::{
    DecryptArgs, DeriveArgs, PaddingInfo, SignArgs, StructArg, kdf_hash_name, kdf_param,
};
use crate::fixture::{DEFAULT_PIN, certificate_key};
use crate::harness::{CaseDef, ConnectedContext, Profile, Verdict, case};
use crate::oracle::ec::{Curve, PeerKey, verify_ecdsa};
use crate::oracle::hash::Hash;
use crate::oracle::kdf::{self, tls};
use crate::oracle::rsa::{RsaKey, decode_oaep, reversed};
use crate::suites::ecdh::agree;
use crate::suites::keys::{NeededKey, find, login};

const SUITE: &str = "sequences";

/// What the CSP learns about a container before using it: its public key from `CardGetContainerInfo`,
/// its certificate file read and parsed, and the PIN it is bound to.
struct Learnt {
    blob: Vec<u8>,
    certificate_key: PublicKey,
    pin: u32,
}

/// Reads what the CSP reads for container `index`, and checks the certificate matches the key blob.
fn learn(v: &mut Verdict, b: &ConnectedContext, index: u8, exchange: bool) -> Option<Learnt> {
    let info = b.call().get_container_info(index, 0, StructArg::V1);
    if !v.reply("CardGetContainerInfo", &info, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let info = info.value.unwrap_or_default();
    let blob = if exchange {
        info.exchange_key
    } else {
        info.signature_key
    };
    let Some(blob) = blob else {
        v.fail(format!(
            "container {index} has no {} key",
            if exchange { "exchange" } else { "signature" }
        ));
        return None;
    };
    let file = format!("{}{index:02x}", if exchange { "kxc" } else { "ksc" });
    let cert = b.call().read(Some("mscp"), &file);
    if !v.reply(&format!("CardReadFile(mscp/{file})"), &cert, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let Some((certificate_key, _)) = cert.value.as_deref().and_then(certificate_key) else {
        v.fail(format!("mscp/{file} is not a certificate x509-cert can parse"));
        return None;
    };
    let in_blob = crate::harness::key_material(&blob);
    let in_cert = match &certificate_key {
        PublicKey::Rsa { modulus, .. } => Some(modulus.clone()),
        PublicKey::Ecc { point, .. } => point.get(1..).map(<[u8]>::to_vec),
    };
    v.check(in_blob.is_some() && in_blob == in_cert, || {
        format!("the key of mscp/{file} differs from CardGetContainerInfo's")
    });
    let pin = b
        .call()
        .get_container_property(index, Some("PIN Identifier"), 4, 0, false, false);
    let ok = pin.ok();
    let pin = pin
        .value
        .filter(|_| ok)
        .and_then(|p| blobs::dwords(&p.data).first().copied())
        .unwrap_or(1);
    Some(Learnt {
        blob,
        certificate_key,
        pin,
    })
}

/// Authenticates the container's PIN as the CSP does (CardAuthenticateEx with CCP_PIN_IDENTIFIER's id).
fn authenticate(v: &mut Verdict, b: &ConnectedContext, pin_id: u32) -> bool {
    if pin_id == 0 {
        return true;
    }
    let r = b
        .call()
        .authenticate_ex(pin_id, 0, Some(DEFAULT_PIN), None, false, true);
    v.reply(&format!("CardAuthenticateEx({pin_id})"), &r, &[SCARD_S_SUCCESS])
}

/// Starts the way every CSP transaction does: cardid, cardcf, cmapfile.
fn read_card_files(v: &mut Verdict, b: &ConnectedContext) -> Option<Vec<blobs::CmapRecord>> {
    let id = b.call().read(None, "cardid");
    v.reply("CardReadFile(cardid)", &id, &[SCARD_S_SUCCESS]);
    v.check(id.value.as_ref().is_some_and(|d| d.len() == 16), || {
        "cardid is not 16 bytes".into()
    });
    let cf = b.call().read(None, "cardcf");
    v.reply("CardReadFile(cardcf)", &cf, &[SCARD_S_SUCCESS]);
    let cmap = b.call().read(Some("mscp"), "cmapfile");
    if !v.reply("CardReadFile(mscp/cmapfile)", &cmap, &[SCARD_S_SUCCESS]) {
        return None;
    }
    v.setup("cmapfile", blobs::parse_cmapfile(&cmap.value.unwrap_or_default()))
}

fn logon_rsa() -> CaseDef {
    case(SUITE, "smart-card-logon-rsa", |h, v| {
        let Some(b) = v.setup("open", h.open()) else {
            return;
        };
        let Some(records) = read_card_files(v, &b) else {
            return;
        };
        let Some(default) = records
            .iter()
            .find(|r| r.valid() && r.flags & blobs::CMAP_DEFAULT != 0)
        else {
            return v.fail("no default container in cmapfile");
        };
        let exchange = default.kx_bits != 0;
        let Some(learnt) = learn(v, &b, default.index, exchange) else {
            return;
        };
        let PublicKey::Rsa {
            modulus, exponent, ..
        } = &learnt.certificate_key
        else {
            return v.skip("the default container holds no RSA key");
        };
        let Some(rsa) = v.setup("certificate key", RsaKey::new(modulus, exponent)) else {
            return;
        };
        if !authenticate(v, &b, learnt.pin) {
            return;
        }
        // PKINIT: the KDC's challenge is signed (SHA-256, PKCS#1 v1.5) by the logon key.
        let hash = Hash::Sha256.of("kerberos as-req authenticator");
        let spec = if exchange { 1 } else { 2 };
        let args = SignArgs::pkcs1_sha256(default.index, spec, &hash);
        let r = b.call().sign_data(&args);
        if v.reply("CardSignData", &r, &[SCARD_S_SUCCESS])
            && let Some(sig) = r.value.and_then(|o| o.signature)
            && let Err(e) = rsa.verify_pkcs1(Some(Hash::Sha256), &hash, &reversed(&sig))
        {
            v.fail(format!("with the certificate's key: {e}"));
        }
        let d = b.call().deauthenticate_ex(0xFE, 0);
        v.reply(
            "CardDeauthenticateEx",
            &d,
            &[SCARD_S_SUCCESS, SCARD_E_UNSUPPORTED_FEATURE],
        );
        v.note(format!(
            "default container {} ({} bytes of key blob)",
            default.index,
            learnt.blob.len()
        ));
        v.note(
            "CMCK CertSequences/SCLogon: cardid, cardcf, cmapfile, container info, certificate, PIN, \
            signature verified with the certificate",
        );
    })
}

fn logon_ecc() -> CaseDef {
    case(SUITE, "smart-card-logon-ecc", |h, v| {
        let Some(key) = v.setup("the P-256 logon key", find(h, NeededKey::Ecdsa(Curve::P256))) else {
            return;
        };
        let Some(b) = v.setup("open", h.open()) else {
            return;
        };
        if read_card_files(v, &b).is_none() {
            return;
        }
        let Some(learnt) = learn(v, &b, key.index, false) else {
            return;
        };
        let PublicKey::Ecc { point, .. } = &learnt.certificate_key else {
            return v.fail("the certificate holds no EC key");
        };
        v.check(
            blobs::parse_ecc_blob(&learnt.blob).is_ok_and(|e| e.magic == blobs::ECDSA_P256),
            || "the container's blob is not ECS1".into(),
        );
        // Windows keeps cached logon credentials encrypted for the ECDH twin.
        let twin =
            b.call()
                .get_container_property(key.index, Some("Associated ECDH Key"), 4, 0, false, false);
        if v.reply("CCP_ASSOCIATED_ECDH_KEY", &twin, &[SCARD_S_SUCCESS]) {
            let index = twin.value.and_then(|p| p.data.first().copied()).unwrap_or(0xFF);
            let info = b.call().get_container_info(index, 0, StructArg::V1);
            v.check(
                info.value
                    .and_then(|i| i.exchange_key)
                    .and_then(|k| blobs::parse_ecc_blob(&k).ok())
                    .is_some_and(|e| e.magic == blobs::ECDH_P256 && Some(e.xy.as_slice()) == point.get(1..)),
                || format!("container {index} is not the ECDH side of the logon key"),
            );
        }
        if !authenticate(v, &b, learnt.pin) {
            return;
        }
        let hash = Hash::Sha256.of("pkinit ecc");
        let r = b
            .call()
            .sign_data(&SignArgs::basic(2, key.index, Curve::P256.ecdsa_spec(), 0, &hash));
        if v.reply("CardSignData", &r, &[SCARD_S_SUCCESS])
            && let Some(sig) = r.value.and_then(|o| o.signature)
            && let Err(e) = verify_ecdsa(Curve::P256, point, &hash, &sig)
        {
            v.fail(format!("with the certificate's key: {e}"));
        }
        v.note("CMCK CertSequences/SCLogon with an ECC certificate (ECDSA P-256 and its ECDH twin)");
    })
}

fn tls12(curve: Curve, prf: Hash) -> CaseDef {
    let label = curve.name().to_lowercase().replace('-', "");
    case(
        SUITE,
        format!("tls12-client-auth-ecdhe-ecdsa-{label}"),
        move |h, v| {
            let Some(client) = v.setup("the client's ECDSA key", find(h, NeededKey::Ecdsa(curve))) else {
                return;
            };
            let Some(twin) = v.setup("its ECDH twin", find(h, NeededKey::Ecdh(curve))) else {
                return;
            };
            let Some(b) = v.setup("open", h.open()) else {
                return;
            };
            if let Err(code) = login(&b, &client) {
                return v.fail(format!("log in: {}", name(code)));
            }
            let server = PeerKey::new(curve, &format!("tls server ephemeral {label}"));
            let client_random = Hash::Sha256.of("client random");
            let server_random = Hash::Sha256.of("server random");
            // ECDH with the server's ephemeral key, then the master secret through the TLS 1.2 PRF.
            let Some(agreement) = agree(v, &b, &twin, &server) else {
                return;
            };
            v.expected = None;
            let seed = [client_random.clone(), server_random.clone()].concat();
            let r = b.call().derive_key(&DeriveArgs::new(
                agreement,
                "TLS_PRF",
                vec![
                    (kdf_param::TLS_PRF_LABEL, b"master secret".to_vec()),
                    (kdf_param::TLS_PRF_SEED, seed.clone()),
                    (kdf_param::TLS_PRF_PROTOCOL, tls::V1_2.to_le_bytes().to_vec()),
                    (kdf_param::HASH_ALGORITHM, kdf_hash_name(prf.cng_name())),
                ],
            ));
            v.reply("CardDeriveKey(TLS_PRF, master secret)", &r, &[SCARD_S_SUCCESS]);
            let Some(z) = v.setup("server's shared secret", server.shared_secret(&client.point())) else {
                return;
            };
            let master = kdf::tls12_prf(prf, &z, b"master secret", &seed, 48);
            v.check(r.value.as_ref().is_some_and(|o| o.key == master), || {
                "the client's master secret differs from the server's".into()
            });
            let _ = b.call().destroy_dh_agreement(agreement, 0);
            // CertificateVerify: the client signs the handshake hash with its ECDSA key.
            let transcript = [
                b"ClientHello".as_slice(),
                b"ServerHello",
                b"Certificate",
                b"ServerKeyExchange",
                b"CertificateRequest",
                b"ServerHelloDone",
                b"Certificate(client)",
                b"ClientKeyExchange",
            ]
            .concat();
            let handshake_hash = prf.digest(&[&transcript]);
            let s = b
                .call()
                .sign_data(&SignArgs::basic(2, client.index, client.spec, 0, &handshake_hash));
            if v.reply("CardSignData(CertificateVerify)", &s, &[SCARD_S_SUCCESS])
                && let Some(sig) = s.value.and_then(|o| o.signature)
                && let Err(e) = verify_ecdsa(curve, &client.point(), &handshake_hash, &sig)
            {
                v.fail(e);
            }
            // Finished: both sides agree on verify_data from the master secret.
            if let Some(out) = r.value {
                let client_side = kdf::tls12_prf(prf, &out.key, b"client finished", &handshake_hash, 12);
                let server_side = kdf::tls12_prf(prf, &master, b"client finished", &handshake_hash, 12);
                v.check(client_side == server_side, || {
                    "Finished verify_data would not match".into()
                });
            }
            v.note(format!(
                "CMCK CertSequences/SSL_ECC: ECDH {} + TLS 1.2 PRF ({}) + ECDSA CertificateVerify",
                curve.name(),
                prf.cng_name()
            ));
        },
    )
}

fn smime() -> CaseDef {
    case(SUITE, "smime-sign-and-decrypt", |h, v| {
        let Some(key) = v.setup("the mail key", find(h, NeededKey::RsaExchange(2048))) else {
            return;
        };
        let Some(rsa) = v.setup("public key", key.rsa()) else {
            return;
        };
        // MailSign through CAPI: CALG_SHA_256, PKCS#1 v1.5.
        let Some(b) = v.setup("open", h.open()) else {
            return;
        };
        if read_card_files(v, &b).is_none() {
            return;
        }
        let Some(learnt) = learn(v, &b, key.index, true) else {
            return;
        };
        if !authenticate(v, &b, learnt.pin) {
            return;
        }
        let signed_attributes = Hash::Sha256.of("cms signed attributes");
        let s = b.call().sign_data(&SignArgs::basic(
            2,
            key.index,
            key.spec,
            0x800C,
            &signed_attributes,
        ));
        if v.reply("CardSignData(MailSign)", &s, &[SCARD_S_SUCCESS])
            && let Some(sig) = s.value.and_then(|o| o.signature)
            && let Err(e) = rsa.verify_pkcs1(Some(Hash::Sha256), &signed_attributes, &reversed(&sig))
        {
            v.fail(e);
        }
        // MailDecrypt, KSP style: RSAES-OAEP (SHA-256) unwrapped through pfnCspUnpadData.
        let cek = Hash::Sha256.of("content-encryption key 1");
        let Some(c) = v.setup("OAEP wrap", rsa.encrypt_oaep(Hash::Sha256, None, &cek, 11)) else {
            return;
        };
        let r = b.call().rsa_decrypt(&DecryptArgs::v2(
            key.index,
            key.spec,
            &reversed(&c),
            CARD_PADDING_OAEP,
            PaddingInfo::Oaep(Some("SHA256".into()), None),
        ));
        v.reply("CardRSADecrypt(OAEP)", &r, &[SCARD_S_SUCCESS]);
        v.check(r.value.is_some_and(|o| reversed(&o.data) == cek), || {
            "the OAEP-wrapped CEK differs".into()
        });
        // MailDecrypt, CAPI style: PKCS#1 v1.5 unwrapped by the module (a CSP without the callback).
        let Some(csp) = v.setup(
            "a context without pfnCspUnpadData",
            h.acquire_with(|s| s.nulls.unpad = true),
        ) else {
            return;
        };
        if !authenticate(v, &csp, learnt.pin) {
            return;
        }
        let cek2 = Hash::Sha256.of("content-encryption key 2");
        let Some(c) = v.setup("PKCS#1 wrap", rsa.encrypt_pkcs1(&cek2, 12)) else {
            return;
        };
        let r = csp.call().rsa_decrypt(&DecryptArgs::v2(
            key.index,
            key.spec,
            &reversed(&c),
            CARD_PADDING_PKCS1,
            PaddingInfo::Null,
        ));
        v.reply("CardRSADecrypt(PKCS#1)", &r, &[SCARD_S_SUCCESS]);
        v.check(r.value.is_some_and(|o| reversed(&o.data) == cek2), || {
            "the PKCS#1-wrapped CEK differs".into()
        });
        v.note(
            "CMCK CertSequences/MailSign + MailDecrypt: PKCS#1 signature; CEKs under RSAES-OAEP and \
            RSAES-PKCS1-v1_5",
        );
    })
}

fn efs() -> CaseDef {
    case(SUITE, "efs-key-unwrap", |h, v| {
        let Some(key) = v.setup("the EFS key", find(h, NeededKey::RsaExchange(3072))) else {
            return;
        };
        let Some(rsa) = v.setup("public key", key.rsa()) else {
            return;
        };
        let fek = Hash::Sha256.of("file encryption key");
        let Some(c) = v.setup("OAEP-SHA1 wrap", rsa.encrypt_oaep(Hash::Sha1, None, &fek, 21)) else {
            return;
        };
        // The module removes OAEP itself.
        let Some(b) = v.setup("open", h.acquire_with(|s| s.nulls.unpad = true)) else {
            return;
        };
        if let Err(code) = login(&b, &key) {
            return v.fail(format!("log in: {}", name(code)));
        }
        let r = b.call().rsa_decrypt(&DecryptArgs::v2(
            key.index,
            key.spec,
            &reversed(&c),
            CARD_PADDING_OAEP,
            PaddingInfo::Oaep(Some("SHA1".into()), None),
        ));
        v.reply("CardRSADecrypt(OAEP-SHA1)", &r, &[SCARD_S_SUCCESS]);
        v.check(r.value.is_some_and(|o| reversed(&o.data) == fek), || {
            "the FEK differs".into()
        });
        // A v6 CSP gets the raw block and removes OAEP itself.
        let got = h.with_shared(Profile::V6, |b6| {
            let _ = login(b6, &key);
            let mut args = DecryptArgs::raw(key.index, key.spec, &reversed(&c));
            args.version = 1;
            b6.call().rsa_decrypt(&args)
        });
        match got {
            Ok(r) => {
                v.reply("CardRSADecrypt(v1, raw)", &r, &[SCARD_S_SUCCESS]);
                let fek2 = r
                    .value
                    .and_then(|o| decode_oaep(&reversed(&o.data), Hash::Sha1, &[]));
                v.check(fek2.as_deref() == Some(fek.as_slice()), || {
                    "the CSP's own OAEP decoding of the raw block differs".into()
                });
            }
            Err(e) => v.fail(e),
        }
        v.note(
            "CMCK CertSequences/EFS: an AES-256 FEK wrapped with RSAES-OAEP (SHA-1) for an RSA-3072 \
            key, unwrapped by the module and, raw, by the CSP",
        );
    })
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    vec![
        logon_rsa(),
        logon_ecc(),
        tls12(Curve::P256, Hash::Sha256),
        tls12(Curve::P384, Hash::Sha384),
        smime(),
        efs(),
    ]
}
