//! What an enrollment costs: the Base CSP's enrollment sequence (PIN, `CardCreateContainerEx` with an
//! on-card P-256 key, its container information, `cmapfile`, `cardcf`, the certificate file, `cardcf`)
//! on a card with three keys and no container map, APDU by APDU. The module made each write itself and
//! knows what the card holds after it: nothing it wrote is read back, no object is read twice, and the
//! answers are those a context that scans the card afterwards gives.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::{Arc, Mutex};

use tessera_piv::{Session, Transport, TransportError};
use windows_sys::Win32::Security::Cryptography::CONTAINER_INFO;

use common::{Context, TestCard, card_with_keys, take};

/// `CARD_CREATE_CONTAINER_KEY_GEN`, `AT_ECDSA_P256`, `ROLE_USER`, `EveryoneReadUserWriteAc`.
const KEY_GEN: u32 = 1;
const AT_ECDSA_P256: u32 = 3;
const ROLE_USER: u32 = 1;
const EVERYONE_READ_USER_WRITE: i32 = 1;
/// A `CONTAINER_MAP_RECORD` and its valid flag.
const CMAP_RECORD: usize = 86;
const CMAP_VALID: u8 = 1;
/// GET DATA, GET RESPONSE, PUT DATA, GENERATE ASYMMETRIC KEY PAIR, GET METADATA.
const GET_DATA: u8 = 0xCB;
const GET_RESPONSE: u8 = 0xC0;
const PUT_DATA: u8 = 0xDB;
const GENERATE: u8 = 0x47;
const GET_METADATA: u8 = 0xF7;
/// The container map and the freshness object.
const CONTAINER_MAP: u32 = 0x5F_FF10;
const FRESHNESS: u32 = 0x5F_FF20;

/// Keeps every command APDU the module sends.
struct Recorded<T> {
    inner: T,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl<T: Transport> Transport for Recorded<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.lock().unwrap().push(apdu.to_vec());
        self.inner.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

/// A context on `card` whose APDUs are kept in the returned log.
fn recorded_context(card: &TestCard) -> (Context, Arc<Mutex<Vec<Vec<u8>>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let transport = Recorded {
        inner: card.card.connect(),
        sent: sent.clone(),
    };
    (Context::acquire_with(&card.card, 7, Box::new(transport)), sent)
}

/// The tag of a GET DATA or of the first PUT DATA of a chain (`5C len tag` after the header and a
/// short or an extended Lc).
fn object_tag(apdu: &[u8]) -> Option<u32> {
    let data = if *apdu.get(4)? == 0 { 7 } else { 5 };
    let (&[0x5C, len], rest) = apdu.get(data..)?.split_first_chunk::<2>()? else {
        return None;
    };
    let tag = rest.get(..usize::from(len).min(3))?;
    Some(tag.iter().fold(0, |t, &b| t << 8 | u32::from(b)))
}

/// One call of the sequence: its name and the commands it sent.
struct Call {
    name: String,
    sent: Vec<Vec<u8>>,
}

impl Call {
    fn instructions(&self) -> Vec<u8> {
        self.sent.iter().map(|a| a[1]).collect()
    }
}

/// Runs `f` and keeps what it sent under `name`.
fn call(calls: &mut Vec<Call>, log: &Mutex<Vec<Vec<u8>>>, name: &str, f: impl FnOnce() -> u32) {
    let before = log.lock().unwrap().len();
    assert_eq!(f(), 0, "{name}");
    let sent = log.lock().unwrap()[before..].to_vec();
    calls.push(Call {
        name: name.into(),
        sent,
    });
}

fn read_file(ctx: &Context, dir: Option<&CStr>, file: &CStr) -> (u32, Vec<u8>) {
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    let dir = dir.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        ctx.cd.pfnCardReadFile.unwrap()(&*ctx.cd, dir, file.as_ptr().cast(), 0, &mut data, &mut len)
    };
    (rc, if rc == 0 { take(data, len) } else { Vec::new() })
}

fn write_file(ctx: &Context, dir: Option<&CStr>, file: &CStr, data: &[u8]) -> u32 {
    let dir = dir.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    // SAFETY: valid arguments.
    unsafe {
        ctx.cd.pfnCardWriteFile.unwrap()(
            &*ctx.cd,
            dir,
            file.as_ptr().cast(),
            0,
            data.as_ptr(),
            data.len() as u32,
        )
    }
}

/// `CardGetContainerInfo(index)`: the code and the signature key blob.
fn container_info(ctx: &Context, index: u8) -> (u32, Vec<u8>) {
    let mut info = CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments; the blobs are freed by `take`.
    let rc = unsafe { ctx.cd.pfnCardGetContainerInfo.unwrap()(&*ctx.cd, index, 0, &mut info) };
    let blob = |p: *mut u8, len: u32| if p.is_null() { Vec::new() } else { take(p, len) };
    let signature = blob(info.pbSigPublicKey, info.cbSigPublicKey);
    blob(info.pbKeyExPublicKey, info.cbKeyExPublicKey);
    (rc, signature)
}

/// The CA's answer for the P-256 key of a `BCRYPT_ECCKEY_BLOB` (magic, cbKey, X, Y), signed by a
/// software CA.
fn certificate_for(blob: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    use p256::pkcs8::EncodePublicKey;
    use x509_cert::builder::{Builder, CertificateBuilder};
    let point = [&[0x04][..], &blob[8..]].concat();
    let key = p256::PublicKey::from_sec1_bytes(&point).unwrap();
    let spki =
        spki::SubjectPublicKeyInfoOwned::from_der(key.to_public_key_der().unwrap().as_bytes()).unwrap();
    let ca = p256::ecdsa::SigningKey::from_slice(&[0x24; 32]).unwrap();
    let validity = x509_cert::time::Validity::from_now(std::time::Duration::from_secs(3600)).unwrap();
    let serial = x509_cert::serial_number::SerialNumber::from(11u32);
    let builder =
        CertificateBuilder::new(common::Leaf("enrollment economy"), serial, validity, spki).unwrap();
    let cert = builder.build::<_, p256::ecdsa::DerSignature>(&ca).unwrap();
    cert.to_der().unwrap()
}

/// `cardcf` with byte `at` bumped (2: containers, 4: files), as the CSP writes it.
fn bumped(cardcf: &[u8], at: usize) -> Vec<u8> {
    let mut out = cardcf.to_vec();
    out[at] = out[at].wrapping_add(1);
    out
}

/// The Base CSP's enrollment of a P-256 key on `card` in context `ctx`: the calls with what each sent,
/// the container index and the certificate written.
fn enroll(ctx: &Context, log: &Mutex<Vec<Vec<u8>>>) -> (Vec<Call>, u8, Vec<u8>) {
    let mut calls = Vec::new();
    let mut cardcf = Vec::new();
    let mut cmapfile = Vec::new();
    call(&mut calls, log, "CardReadFile(cardid)", || {
        read_file(ctx, None, c"cardid").0
    });
    call(&mut calls, log, "CardReadFile(cardcf)", || {
        let (rc, data) = read_file(ctx, None, c"cardcf");
        cardcf = data;
        rc
    });
    call(&mut calls, log, "CardReadFile(mscp/cmapfile)", || {
        let (rc, data) = read_file(ctx, Some(c"mscp"), c"cmapfile");
        cmapfile = data;
        rc
    });
    call(&mut calls, log, "CardAuthenticateEx(PIN)", || {
        ctx.authenticate(ROLE_USER, b"123456").0
    });
    let index = cmapfile
        .chunks_exact(CMAP_RECORD)
        .position(|r| r[80] & CMAP_VALID == 0)
        .unwrap_or(cmapfile.len() / CMAP_RECORD) as u8;
    call(&mut calls, log, "CardCreateContainerEx", || {
        // SAFETY: valid arguments.
        unsafe {
            ctx.cd.pfnCardCreateContainerEx.unwrap()(
                &*ctx.cd,
                index,
                KEY_GEN,
                AT_ECDSA_P256,
                256,
                std::ptr::null(),
                ROLE_USER,
            )
        }
    });
    let mut blob = Vec::new();
    call(&mut calls, log, "CardGetContainerInfo", || {
        let (rc, key) = container_info(ctx, index);
        blob = key;
        rc
    });
    let mut record = [0u8; CMAP_RECORD];
    for (i, unit) in "{E0E0E0E0-0000-4000-8000-000000000001}"
        .encode_utf16()
        .enumerate()
    {
        record[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    record[80] = CMAP_VALID;
    record[82..84].copy_from_slice(&256u16.to_le_bytes());
    let at = usize::from(index) * CMAP_RECORD;
    cmapfile.resize(cmapfile.len().max(at + CMAP_RECORD), 0);
    cmapfile[at..at + CMAP_RECORD].copy_from_slice(&record);
    call(&mut calls, log, "CardWriteFile(mscp/cmapfile)", || {
        write_file(ctx, Some(c"mscp"), c"cmapfile", &cmapfile)
    });
    let cardcf = bumped(&cardcf, 2);
    call(&mut calls, log, "CardWriteFile(cardcf)", || {
        write_file(ctx, None, c"cardcf", &cardcf)
    });
    let certificate = certificate_for(&blob);
    let file = std::ffi::CString::new(format!("ksc{index:02x}")).unwrap();
    call(&mut calls, log, "CardCreateFile(mscp/ksc)", || {
        // SAFETY: valid arguments.
        unsafe {
            ctx.cd.pfnCardCreateFile.unwrap()(
                &*ctx.cd,
                c"mscp".as_ptr().cast(),
                file.as_ptr().cast(),
                0,
                EVERYONE_READ_USER_WRITE,
            )
        }
    });
    call(&mut calls, log, "CardWriteFile(mscp/ksc)", || {
        write_file(ctx, Some(c"mscp"), &file, &certificate)
    });
    let cardcf = bumped(&cardcf, 4);
    call(&mut calls, log, "CardWriteFile(cardcf) again", || {
        write_file(ctx, None, c"cardcf", &cardcf)
    });
    (calls, index, certificate)
}

fn breakdown(calls: &[Call]) -> String {
    calls
        .iter()
        .map(|c| format!("{} {}", c.name, c.sent.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn an_enrollment_reads_nothing_it_wrote_and_no_object_twice() {
    let card = card_with_keys(61);
    let (ctx, log) = recorded_context(&card);
    let (calls, index, certificate) = enroll(&ctx, &log);
    let by_name: BTreeMap<&str, &Call> = calls.iter().map(|c| (c.name.as_str(), c)).collect();
    let costs = breakdown(&calls);

    // After the module's own writes: nothing read back.
    assert!(
        by_name["CardGetContainerInfo"].sent.is_empty(),
        "the new container is known from the key the card returned: {costs}"
    );
    assert!(
        by_name["CardCreateFile(mscp/ksc)"].sent.is_empty(),
        "the certificate file is created without the card: {costs}"
    );
    for name in [
        "CardWriteFile(mscp/cmapfile)",
        "CardWriteFile(mscp/ksc)",
        "CardWriteFile(cardcf)",
        "CardWriteFile(cardcf) again",
    ] {
        let write = by_name[name];
        assert!(
            write.instructions().iter().all(|&ins| ins == PUT_DATA),
            "{name} sends its PUT DATA and nothing else: {:02X?}",
            write.instructions()
        );
    }
    assert_eq!(
        object_tag(&by_name["CardWriteFile(mscp/cmapfile)"].sent[0]),
        Some(CONTAINER_MAP)
    );
    assert_eq!(by_name["CardWriteFile(cardcf)"].sent.len(), 1);
    assert_eq!(
        object_tag(&by_name["CardWriteFile(cardcf) again"].sent[0]),
        Some(FRESHNESS)
    );
    let create = by_name["CardCreateContainerEx"].instructions();
    assert_eq!(
        create.iter().filter(|&&ins| ins == GENERATE).count(),
        1,
        "{create:02X?}"
    );

    // In the whole sequence no object is read twice and no slot's metadata is asked twice: the container
    // map once (before the first write), each certificate once.
    let sent: Vec<&Vec<u8>> = calls.iter().flat_map(|c| &c.sent).collect();
    let mut reads: BTreeMap<(u8, u32), usize> = BTreeMap::new();
    for apdu in &sent {
        let key = match apdu[1] {
            GET_DATA => (GET_DATA, object_tag(apdu).unwrap()),
            GET_METADATA => (GET_METADATA, u32::from(apdu[3])),
            _ => continue,
        };
        *reads.entry(key).or_default() += 1;
    }
    // (The management key's metadata is the write rights' to ask; not counted here.)
    let twice: Vec<_> = reads
        .iter()
        .filter(|((ins, tag), n)| **n > 1 && (*ins, *tag) != (GET_METADATA, 0x9B))
        .collect();
    assert!(twice.is_empty(), "read more than once: {twice:X?} ({costs})");
    assert_eq!(reads.get(&(GET_DATA, CONTAINER_MAP)), Some(&1));

    // The cost of the sequence, pinned (extended-length APDUs, which the virtual card's ATR announces;
    // GET RESPONSE rounds would count too): a change that spends more must say so here. From the PIN on,
    // 13: VERIFY (2 with the discovery object, whose answer proves the PIV selection), write rights and
    // the key (7 with the container map), then one PUT DATA per file.
    let total: usize = calls.iter().map(|c| c.sent.len()).sum();
    let continuations = sent.iter().filter(|a| a[1] == GET_RESPONSE).count();
    assert_eq!(total, 26, "{costs} ({continuations} GET RESPONSE)");

    // The context answers as one that reads the card afterwards.
    let fresh = Context::acquire(&card.card, 7);
    for file in [c"cmapfile", c"cardcf"] {
        let dir = (file == c"cmapfile").then_some(c"mscp");
        assert_eq!(
            read_file(&ctx, dir, file),
            read_file(&fresh, dir, file),
            "{file:?}"
        );
    }
    for i in 0..32 {
        assert_eq!(
            container_info(&ctx, i),
            container_info(&fresh, i),
            "container {i}"
        );
    }
    let file = std::ffi::CString::new(format!("ksc{index:02x}")).unwrap();
    assert_eq!(read_file(&fresh, Some(c"mscp"), &file), (0, certificate.clone()));
    assert_eq!(read_file(&ctx, Some(c"mscp"), &file), (0, certificate));
}

#[test]
fn after_its_own_writes_the_context_still_sees_what_another_program_changes() {
    let card = card_with_keys(62);
    let (ctx, log) = recorded_context(&card);
    let (_, index, certificate) = enroll(&ctx, &log);
    let file = std::ffi::CString::new(format!("ksc{index:02x}")).unwrap();
    let new_slot = {
        let mut s = Session::new(card.card.connect());
        s.select().unwrap();
        let map = s.get_data(CONTAINER_MAP).unwrap().unwrap();
        tessera_piv::objects::ContainerMap::try_from(&map[..])
            .unwrap()
            .records[usize::from(index)]
        .slot
    };

    // Another program replaces the new certificate and leaves cardcf alone: in the CSP's next
    // transaction (which begins with cardcf, unchanged) the certificate file is read from the card.
    card.certify(new_slot);
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    let (rc, read) = read_file(&ctx, Some(c"mscp"), &file);
    assert_eq!(rc, 0);
    assert_ne!(read, certificate, "the other program's certificate");
    let fresh = Context::acquire(&card.card, 7);
    assert_eq!(read_file(&fresh, Some(c"mscp"), &file), (0, read));

    // Another program renames the new container in the container map, cardcf untouched: cmapfile is
    // the card's.
    {
        let mut s = Session::new(card.card.connect());
        s.select().unwrap();
        let stored = s.get_data(CONTAINER_MAP).unwrap().unwrap();
        let mut map = tessera_piv::objects::ContainerMap::try_from(&stored[..]).unwrap();
        map.records[usize::from(index)].name = "renamed by another program".into();
        let key = tessera_piv::ManagementKey::default_for(tessera_piv::ManagementAlgorithm::Tdes).unwrap();
        s.authenticate_management_key(&key).unwrap();
        s.put_data(CONTAINER_MAP, &map.encode().unwrap()).unwrap();
    }
    let fresh = Context::acquire(&card.card, 7);
    let expected = read_file(&fresh, Some(c"mscp"), c"cmapfile");
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    let (rc, cmapfile) = read_file(&ctx, Some(c"mscp"), c"cmapfile");
    assert_eq!((rc, &cmapfile), (expected.0, &expected.1));
    let name: Vec<u8> = "renamed by another program"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let at = usize::from(index) * CMAP_RECORD;
    assert_eq!(&cmapfile[at..at + name.len()], &name[..]);
    for i in 0..32 {
        assert_eq!(
            container_info(&ctx, i),
            container_info(&fresh, i),
            "container {i}"
        );
    }
}
