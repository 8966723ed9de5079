//! Nothing lost: every write sequence of the Base CSP (an enrollment, a renewal, a container deletion, a
//! PIN change, an administrator-key change, and the module's own protection of a factory-default
//! management key) is cut at each of its APDUs in each way a card or reader fails
//! (`tessera_piv::transport::Faulty`), and a new context on the card as it was left must find it
//! consistent: the container map never names a slot without a key, every key on the card is a container,
//! every credential that existed before still signs (verified with its certificate's key by the `rsa` and
//! `p256` crates), a sequence that completed is fully visible, the PIN, the PUK and the management key are
//! the old or the new ones, the user's PIN still gives write rights (after which 5FC109 holds no previous
//! key of a cut change, and the card's key when the admin data says so), and no call panicked.
//!
//! The figures (points × kinds, inconsistencies) are printed: `cargo test -p tessera-minidriver --test
//! nothing_lost -- --nocapture`.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::ffi::CStr;
use std::sync::{Arc, Mutex};

use p256::ecdsa::signature::Verifier;
use tessera_minidriver::{WritePolicy, panics_caught};
use tessera_piv::objects::{AdminData, ContainerMap, ProtectedData, tags};
use tessera_piv::transport::{Fault, FaultPlan, Faulty};
use tessera_piv::{
    KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PublicKey, Session, SlotMetadata, Transport,
    TransportError,
};
use tessera_virtual_card::state::PersistentState;
use tessera_virtual_card::{CardConfig, CardConnection, SharedCard, VirtualCard};
use windows_sys::Win32::Security::Cryptography::{CARD_SIGNING_INFO, CONTAINER_INFO};

use common::{Context, take};

const SEED: u64 = 77;
const PIN: &[u8] = b"123456";
const NEW_PIN: &[u8] = b"24681357";
const NEW_ADMIN_KEY: [u8; 24] = *b"1u2i3o4p5a6s7d8f9g0hjklz";
/// `ROLE_USER`, `ROLE_ADMIN`; `CARD_CREATE_CONTAINER_KEY_GEN`; `PIN_CHANGE_FLAG_CHANGEPIN`.
const ROLE_USER: u32 = 1;
const ROLE_ADMIN: u32 = 2;
const KEY_GEN: u32 = 1;
const CHANGEPIN: u32 = 2;
/// `AT_KEYEXCHANGE`, `AT_ECDSA_P256`.
const AT_KEYEXCHANGE: u32 = 1;
const AT_ECDSA_P256: u32 = 3;
/// `EveryoneReadUserWriteAc`.
const EVERYONE_READ_USER_WRITE: i32 = 1;
/// `CALG_SHA_256`.
const CALG_SHA_256: u32 = 0x800C;
/// A `CONTAINER_MAP_RECORD` (cmapfile) and its valid flag.
const CMAP_RECORD: usize = 86;
const CMAP_VALID: u8 = 1;
/// The PIV key slots a card may hold keys in.
const KEY_SLOTS: [u8; 24] = [
    0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E,
    0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
];

/// The ways an APDU fails.
fn fault_kinds() -> Vec<(&'static str, Fault)> {
    vec![
        ("reset", Fault::Reset),
        ("removal", Fault::Removal),
        // Executed, then answered with an error status word (memory failure): the module must not
        // believe the change did not happen.
        ("error status word", Fault::Garbage(vec![0x65, 0x81])),
        ("truncated response", Fault::Truncate { keep: 1 }),
        (
            "garbage response",
            Fault::Garbage(vec![0xA5, 0x5A, 0x01, 0x90, 0x00]),
        ),
        ("lost response", Fault::LoseResponse),
    ]
}

// ---- The card and the module's link to it ----------------------------------------------------------

/// The module's connection, with a fault plan the test arms after `CardAcquireContext`.
#[derive(Clone)]
struct Link(Arc<Mutex<Faulty<CardConnection>>>);

impl Link {
    fn new(card: &SharedCard) -> Self {
        Self(Arc::new(Mutex::new(Faulty::new(
            card.connect(),
            FaultPlan::new(),
        ))))
    }

    fn arm(&self, plan: FaultPlan) {
        self.0.lock().unwrap().set_plan(plan);
    }

    fn apdus(&self) -> u64 {
        self.0.lock().unwrap().apdus_seen()
    }
}

impl Transport for Link {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0
            .lock()
            .map_err(|_| TransportError::Io("poisoned".into()))?
            .transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.0
            .lock()
            .map_err(|_| TransportError::Io("poisoned".into()))?
            .reset()
    }
}

/// A card in `snapshot`'s state. Its random generator restarts from `seed`: the runs of one sweep
/// generate the same keys, and the baselines take a seed each so that no two credentials share a key.
fn restore(snapshot: &PersistentState, seed: u64) -> SharedCard {
    SharedCard::new(VirtualCard::from_state(snapshot.clone(), CardConfig::seeded(seed)).unwrap())
}

fn snapshot(card: &SharedCard) -> PersistentState {
    card.with_card(|c| c.persistent().clone()).unwrap()
}

fn session(card: &SharedCard) -> Session<CardConnection> {
    let mut s = Session::new(card.connect());
    s.select().unwrap();
    s
}

// ---- The CSP's calls -----------------------------------------------------------------------------------

/// A failed call: its name and code.
type CallError = String;

fn rc(name: &str, code: u32) -> Result<(), CallError> {
    if code == 0 {
        Ok(())
    } else {
        Err(format!("{name}: 0x{code:08X}"))
    }
}

fn read_file(c: &Context, dir: Option<&CStr>, file: &CStr) -> Result<Vec<u8>, CallError> {
    let (mut p, mut len) = (std::ptr::null_mut(), 0u32);
    let dir = dir.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let code =
        unsafe { c.cd.pfnCardReadFile.unwrap()(&*c.cd, dir, file.as_ptr().cast(), 0, &mut p, &mut len) };
    rc(&format!("CardReadFile({file:?})"), code)?;
    Ok(take(p, len))
}

fn write_file(c: &Context, dir: Option<&CStr>, file: &CStr, data: &[u8]) -> Result<(), CallError> {
    let dir = dir.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    // SAFETY: valid arguments.
    let code = unsafe {
        c.cd.pfnCardWriteFile.unwrap()(
            &*c.cd,
            dir,
            file.as_ptr().cast(),
            0,
            data.as_ptr(),
            data.len() as u32,
        )
    };
    rc(&format!("CardWriteFile({file:?})"), code)
}

fn create_file(c: &Context, file: &CStr) -> Result<(), CallError> {
    // SAFETY: valid arguments.
    let code = unsafe {
        c.cd.pfnCardCreateFile.unwrap()(
            &*c.cd,
            c"mscp".as_ptr().cast(),
            file.as_ptr().cast(),
            0,
            EVERYONE_READ_USER_WRITE,
        )
    };
    rc(&format!("CardCreateFile({file:?})"), code)
}

fn delete_file(c: &Context, file: &CStr) -> Result<(), CallError> {
    // SAFETY: valid arguments.
    let code =
        unsafe { c.cd.pfnCardDeleteFile.unwrap()(&*c.cd, c"mscp".as_ptr().cast(), file.as_ptr().cast(), 0) };
    rc(&format!("CardDeleteFile({file:?})"), code)
}

fn login(c: &Context, pin: &[u8]) -> Result<(), CallError> {
    let (code, _) = c.authenticate(ROLE_USER, pin);
    rc("CardAuthenticateEx(ROLE_USER)", code)
}

/// The certificate file of a container.
fn cert_file(index: u8, spec: u32) -> std::ffi::CString {
    let prefix = if spec == AT_KEYEXCHANGE { "kxc" } else { "ksc" };
    std::ffi::CString::new(format!("{prefix}{index:02x}")).unwrap()
}

/// What a CSP transaction starts with: cardid, cardcf, cmapfile.
fn start(c: &Context) -> Result<(Vec<u8>, Vec<u8>), CallError> {
    read_file(c, None, c"cardid")?;
    let cardcf = read_file(c, None, c"cardcf")?;
    let cmap = read_file(c, Some(c"mscp"), c"cmapfile")?;
    Ok((cmap, cardcf))
}

fn bump(c: &Context, mut cardcf: Vec<u8>, at: usize) -> Result<(), CallError> {
    cardcf.resize(6, 0);
    cardcf[at] = cardcf[at].wrapping_add(1);
    write_file(c, None, c"cardcf", &cardcf)
}

/// The key of a `CONTAINER_INFO` blob, in the form [`key_bytes`] gives: an RSA modulus (big-endian) or an
/// uncompressed EC point.
fn blob_key(blob: &[u8]) -> Option<Vec<u8>> {
    if blob.first() == Some(&0x06) {
        // PUBLICKEYBLOB: BLOBHEADER (8), RSAPUBKEY (magic, bitlen, pubexp), the modulus little-endian.
        let bits = u32::from_le_bytes(blob.get(12..16)?.try_into().ok()?) as usize;
        let mut modulus = blob.get(20..20 + bits / 8)?.to_vec();
        modulus.reverse();
        Some(modulus)
    } else {
        // BCRYPT_ECCKEY_BLOB: magic, cbKey, X, Y.
        let n = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
        let mut point = vec![0x04];
        point.extend_from_slice(blob.get(8..8 + 2 * n)?);
        Some(point)
    }
}

fn key_bytes(key: &PublicKey) -> Vec<u8> {
    match key {
        PublicKey::Rsa { modulus, .. } => {
            let start = modulus.iter().position(|&b| b != 0).unwrap_or(0);
            modulus[start..].to_vec()
        }
        PublicKey::Ecc { point, .. } => point.clone(),
    }
}

fn container_key(c: &Context, index: u8) -> Result<Vec<u8>, CallError> {
    let blob = container_blob(c, index)?;
    blob_key(&blob).ok_or_else(|| format!("CardGetContainerInfo({index}): no key blob"))
}

fn container_blob(c: &Context, index: u8) -> Result<Vec<u8>, CallError> {
    let mut info = CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments; the blobs are freed by `take`.
    let code = unsafe { c.cd.pfnCardGetContainerInfo.unwrap()(&*c.cd, index, 0, &mut info) };
    rc(&format!("CardGetContainerInfo({index})"), code)?;
    let sig = take(info.pbSigPublicKey, info.cbSigPublicKey);
    let kx = take(info.pbKeyExPublicKey, info.cbKeyExPublicKey);
    Ok(if kx.is_empty() { sig } else { kx })
}

/// A credential: a container, its key spec and the certificate written for it.
#[derive(Debug, Clone)]
struct Credential {
    index: u8,
    spec: u32,
    certificate: Vec<u8>,
}

/// The CSP's `cmapfile` with record `index` replaced.
fn with_record(cmap: &[u8], index: u8, record: &[u8; CMAP_RECORD]) -> Vec<u8> {
    let mut out = cmap.to_vec();
    let at = usize::from(index) * CMAP_RECORD;
    if out.len() < at + CMAP_RECORD {
        out.resize(at + CMAP_RECORD, 0);
    }
    out[at..at + CMAP_RECORD].copy_from_slice(record);
    out
}

fn cmap_record(index: u8, spec: u32, bits: u16) -> [u8; CMAP_RECORD] {
    let mut r = [0u8; CMAP_RECORD];
    let name = format!("{{5AFE0000-0000-4000-8000-0000000000{index:02X}}}");
    for (i, unit) in name.encode_utf16().enumerate() {
        r[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    r[80] = CMAP_VALID;
    let at = if spec == AT_KEYEXCHANGE { 84 } else { 82 };
    r[at..at + 2].copy_from_slice(&bits.to_le_bytes());
    r
}

fn valid_indices(cmap: &[u8]) -> Vec<u8> {
    cmap.chunks_exact(CMAP_RECORD)
        .enumerate()
        .filter(|(_, r)| r[80] & CMAP_VALID != 0)
        .map(|(i, _)| i as u8)
        .collect()
}

/// A DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// The SubjectPublicKeyInfo of a `CONTAINER_INFO` key blob (RSA or P-256).
fn blob_spki(blob: &[u8]) -> Option<Vec<u8>> {
    let key = blob_key(blob)?;
    let (algorithm, bits) = if blob.first() == Some(&0x06) {
        let exponent = u32::from_le_bytes(blob.get(16..20)?.try_into().ok()?).to_be_bytes();
        let exponent = &exponent[exponent.iter().position(|&b| b != 0)?..];
        let mut integers = der(0x02, &[&[0u8][..], &key].concat());
        integers.extend(der(0x02, exponent));
        // rsaEncryption, NULL.
        let oid = hex(b"06092a864886f70d0101010500");
        (oid, der(0x30, &integers))
    } else {
        // id-ecPublicKey, prime256v1.
        (hex(b"06072a8648ce3d020106082a8648ce3d030107"), key)
    };
    let mut body = der(0x30, &algorithm);
    body.extend(der(0x03, &[&[0u8][..], &bits].concat()));
    Some(der(0x30, &body))
}

fn hex(text: &[u8]) -> Vec<u8> {
    text.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The CA's answer to the request for the key in `blob`: a certificate signed by a software CA.
fn certificate_for(blob: &[u8]) -> Result<Vec<u8>, CallError> {
    use der::{Decode, Encode};
    use x509_cert::builder::{Builder, CertificateBuilder};
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(&blob_spki(blob).ok_or("key blob")?)
        .map_err(|e| e.to_string())?;
    let ca = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let validity = x509_cert::time::Validity::from_now(std::time::Duration::from_secs(3600)).unwrap();
    let serial = x509_cert::serial_number::SerialNumber::from(7u32);
    let builder = CertificateBuilder::new(common::Leaf("nothing lost"), serial, validity, spki)
        .map_err(|e| e.to_string())?;
    let cert = builder
        .build::<_, p256::ecdsa::DerSignature>(&ca)
        .map_err(|e| e.to_string())?;
    cert.to_der().map_err(|e| e.to_string())
}

/// An enrollment as the Base CSP performs it: PIN, create the container with an on-card key, its info,
/// `cmapfile` with the new record, the certificate file, `cardcf`.
fn enroll(c: &Context, spec: u32, bits: u32) -> Result<Credential, CallError> {
    let (cmap, cardcf) = start(c)?;
    login(c, PIN)?;
    let index = cmap
        .chunks_exact(CMAP_RECORD)
        .position(|r| r[80] & CMAP_VALID == 0)
        .unwrap_or(cmap.len() / CMAP_RECORD) as u8;
    // SAFETY: valid arguments.
    let code = unsafe {
        c.cd.pfnCardCreateContainerEx.unwrap()(
            &*c.cd,
            index,
            KEY_GEN,
            spec,
            bits,
            std::ptr::null(),
            ROLE_USER,
        )
    };
    rc("CardCreateContainerEx", code)?;
    let blob = container_blob(c, index)?;
    write_file(
        c,
        Some(c"mscp"),
        c"cmapfile",
        &with_record(&cmap, index, &cmap_record(index, spec, bits as u16)),
    )?;
    let certificate = certificate_for(&blob)?;
    let file = cert_file(index, spec);
    create_file(c, &file)?;
    write_file(c, Some(c"mscp"), &file, &certificate)?;
    let mut cardcf = cardcf;
    cardcf.resize(6, 0);
    cardcf[4] = cardcf[4].wrapping_add(1);
    bump(c, cardcf, 2)?;
    Ok(Credential {
        index,
        spec,
        certificate,
    })
}

/// A deletion as the Base CSP performs it: `CardDeleteContainer`, the certificate file, the record zeroed,
/// `cardcf`.
fn delete(c: &Context, victim: &Credential) -> Result<(), CallError> {
    let (cmap, cardcf) = start(c)?;
    login(c, PIN)?;
    // SAFETY: valid arguments.
    let code = unsafe { c.cd.pfnCardDeleteContainer.unwrap()(&*c.cd, victim.index, 0) };
    rc("CardDeleteContainer", code)?;
    delete_file(c, &cert_file(victim.index, victim.spec))?;
    write_file(
        c,
        Some(c"mscp"),
        c"cmapfile",
        &with_record(&cmap, victim.index, &[0; CMAP_RECORD]),
    )?;
    bump(c, cardcf, 2)
}

fn change_authenticator(
    c: &Context,
    auth: u32,
    auth_data: &[u8],
    target: u32,
    new: &[u8],
) -> Result<(), CallError> {
    let mut attempts = 0u32;
    // SAFETY: valid arguments.
    let code = unsafe {
        c.cd.pfnCardChangeAuthenticatorEx.unwrap()(
            &*c.cd,
            CHANGEPIN,
            auth,
            auth_data.as_ptr(),
            auth_data.len() as u32,
            target,
            new.as_ptr(),
            new.len() as u32,
            0,
            &mut attempts,
        )
    };
    rc("CardChangeAuthenticatorEx", code)
}

/// A PIN change as the Base CSP performs it.
fn change_pin(c: &Context) -> Result<(), CallError> {
    start(c)?;
    change_authenticator(c, ROLE_USER, PIN, ROLE_USER, NEW_PIN)
}

/// An administrator-key change on a card whose key is PIN-protected: the user PIN verified (the module
/// changes such a key only with it, since its copy in 5FC109 changes too), the card's challenge
/// answered with the current key, then the new key.
fn change_admin_key(c: &Context, current: &ManagementKey) -> Result<(), CallError> {
    start(c)?;
    login(c, PIN)?;
    let (mut p, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let code = unsafe { c.cd.pfnCardGetChallengeEx.unwrap()(&*c.cd, ROLE_ADMIN, &mut p, &mut len, 0) };
    rc("CardGetChallengeEx(ROLE_ADMIN)", code)?;
    let response = current.encrypt_block(&take(p, len)).map_err(|e| e.to_string())?;
    change_authenticator(c, ROLE_ADMIN, &response, ROLE_ADMIN, &NEW_ADMIN_KEY)
}

/// Signs with container `index` and verifies the signature with `certificate`'s key.
fn signs(c: &Context, index: u8, spec: u32, certificate: &[u8]) -> Result<(), String> {
    use sha2::Digest;
    let key = certificate_key(certificate)?;
    let message = b"nothing lost";
    if spec == AT_ECDSA_P256 {
        let (code, sig) = c.sign_p256(index, message);
        rc("CardSignData(ECDSA P-256)", code)?;
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key).map_err(|e| e.to_string())?;
        let sig = p256::ecdsa::Signature::from_slice(&sig.unwrap()).map_err(|e| e.to_string())?;
        return vk
            .verify(message, &sig)
            .map_err(|e| format!("ECDSA signature: {e}"));
    }
    let mut hash = sha2::Sha256::digest(message).to_vec();
    let mut si = CARD_SIGNING_INFO {
        dwVersion: 1,
        bContainerIndex: index,
        dwKeySpec: spec,
        aiHashAlg: CALG_SHA_256,
        pbData: hash.as_mut_ptr(),
        cbData: 32,
        ..Default::default()
    };
    // SAFETY: valid arguments; the signature is freed by `take`.
    let code = unsafe { c.cd.pfnCardSignData.unwrap()(&*c.cd, &mut si) };
    rc("CardSignData(RSA)", code)?;
    // CryptoAPI's byte order is little-endian.
    let mut sig = take(si.pbSignedData, si.cbSignedData);
    sig.reverse();
    let PublicKey::Rsa {
        modulus, exponent, ..
    } = tessera_piv_key(certificate)?
    else {
        return Err("not an RSA certificate".into());
    };
    let n =
        rsa::BoxedUint::from_be_slice(&modulus, (modulus.len() * 8) as u32).map_err(|e| format!("{e:?}"))?;
    let e = rsa::BoxedUint::from_be_slice(&exponent, 64).map_err(|e| format!("{e:?}"))?;
    let public = rsa::PublicKey::new_with_size_limits(n, e, 1024..=4096).map_err(|e| e.to_string())?;
    public
        .verify(rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha256>(), &hash, &sig)
        .map_err(|e| format!("RSA signature: {e}"))
}

/// The subject key of a DER certificate, as [`key_bytes`] gives it.
fn certificate_key(certificate: &[u8]) -> Result<Vec<u8>, String> {
    tessera_piv_key(certificate).map(|k| key_bytes(&k))
}

fn tessera_piv_key(certificate: &[u8]) -> Result<PublicKey, String> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(certificate).map_err(|e| e.to_string())?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let bits = spki.subject_public_key.as_bytes().ok_or("key bits")?;
    if bits.first() == Some(&0x04) {
        return Ok(PublicKey::Ecc {
            algorithm: tessera_piv::AlgorithmId::ECCP256,
            point: bits.to_vec(),
        });
    }
    let body = tessera_piv::tlv::parse_single(bits, 0x30).map_err(|e| e.to_string())?;
    let parts = tessera_piv::tlv::parse_all(body).map_err(|e| e.to_string())?;
    let [n, e] = parts.as_slice() else {
        return Err("RSA key is not two integers".into());
    };
    let strip = |v: &[u8]| v[v.iter().position(|&b| b != 0).unwrap_or(0)..].to_vec();
    Ok(PublicKey::Rsa {
        algorithm: tessera_piv::AlgorithmId::RSA2048,
        modulus: strip(n.value),
        exponent: strip(e.value),
    })
}

// ---- The sequences and what must hold after them ---------------------------------------------------

#[derive(Debug, Clone)]
enum Operation {
    Enroll { spec: u32, bits: u32 },
    Delete(Credential),
    ChangePin,
    ChangeAdminKey,
}

/// A card state to start from and what the test knows about it.
#[derive(Clone)]
struct Baseline {
    state: PersistentState,
    credentials: Vec<Credential>,
    /// The management key now (the factory default, or the random one the module stored PIN-protected).
    admin_key: ManagementKey,
    /// The PUK is blocked already (the module's policy blocked the default one).
    puk_blocked: bool,
}

/// What a run of a sequence did.
enum Outcome {
    Completed(Option<Credential>),
    Failed(CallError),
}

fn run(context: &Context, base: &Baseline, op: &Operation) -> Outcome {
    let result = match op {
        Operation::Enroll { spec, bits } => enroll(context, *spec, *bits).map(Some),
        Operation::Delete(victim) => delete(context, victim).map(|()| None),
        Operation::ChangePin => change_pin(context).map(|()| None),
        Operation::ChangeAdminKey => change_admin_key(context, &base.admin_key).map(|()| None),
    };
    match result {
        Ok(new) => Outcome::Completed(new),
        Err(e) => Outcome::Failed(e),
    }
}

fn tdes(key: &[u8]) -> Option<ManagementKey> {
    ManagementKey::new_unchecked_strength(ManagementAlgorithm::Tdes, key).ok()
}

/// The card's state after a run, checked through an independent PIV session and then a new context.
/// Returns the inconsistencies found.
fn check(
    card: &SharedCard,
    base: &Baseline,
    op: &Operation,
    outcome: &Outcome,
    policy_protects: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let completed = matches!(outcome, Outcome::Completed(_));
    let mut s = session(card);

    // The PIN: the old or the new one, told by GET METADATA (the default flag) before any try is spent.
    let pin_meta = s.get_metadata(KeyRef::PIN).unwrap().unwrap();
    let pin: &[u8] = match (pin_meta.is_default, op) {
        (Some(true), _) => PIN,
        (Some(false), Operation::ChangePin) => NEW_PIN,
        (other, _) => {
            problems.push(format!(
                "the PIN is neither the old nor the new one (default flag {other:?})"
            ));
            return problems;
        }
    };
    if pin_meta.retries != Some((3, 3)) {
        problems.push(format!("PIN tries spent: {:?}", pin_meta.retries));
    }
    if s.verify(KeyRef::PIN, &PaddedPin::new(pin).unwrap()).is_err() {
        problems.push("the PIN the card reports is refused".into());
        return problems;
    }
    if matches!(op, Operation::ChangePin) && completed && pin != NEW_PIN {
        problems.push("the PIN change completed but the PIN is the old one".into());
    }

    // The PUK: the default, or blocked by the module's policy while protecting the management key.
    let puk = s.get_metadata(KeyRef::PUK).unwrap().unwrap();
    let puk_ok = match (puk.is_default, puk.retries) {
        (Some(true), Some((_, left))) if left > 0 => true,
        (_, Some((_, 0))) => policy_protects || base.puk_blocked,
        _ => false,
    };
    if !puk_ok {
        problems.push(format!(
            "PUK state unknown: default {:?}, tries {:?}",
            puk.is_default, puk.retries
        ));
    }

    // The management key: the old one, the new one, or (when the policy protects a default key) the one
    // the module stored in 5FC109.
    let protected = s
        .get_data(tags::PRINTED_INFORMATION)
        .unwrap()
        .and_then(|d| ProtectedData::try_from(d.as_slice()).ok())
        .and_then(|p| p.management_key_bytes().and_then(tdes));
    let mut known = vec![("old", base.admin_key.clone())];
    if matches!(op, Operation::ChangeAdminKey) {
        known.push(("new", tdes(&NEW_ADMIN_KEY).unwrap()));
    }
    if policy_protects && let Some(k) = &protected {
        known.push(("protected", k.clone()));
    }
    let which = known
        .iter()
        .find(|(_, k)| s.authenticate_management_key(k).is_ok())
        .map(|(name, _)| *name);
    match which {
        None => problems.push("the management key is unknown".into()),
        Some("old") if matches!(op, Operation::ChangeAdminKey) && completed => {
            problems.push("the key change completed but the card has the old key".into())
        }
        Some(_) => {}
    }

    // The keys on the card, and the map's records.
    let mut slot_keys = Vec::new();
    for slot in KEY_SLOTS {
        if let SlotMetadata::Present(m) = s.slot_metadata(KeyRef(slot)).unwrap() {
            slot_keys.push((slot, m.public_key.as_ref().map(key_bytes).unwrap_or_default()));
        }
    }
    if let Some(map) = s.get_data(tags::YUBICO_CONTAINER_MAP).unwrap() {
        match ContainerMap::try_from(map.as_slice()) {
            Ok(map) => {
                for (i, r) in map.records.iter().enumerate() {
                    // A record the CSP wrote for an index without a key is bound to no slot (00) and
                    // never shown.
                    let shown = r.flags & CMAP_VALID != 0 && r.slot.is_key_slot();
                    if shown && !slot_keys.iter().any(|(slot, _)| *slot == r.slot.0) {
                        problems.push(format!(
                            "map record {i} names slot {:02X}, which has no key",
                            r.slot.0
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("the container map does not parse: {e}")),
        }
    }
    let _ = s.logout(KeyRef::PIN);
    drop(s);

    // A new context, as the CSP opens one.
    let context = Context::acquire_with_policy(card, 7, Box::new(card.connect()), WritePolicy::hands_off());
    if let Err(e) = login(&context, pin) {
        problems.push(format!("a new context: {e}"));
        return problems;
    }
    let cmap = match read_file(&context, Some(c"mscp"), c"cmapfile") {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("a new context: {e}"));
            return problems;
        }
    };
    let mut shown = Vec::new();
    for index in valid_indices(&cmap) {
        match container_key(&context, index) {
            Ok(key) => shown.push((index, key)),
            Err(e) => problems.push(format!("cmapfile shows container {index}, but {e}")),
        }
    }
    for (slot, key) in &slot_keys {
        if !shown.iter().any(|(_, k)| k == key) {
            problems.push(format!("the key in slot {slot:02X} is not shown as a container"));
        }
    }

    // Every credential that existed before still signs, under its index, with its certificate.
    let victim = match op {
        Operation::Delete(v) => Some(v.index),
        _ => None,
    };
    let mut expected: Vec<(Credential, bool)> = base
        .credentials
        .iter()
        .map(|c| (c.clone(), Some(c.index) != victim))
        .collect();
    if let Outcome::Completed(Some(new)) = outcome {
        expected.push((new.clone(), true));
    }
    for (credential, must_exist) in &expected {
        let key = certificate_key(&credential.certificate).unwrap();
        let present = shown.iter().any(|(i, k)| *i == credential.index && *k == key);
        if !present {
            if *must_exist {
                problems.push(format!(
                    "container {} ({:?}) is lost",
                    credential.index, credential.spec
                ));
            }
            continue;
        }
        if victim == Some(credential.index) && completed {
            problems.push(format!(
                "container {} was deleted but is still shown",
                credential.index
            ));
        }
        // The certificate the CSP reads is the one written, and the key signs.
        match read_file(
            &context,
            Some(c"mscp"),
            &cert_file(credential.index, credential.spec),
        ) {
            Ok(der) if der == credential.certificate => {
                if let Err(e) = signs(&context, credential.index, credential.spec, &der) {
                    problems.push(format!("container {}: {e}", credential.index));
                }
            }
            Ok(_) => problems.push(format!("container {}: another certificate", credential.index)),
            Err(e) if *must_exist => problems.push(format!("container {}: {e}", credential.index)),
            Err(_) => {}
        }
    }
    if let (Some(victim), true) = (victim, completed) {
        let credential = base.credentials.iter().find(|c| c.index == victim).unwrap();
        let victim_key = certificate_key(&credential.certificate).unwrap();
        if let Some((slot, _)) = slot_keys.iter().find(|(_, k)| *k == victim_key) {
            let indices: Vec<u8> = shown
                .iter()
                .filter(|(_, k)| *k == victim_key)
                .map(|(i, _)| *i)
                .collect();
            problems.push(format!(
                "the deleted container's key is still on the card (slot {slot:02X}, shown as {indices:?})"
            ));
        }
    }

    // The user's PIN still gives write rights.
    let wrote = read_file(&context, None, c"cardcf").and_then(|cf| bump(&context, cf, 4));
    if let Err(e) = wrote {
        problems.push(format!("write rights lost: {e}"));
    }
    drop(context);

    // After that write with the PIN, 5FC109 is in Yubico's form again: no key of a cut change left
    // beside the current one, and (when the admin data says so) its key is the card's.
    let mut s = session(card);
    s.verify(KeyRef::PIN, &PaddedPin::new(pin).unwrap()).unwrap();
    let stored = s
        .get_data(tags::PRINTED_INFORMATION)
        .unwrap()
        .map(|d| ProtectedData::try_from(d.as_slice()).unwrap());
    if stored
        .as_ref()
        .is_some_and(|p| p.previous_management_key_bytes().is_some())
    {
        problems.push("5FC109 still holds the previous key of a change after a write with the PIN".into());
    }
    let flagged = s
        .get_data(tags::YUBICO_ADMIN_DATA)
        .unwrap()
        .and_then(|d| AdminData::try_from(d.as_slice()).ok())
        .is_some_and(|a| a.management_key_protected());
    if flagged {
        let key = stored
            .as_ref()
            .and_then(|p| p.management_key_bytes().and_then(tdes));
        if key.is_none_or(|k| s.authenticate_management_key(&k).is_err()) {
            problems.push("the admin data says the key is PIN-protected, but 5FC109 does not hold it".into());
        }
    }
    problems
}

/// One sweep: the sequence run once without faults to count its APDUs, then once per APDU and fault kind.
struct Sweep {
    name: &'static str,
    points: u64,
    kinds: usize,
    completed: usize,
    problems: Vec<String>,
}

fn sweep(name: &'static str, base: &Baseline, op: &Operation, policy: WritePolicy) -> Sweep {
    let attempt = |plan: FaultPlan| -> (u64, Outcome, SharedCard) {
        let card = restore(&base.state, SEED);
        let link = Link::new(&card);
        let context = Context::acquire_with_policy(&card, 7, Box::new(link.clone()), policy);
        link.arm(plan);
        let outcome = run(&context, base, op);
        let apdus = link.apdus();
        drop(context);
        (apdus, outcome, card)
    };
    let protects = policy.protect_default_management_key;
    let (points, clean, card) = attempt(FaultPlan::new());
    let mut problems = Vec::new();
    if let Outcome::Failed(e) = &clean {
        problems.push(format!("{name}: without faults: {e}"));
    }
    problems.extend(
        check(&card, base, op, &clean, protects)
            .into_iter()
            .map(|p| format!("{name}, no fault: {p}")),
    );
    let kinds = fault_kinds();
    let mut completed = 0;
    for at in 1..=points {
        for (kind, fault) in &kinds {
            let (_, outcome, card) = attempt(FaultPlan::new().at(at, fault.clone()));
            completed += usize::from(matches!(outcome, Outcome::Completed(_)));
            problems.extend(
                check(&card, base, op, &outcome, protects)
                    .into_iter()
                    .map(|p| format!("{name}, APDU {at}, {kind}: {p}")),
            );
        }
    }
    Sweep {
        name,
        points,
        kinds: kinds.len(),
        completed,
        problems,
    }
}

// ---- The baselines ---------------------------------------------------------------------------------

fn factory() -> Baseline {
    let card = SharedCard::new(VirtualCard::new(CardConfig::seeded(SEED)).unwrap());
    Baseline {
        state: snapshot(&card),
        credentials: Vec::new(),
        admin_key: ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap(),
        puk_blocked: false,
    }
}

/// The key the module stored PIN-protected.
fn protected_key(card: &SharedCard) -> ManagementKey {
    let mut s = session(card);
    s.verify(KeyRef::PIN, &PaddedPin::new(PIN).unwrap()).unwrap();
    let data = s.get_data(tags::PRINTED_INFORMATION).unwrap().unwrap();
    ProtectedData::try_from(data.as_slice())
        .unwrap()
        .management_key(ManagementAlgorithm::Tdes)
        .unwrap()
        .unwrap()
}

/// A factory card after the module's first write with the default policy: the management key replaced
/// by a random PIN-protected one, the default PUK blocked.
fn protected() -> Baseline {
    let base = factory();
    let card = restore(&base.state, SEED + 1);
    let context = Context::acquire_with_policy(&card, 7, Box::new(card.connect()), WritePolicy::default());
    login(&context, PIN).unwrap();
    let cardcf = read_file(&context, None, c"cardcf").unwrap();
    bump(&context, cardcf, 4).unwrap();
    drop(context);
    let admin_key = protected_key(&card);
    Baseline {
        state: snapshot(&card),
        credentials: Vec::new(),
        admin_key,
        puk_blocked: true,
    }
}

/// `base` with one more P-256 credential enrolled without faults.
fn with_credential(base: &Baseline) -> Baseline {
    let card = restore(&base.state, SEED + 2 + base.credentials.len() as u64);
    let context = Context::acquire_with_policy(&card, 7, Box::new(card.connect()), WritePolicy::hands_off());
    let credential = enroll(&context, AT_ECDSA_P256, 256).unwrap();
    drop(context);
    let mut credentials = base.credentials.clone();
    credentials.push(credential);
    Baseline {
        state: snapshot(&card),
        credentials,
        admin_key: base.admin_key.clone(),
        puk_blocked: base.puk_blocked,
    }
}

/// Prints a sweep's figures and fails on any inconsistency or caught panic.
fn report(s: &Sweep, panics_before: u64) {
    let tried = s.points as usize * s.kinds;
    println!(
        "nothing lost: {}: {} APDUs x {} fault kinds = {} runs ({} completed despite the fault), {} inconsistencies",
        s.name,
        s.points,
        s.kinds,
        tried,
        s.completed,
        s.problems.len()
    );
    for p in &s.problems {
        println!("    {p}");
    }
    assert!(
        s.problems.is_empty(),
        "{} inconsistencies (listed above)",
        s.problems.len()
    );
    // Other tests of this file run in parallel: a panic anywhere in the module counts.
    assert_eq!(panics_caught(), panics_before, "a call panicked");
}

const P256: Operation = Operation::Enroll {
    spec: AT_ECDSA_P256,
    bits: 256,
};

#[test]
fn an_interrupted_enrollment_on_a_factory_card_with_the_default_policy_loses_nothing() {
    let panics = panics_caught();
    let name = "enrollment ECDSA P-256 on a factory card (the module protects the management key and blocks the PUK first)";
    report(&sweep(name, &factory(), &P256, WritePolicy::default()), panics);
}

#[test]
fn an_interrupted_rsa_2048_enrollment_loses_nothing() {
    let panics = panics_caught();
    let op = Operation::Enroll {
        spec: AT_KEYEXCHANGE,
        bits: 2048,
    };
    report(
        &sweep(
            "enrollment RSA-2048 (AT_KEYEXCHANGE)",
            &protected(),
            &op,
            WritePolicy::hands_off(),
        ),
        panics,
    );
}

#[test]
fn an_interrupted_renewal_keeps_the_first_credential() {
    let panics = panics_caught();
    let one = with_credential(&protected());
    let name = "renewal ECDSA P-256 (a second container, the first kept)";
    report(&sweep(name, &one, &P256, WritePolicy::hands_off()), panics);
}

#[test]
fn an_interrupted_deletion_keeps_the_other_credential() {
    let panics = panics_caught();
    let two = with_credential(&with_credential(&protected()));
    let op = Operation::Delete(two.credentials[1].clone());
    report(
        &sweep(
            "container deletion (the second of two)",
            &two,
            &op,
            WritePolicy::hands_off(),
        ),
        panics,
    );
}

#[test]
fn an_interrupted_pin_change_leaves_the_old_or_the_new_pin() {
    let panics = panics_caught();
    let one = with_credential(&protected());
    report(
        &sweep(
            "PIN change",
            &one,
            &Operation::ChangePin,
            WritePolicy::hands_off(),
        ),
        panics,
    );
}

#[test]
fn an_interrupted_management_key_change_leaves_the_old_or_the_new_key() {
    let panics = panics_caught();
    let one = with_credential(&protected());
    let name = "management-key change (the key PIN-protected)";
    report(
        &sweep(name, &one, &Operation::ChangeAdminKey, WritePolicy::hands_off()),
        panics,
    );
}

#[test]
fn a_deleted_ecdsa_container_takes_its_key_and_its_ecdh_twin() {
    let two = with_credential(&with_credential(&protected()));
    let card = restore(&two.state, SEED);
    let victim = &two.credentials[1];
    let context = Context::acquire_with_policy(&card, 7, Box::new(card.connect()), WritePolicy::hands_off());
    delete(&context, victim).unwrap();
    drop(context);
    let problems = check(
        &card,
        &two,
        &Operation::Delete(victim.clone()),
        &Outcome::Completed(None),
        false,
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
