//! The write side as the Base CSP drives it, on the in-process virtual card: enrollment, renewal,
//! deletion, the three ways to write rights, the cache rule, read-only cards. What the module left on the
//! card is checked through another program's PIV session and with independent libraries.
#![allow(clippy::unwrap_used, reason = "tests: a failure is a panic with its message")]

use sha2::{Digest, Sha256};
use tessera_piv::objects::{AdminData, CmapRecord, ContainerMap, ProtectedData, tags};
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PublicKey, SlotMetadata,
};

use crate::codes::*;
use crate::containers::spec;
use crate::context::CardContext;
use crate::crypto::hash::HashAlg;
use crate::enroll::{ContainerRequest, KEY_GEN};
use crate::error::MdError;
use crate::pins::{ROLE_PIN_ALWAYS, ROLE_USER};
use crate::policy::WritePolicy;
use crate::signing::{SignPadding, SignRequest, Signed};
use crate::testing::{self, PIN, PlainPiv};

const MSCP: Option<&[u8]> = Some(b"mscp");

fn code<T>(r: crate::error::Result<T>) -> u32 {
    r.map(|_| 0).unwrap_or_else(|e| e.code())
}

/// Reads `cmapfile`, puts `record` at `index` (as the CSP does after creating a container) and writes it.
fn csp_writes_record(ctx: &mut CardContext, index: usize, record: CmapRecord) {
    let mut records = CmapRecord::parse_file(&ctx.read_file(MSCP, b"cmapfile").unwrap()).unwrap();
    if records.len() <= index {
        records.resize(index + 1, CmapRecord::default());
    }
    records[index] = record;
    ctx.write_file(MSCP, b"cmapfile", &CmapRecord::encode_file(&records).unwrap())
        .unwrap();
}

fn csp_record(name: &str, exchange_bits: u16, signature_bits: u16) -> CmapRecord {
    CmapRecord {
        name: name.into(),
        flags: 0x01,
        reserved: 0,
        sig_key_size_bits: signature_bits,
        key_exchange_key_size_bits: exchange_bits,
    }
}

/// Bumps one of the counters of `cardcf` (byte offset 2: containers, 4: files) as the CSP does.
fn csp_bumps(ctx: &mut CardContext, at: usize) {
    let mut cf = ctx.read_file(None, b"cardcf").unwrap();
    cf[at] = cf[at].wrapping_add(1);
    ctx.write_file(None, b"cardcf", &cf).unwrap();
}

/// The whole Base CSP enrollment of an RSA-2048 exchange key at `index`, certificate included (the
/// card's attestation of the new key, a real certificate of it). Returns the public key.
fn enroll_rsa(ctx: &mut CardContext, index: u8, name: &str) -> (PublicKey, Vec<u8>) {
    ctx.create_container(
        ContainerRequest::new(index, KEY_GEN, spec::AT_KEYEXCHANGE, 2048, None, ROLE_USER).unwrap(),
    )
    .unwrap();
    assert!(ctx.container_keys(index).unwrap().exchange.is_some());
    csp_writes_record(ctx, usize::from(index), csp_record(name, 2048, 0));
    csp_bumps(ctx, 2);
    let container = ctx.containers().unwrap().get(index).unwrap().clone();
    let file = format!("kxc{index:02x}");
    ctx.create_file(MSCP, file.as_bytes(), 0, 1).unwrap();
    // The CA's answer: here the card's attestation of the key (through the module's own session: another
    // program's SELECT in between would end the module's authentication, as a CSP transaction prevents).
    let der = ctx.without_retry(|s| s.attest(container.slot)).unwrap();
    ctx.write_file(MSCP, file.as_bytes(), &der).unwrap();
    csp_bumps(ctx, 4);
    (container.public_key, der)
}

fn sign_rsa(ctx: &mut CardContext, index: u8, message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let hash = Sha256::digest(message).to_vec();
    let signed = ctx
        .sign(&SignRequest {
            index,
            key_spec: spec::AT_KEYEXCHANGE,
            padding: SignPadding::Pkcs1 {
                hash: Some(HashAlg::Sha256),
                no_oid: false,
            },
            data: &hash,
            size_only: false,
        })
        .unwrap();
    let Signed::Signature(mut le) = signed else {
        panic!("a signature");
    };
    le.reverse();
    (hash, le)
}

fn stored_map(card: &tessera_virtual_card::SharedCard) -> ContainerMap {
    let bytes = testing::session(card)
        .get_data(tags::YUBICO_CONTAINER_MAP)
        .unwrap()
        .expect("the card has a container map");
    ContainerMap::try_from(bytes.as_slice()).unwrap()
}

#[test]
fn enrollment_as_the_base_csp_does_it() {
    let card = testing::card(1);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    assert_eq!(ctx.read_file(None, b"cardcf").unwrap(), [0; 6]);
    assert!(
        ctx.containers().unwrap().iter().next().is_none(),
        "a fresh card has no container"
    );
    let (key, der) = enroll_rsa(&mut ctx, 0, "{8A3F0C52-1D7E-4B6B-9E1A-3C2D5F6A7B80}");

    // On the card: the key in 9A, the Yubico map record 0 naming 9A with the CSP's name.
    let map = stored_map(&card);
    assert_eq!(map.records.len(), 1);
    let r = &map.records[0];
    assert_eq!(
        (r.slot, r.key_spec, r.key_size_bits, r.flags, r.pin_id),
        (KeyRef::AUTHENTICATION, 1, 2048, 0x01, 1)
    );
    assert_eq!(r.name, "{8A3F0C52-1D7E-4B6B-9E1A-3C2D5F6A7B80}");
    let SlotMetadata::Present(m) = testing::session(&card)
        .slot_metadata(KeyRef::AUTHENTICATION)
        .unwrap()
    else {
        panic!("9A holds the key");
    };
    assert_eq!(m.public_key.as_ref(), Some(&key));

    // Another process sees it all, and signs with it; cardcf reads as the CSP wrote it last.
    let written = ctx.read_file(None, b"cardcf").unwrap();
    let mut other = testing::context(&card, WritePolicy::hands_off());
    assert_eq!(other.read_file(None, b"cardcf").unwrap(), written);
    let cmap = CmapRecord::parse_file(&other.read_file(MSCP, b"cmapfile").unwrap()).unwrap();
    assert_eq!(cmap.len(), 1);
    assert_eq!(cmap[0].name, "{8A3F0C52-1D7E-4B6B-9E1A-3C2D5F6A7B80}");
    assert_eq!(cmap[0].flags & 0x03, 0x03, "the only container is the default");
    assert_eq!(other.read_file(MSCP, b"kxc00").unwrap(), der);
    other
        .authenticate(&crate::auth::Authentication {
            role: ROLE_USER,
            secret: PIN,
        })
        .unwrap();
    let (hash, sig) = sign_rsa(&mut other, 0, b"enrolled");
    testing::verify_rsa_sha256(&key, &hash, &sig);
    // Hands off: the management key is still the default, the PUK usable.
    assert!(
        testing::session(&card)
            .authenticate_management_key(&testing::default_key())
            .is_ok()
    );
}

#[test]
fn renewal_adds_a_container_and_the_old_one_still_signs() {
    let card = testing::card(2);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    let (first, _) = enroll_rsa(&mut ctx, 0, "{first}");
    let (second, _) = enroll_rsa(&mut ctx, 1, "{second}");
    assert_ne!(first, second);
    let map = stored_map(&card);
    let slots: Vec<KeyRef> = map.records.iter().map(|r| r.slot).collect();
    assert_eq!(
        slots,
        [KeyRef::AUTHENTICATION, KeyRef::KEY_MANAGEMENT],
        "9A, then 9D"
    );
    let third = {
        ctx.create_container(
            ContainerRequest::new(2, KEY_GEN, spec::AT_ECDSA_P256, 0, None, ROLE_USER).unwrap(),
        )
        .unwrap();
        ctx.containers().unwrap().get(2).unwrap().slot
    };
    assert_eq!(third, KeyRef(0x82), "then the retired slots");

    let mut other = testing::logged_in(&card, WritePolicy::hands_off());
    let (hash, sig) = sign_rsa(&mut other, 0, b"old one");
    testing::verify_rsa_sha256(&first, &hash, &sig);
    let (hash, sig) = sign_rsa(&mut other, 1, b"new one");
    testing::verify_rsa_sha256(&second, &hash, &sig);
}

#[test]
fn a_signature_only_key_goes_to_9c_with_the_pin_always_policy() {
    let card = testing::card(3);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    ctx.create_container(
        ContainerRequest::new(0, KEY_GEN, spec::AT_SIGNATURE, 2048, None, ROLE_PIN_ALWAYS).unwrap(),
    )
    .unwrap();
    let c = ctx.containers().unwrap().get(0).unwrap().clone();
    assert_eq!(
        (c.slot, c.pin, c.key_spec()),
        (KeyRef::SIGNATURE, ROLE_PIN_ALWAYS, spec::AT_SIGNATURE)
    );
    let SlotMetadata::Present(m) = testing::session(&card).slot_metadata(KeyRef::SIGNATURE).unwrap() else {
        panic!("9C holds the key");
    };
    assert_eq!(m.pin_policy, Some(tessera_piv::PinPolicy::Always));
}

#[test]
fn deletion_removes_key_certificate_and_record() {
    let card = testing::card(4);
    let (mut ctx, sent) = testing::recorded(&card, true);
    let (kept, _) = enroll_rsa(&mut ctx, 0, "{kept}");
    enroll_rsa(&mut ctx, 1, "{gone}");
    // CardDeleteContainer, CardDeleteFile(kxc01), cmapfile with the record zeroed, cardcf.
    sent.lock().unwrap().clear();
    ctx.delete_container(1).unwrap();
    ctx.delete_file(MSCP, b"kxc01").unwrap();
    csp_writes_record(&mut ctx, 1, CmapRecord::default());
    // The containers follow the deletion: the file deletion and the CSP's cmapfile read and write read
    // nothing of the card again.
    let names: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|c| match (c[1], c.get(7..10)) {
            (0xCB, Some(tag)) => format!("GET DATA {}", tessera_piv::hex::HexBytes(tag)),
            (0xDB, Some(tag)) => format!("PUT DATA {}", tessera_piv::hex::HexBytes(tag)),
            (0xF6, _) => format!("DELETE KEY {:02X}", c[3]),
            (ins, _) => format!("INS {ins:02X}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "GET DATA 5FFF10",
            "PUT DATA 5FFF10",
            "DELETE KEY 9D",
            "PUT DATA 5FC10B",
            "PUT DATA 5FFF10"
        ]
    );
    csp_bumps(&mut ctx, 2);
    let view = ctx.read_file(MSCP, b"cmapfile").unwrap();

    let mut s = testing::session(&card);
    assert_eq!(
        s.slot_metadata(KeyRef::KEY_MANAGEMENT).unwrap(),
        SlotMetadata::Empty,
        "the key is deleted"
    );
    assert_eq!(s.get_data(0x5FC10B).unwrap(), None, "and its certificate");
    let map = stored_map(&card);
    assert_eq!(
        (map.records[1].slot, map.records[1].flags),
        (KeyRef::KEY_MANAGEMENT, 0),
        "slot kept, flags cleared"
    );

    let mut other = testing::logged_in(&card, WritePolicy::hands_off());
    assert_eq!(
        other.read_file(MSCP, b"cmapfile").unwrap(),
        view,
        "as a new scan finds it"
    );
    assert_eq!(code(other.container(1).map(|_| ())), SCARD_E_NO_KEY_CONTAINER);
    assert_eq!(code(other.read_file(MSCP, b"kxc01")), SCARD_E_FILE_NOT_FOUND);
    let (hash, sig) = sign_rsa(&mut other, 0, b"still here");
    testing::verify_rsa_sha256(&kept, &hash, &sig);
    // Deleting an index with nothing in it succeeds, as the specification asks.
    assert_eq!(code(other.delete_container(7)), 0);
    // The freed index is reused with the slot its record kept.
    other
        .create_container(ContainerRequest::new(1, KEY_GEN, spec::AT_ECDSA_P256, 0, None, ROLE_USER).unwrap())
        .unwrap();
    assert_eq!(
        other.containers().unwrap().get(1).unwrap().slot,
        KeyRef::KEY_MANAGEMENT
    );
}

#[test]
fn the_first_write_keeps_the_layout_of_a_card_without_a_map() {
    let card = testing::card(5);
    // Another tool enrolled 9C and 9E (with certificates): containers 1 and 3 of the layout without a map.
    for slot in [KeyRef::SIGNATURE, KeyRef::CARD_AUTHENTICATION] {
        testing::generate(&card, slot, AlgorithmId::ECCP256);
        testing::put_certificate(
            &card,
            &testing::default_key(),
            slot,
            &testing::attestation(&card, slot),
        );
    }
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    let before: Vec<(u8, String, KeyRef)> = ctx
        .containers()
        .unwrap()
        .iter()
        .map(|c| (c.index, c.name.clone(), c.slot))
        .collect();
    assert!(before.iter().any(|(i, _, s)| *i == 1 && *s == KeyRef::SIGNATURE));
    // The CSP creates its container at the first free index of its cmapfile: 0.
    enroll_rsa(&mut ctx, 0, "{new}");
    let map = stored_map(&card);
    assert_eq!(map.records[0].slot, KeyRef::AUTHENTICATION);
    let mut other = testing::context(&card, WritePolicy::hands_off());
    for (index, name, slot) in before {
        let c = other.container(index).unwrap();
        assert_eq!(
            (c.name.as_str(), c.slot),
            (name.as_str(), slot),
            "container {index} did not move"
        );
    }
}

#[test]
fn a_key_the_map_does_not_list_is_shown_and_a_record_without_a_key_is_not() {
    let card = testing::card(6);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    enroll_rsa(&mut ctx, 0, "{mapped}");
    // Another tool puts a key and certificate in 9D without touching the map, and deletes the 9A key.
    testing::generate(&card, KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP256);
    let der = testing::attestation(&card, KeyRef::KEY_MANAGEMENT);
    testing::put_certificate(&card, &testing::default_key(), KeyRef::KEY_MANAGEMENT, &der);
    let mut s = testing::session(&card);
    s.authenticate_management_key(&testing::default_key()).unwrap();
    s.delete_key(KeyRef::AUTHENTICATION).unwrap();

    let mut other = testing::context(&card, WritePolicy::hands_off());
    let listed: Vec<(u8, KeyRef)> = other
        .containers()
        .unwrap()
        .iter()
        .map(|c| (c.index, c.slot))
        .collect();
    assert!(
        !listed.iter().any(|(_, s)| *s == KeyRef::AUTHENTICATION),
        "{listed:?}: 9A has no key"
    );
    assert!(
        listed.iter().any(|(_, s)| *s == KeyRef::KEY_MANAGEMENT),
        "{listed:?}: 9D is shown"
    );
    assert!(!listed.iter().any(|(i, _)| *i == 0), "index 0 stays its record's");
}

#[test]
fn write_rights_from_a_pin_protected_management_key() {
    let card = testing::card(7);
    let key = ManagementKey::new(ManagementAlgorithm::Tdes, &[0x4B; 24]).unwrap_or_else(|_| {
        ManagementKey::new(ManagementAlgorithm::Tdes, &(1..=24).collect::<Vec<u8>>()).unwrap()
    });
    testing::protect_with(&card, &key);
    let mut ctx = testing::logged_in(&card, WritePolicy::default());
    enroll_rsa(&mut ctx, 0, "{protected}");
    // The module used the protected key and changed nothing else.
    assert!(testing::session(&card).authenticate_management_key(&key).is_ok());
    let puk = testing::session(&card)
        .get_metadata(KeyRef::PUK)
        .unwrap()
        .unwrap();
    assert_eq!(puk.retries.map(|(_, left)| left), Some(3), "no PUK try spent");
}

#[test]
fn the_default_key_is_replaced_by_a_pin_protected_one_and_the_default_puk_blocked() {
    let card = testing::card(8);
    let mut ctx = testing::logged_in(&card, WritePolicy::default());
    enroll_rsa(&mut ctx, 0, "{protect}");
    let mut s = testing::session(&card);
    assert!(
        s.authenticate_management_key(&testing::default_key()).is_err(),
        "no longer the default"
    );
    let mgm = s.get_metadata(KeyRef::MANAGEMENT).unwrap().unwrap();
    assert_eq!(mgm.is_default, Some(false));
    let admin =
        AdminData::try_from(s.get_data(tags::YUBICO_ADMIN_DATA).unwrap().unwrap().as_slice()).unwrap();
    assert!(admin.management_key_protected() && admin.puk_blocked());
    s.verify(KeyRef::PIN, &PaddedPin::new(PIN).unwrap()).unwrap();
    let protected =
        ProtectedData::try_from(s.get_data(tags::PRINTED_INFORMATION).unwrap().unwrap().as_slice()).unwrap();
    let key = protected
        .management_key(ManagementAlgorithm::Tdes)
        .unwrap()
        .unwrap();
    assert!(
        s.authenticate_management_key(&key).is_ok(),
        "5FC109 holds the card's key"
    );
    let puk = s.get_metadata(KeyRef::PUK).unwrap().unwrap();
    assert_eq!(
        puk.retries.map(|(_, left)| left),
        Some(0),
        "the default PUK is blocked"
    );
    // A later context writes with the protected key.
    let mut later = testing::logged_in(&card, WritePolicy::default());
    enroll_rsa(&mut later, 1, "{again}");
}

#[test]
fn a_card_without_a_usable_management_key_refuses_writes_and_keeps_everything() {
    let card = testing::card(9);
    let key = ManagementKey::new(ManagementAlgorithm::Tdes, &(1..=24).rev().collect::<Vec<u8>>()).unwrap();
    testing::set_private_key(&card, &key);
    let mut ctx = testing::logged_in(&card, WritePolicy::default());
    let request = ContainerRequest::new(0, KEY_GEN, spec::AT_KEYEXCHANGE, 2048, None, ROLE_USER).unwrap();
    assert_eq!(code(ctx.create_container(request)), SCARD_W_SECURITY_VIOLATION);
    assert_eq!(
        code(ctx.write_file(None, b"cardcf", &[0, 0, 1, 0, 0, 0])),
        SCARD_W_SECURITY_VIOLATION
    );
    let mut s = testing::session(&card);
    assert_eq!(
        s.slot_metadata(KeyRef::AUTHENTICATION).unwrap(),
        SlotMetadata::Empty
    );
    assert_eq!(s.get_data(tags::YUBICO_CONTAINER_MAP).unwrap(), None);
    assert!(
        s.authenticate_management_key(&key).is_ok(),
        "the key is untouched"
    );
}

#[test]
fn writes_need_the_user_pin() {
    let card = testing::card(10);
    let mut ctx = testing::context(&card, WritePolicy::hands_off());
    let request = ContainerRequest::new(0, KEY_GEN, spec::AT_KEYEXCHANGE, 2048, None, ROLE_USER).unwrap();
    assert_eq!(code(ctx.create_container(request)), SCARD_W_SECURITY_VIOLATION);
    assert_eq!(
        code(ctx.write_file(None, b"cardcf", &[0; 6])),
        SCARD_W_SECURITY_VIOLATION
    );
    assert_eq!(
        code(ctx.create_file(MSCP, b"kxc00", 0, 1)),
        SCARD_W_SECURITY_VIOLATION
    );
}

#[test]
fn a_card_that_keeps_no_vendor_objects_is_read_only() {
    let card = testing::card(11);
    let mut ctx = testing::context_over(Box::new(PlainPiv(card.connect())), WritePolicy::hands_off());
    ctx.authenticate(&crate::auth::Authentication {
        role: ROLE_USER,
        secret: PIN,
    })
    .unwrap();
    assert_eq!(
        ctx.get_property(crate::properties::CardProperty::ReadOnly, 0)
            .unwrap(),
        1u32.to_le_bytes()
    );
    assert_eq!(
        ctx.get_property(crate::properties::CardProperty::X509Enrollment, 0)
            .unwrap(),
        0u32.to_le_bytes()
    );
    assert_eq!(
        ctx.get_property(crate::properties::CardProperty::KeyImportSupport, 0)
            .unwrap(),
        0u32.to_le_bytes()
    );
    assert!(!ctx.capabilities().unwrap().key_gen);
    let request = ContainerRequest::new(0, KEY_GEN, spec::AT_KEYEXCHANGE, 2048, None, ROLE_USER).unwrap();
    assert_eq!(code(ctx.create_container(request)), SCARD_E_UNSUPPORTED_FEATURE);
    assert_eq!(
        code(ctx.write_file(None, b"cardcf", &[0; 6])),
        SCARD_E_UNSUPPORTED_FEATURE
    );
    assert_eq!(code(ctx.delete_container(0)), SCARD_E_UNSUPPORTED_FEATURE);
    let space = ctx.free_space().unwrap();
    assert_eq!((space.bytes_available, space.containers_available), (0, 0));
    // A writable card says the opposite.
    let mut writable = testing::logged_in(&card, WritePolicy::hands_off());
    assert_eq!(
        writable
            .get_property(crate::properties::CardProperty::ReadOnly, 0)
            .unwrap(),
        0u32.to_le_bytes()
    );
    assert_eq!(
        writable
            .get_property(crate::properties::CardProperty::KeyImportSupport, 0)
            .unwrap(),
        1u32.to_le_bytes()
    );
    let space = writable.free_space().unwrap();
    assert_eq!(
        (
            space.bytes_available,
            space.containers_available,
            space.max_containers
        ),
        (u32::MAX, 23, 28)
    );
}

#[test]
fn an_open_context_serves_the_certificate_another_program_wrote() {
    let card = testing::card(12);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    enroll_rsa(&mut ctx, 0, "{watched}");
    let old = ctx.read_file(MSCP, b"kxc00").unwrap();
    let mut watcher = testing::context(&card, WritePolicy::hands_off());
    assert_eq!(watcher.read_file(MSCP, b"kxc00").unwrap(), old);
    let cf = watcher.read_file(None, b"cardcf").unwrap();

    // Another program replaces the certificate (here by the one of a new key in 9A) and bumps freshness.
    testing::generate(&card, KeyRef::AUTHENTICATION, AlgorithmId::RSA2048);
    let new = testing::attestation(&card, KeyRef::AUTHENTICATION);
    assert_ne!(new, old);
    testing::put_certificate(&card, &testing::default_key(), KeyRef::AUTHENTICATION, &new);
    let mut s = testing::session(&card);
    s.authenticate_management_key(&testing::default_key()).unwrap();
    s.put_data(crate::context::FRESHNESS_OBJECT, &[0, 0, 9, 0, 9, 0])
        .unwrap();
    let bumped = watcher.read_file(None, b"cardcf").unwrap();
    assert_ne!(bumped, cf);
    assert_eq!(
        watcher.read_file(MSCP, b"kxc00").unwrap(),
        new,
        "after a freshness change"
    );
    let key = watcher.container_keys(0).unwrap().exchange.unwrap();
    assert_eq!(
        key,
        crate::keyblob::encode(
            &crate::cert::inspect(&new).unwrap().public_key,
            crate::keyblob::BlobRole::Exchange
        )
        .unwrap()
    );

    // The same without a freshness change (ykman, yubico-piv-tool do not bump it).
    testing::generate(&card, KeyRef::AUTHENTICATION, AlgorithmId::RSA2048);
    let newer = testing::attestation(&card, KeyRef::AUTHENTICATION);
    testing::put_certificate(&card, &testing::default_key(), KeyRef::AUTHENTICATION, &newer);
    // The watcher's next transaction begins, as every one of the CSP's does, with cardcf: the freshness
    // object is unchanged, but the PIV Authentication certificate is part of what cardcf reports, so
    // the CSP drops what it cached. Every context reads the same value.
    let changed = watcher.read_file(None, b"cardcf").unwrap();
    assert_ne!(changed, bumped, "a replaced 9A certificate changes cardcf");
    assert_eq!(
        testing::session(&card)
            .get_data(crate::context::FRESHNESS_OBJECT)
            .unwrap()
            .unwrap()
            .as_slice(),
        [0, 0, 9, 0, 9, 0],
        "the freshness object itself was not bumped"
    );
    let mut newcomer = testing::context(&card, WritePolicy::hands_off());
    assert_eq!(newcomer.read_file(None, b"cardcf").unwrap(), changed);
    assert_eq!(
        watcher.read_file(None, b"cardcf").unwrap(),
        changed,
        "stable while unchanged"
    );
    assert_eq!(
        watcher.read_file(MSCP, b"kxc00").unwrap(),
        newer,
        "without a freshness change"
    );
    let key = watcher.container_keys(0).unwrap().exchange.unwrap();
    assert_eq!(
        key,
        crate::keyblob::encode(
            &crate::cert::inspect(&newer).unwrap().public_key,
            crate::keyblob::BlobRole::Exchange
        )
        .unwrap()
    );
}

#[test]
fn a_certificate_too_large_for_the_object_is_compressed_and_one_too_large_anyway_refused() {
    let card = testing::card(13);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    ctx.create_container(
        ContainerRequest::new(0, KEY_GEN, spec::AT_KEYEXCHANGE, 2048, None, ROLE_USER).unwrap(),
    )
    .unwrap();
    ctx.create_file(MSCP, b"kxc00", 0, 1).unwrap();
    assert_eq!(ctx.read_file(MSCP, b"kxc00").unwrap(), b"", "created, empty");
    let big = testing::padded_certificate(&card, KeyRef::AUTHENTICATION, 3400, false);
    ctx.write_file(MSCP, b"kxc00", &big).unwrap();
    let stored = testing::session(&card).get_data(0x5FC105).unwrap().unwrap();
    let object = tessera_piv::objects::CertificateObject::try_from(stored.as_slice()).unwrap();
    assert_eq!(object.compression, tessera_piv::objects::Compression::Gzip);
    assert_eq!(ctx.read_file(MSCP, b"kxc00").unwrap(), big);
    // Incompressible and too large: refused, the certificate already there stays.
    let huge = testing::padded_certificate(&card, KeyRef::AUTHENTICATION, 3600, true);
    assert_eq!(
        code(ctx.write_file(MSCP, b"kxc00", &huge)),
        SCARD_E_WRITE_TOO_MANY
    );
    assert_eq!(ctx.read_file(MSCP, b"kxc00").unwrap(), big);
}

#[test]
fn the_root_store_is_split_over_its_objects() {
    let card = testing::card(14);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    ctx.create_file(MSCP, b"msroots", 0, 1).unwrap();
    let blob: Vec<u8> = (0..7000u32).map(|i| (i * 7 % 251) as u8).collect();
    ctx.write_file(MSCP, b"msroots", &blob).unwrap();
    let mut other = testing::context(&card, WritePolicy::hands_off());
    assert_eq!(other.read_file(MSCP, b"msroots").unwrap(), blob);
    assert!(
        testing::session(&card)
            .get_data(tags::YUBICO_ROOTS_FIRST + 2)
            .unwrap()
            .is_some()
    );
    // Shorter: the third object goes.
    ctx.write_file(MSCP, b"msroots", &blob[..100]).unwrap();
    assert_eq!(
        testing::session(&card)
            .get_data(tags::YUBICO_ROOTS_FIRST + 1)
            .unwrap(),
        None
    );
    assert_eq!(
        testing::context(&card, WritePolicy::hands_off())
            .read_file(MSCP, b"msroots")
            .unwrap(),
        &blob[..100]
    );
    let too_big = vec![0u8; tessera_piv::objects::MAX_ROOT_STORE_LEN + 1];
    assert_eq!(
        code(ctx.write_file(MSCP, b"msroots", &too_big)),
        SCARD_E_WRITE_TOO_MANY
    );
    ctx.delete_file(MSCP, b"msroots").unwrap();
    assert_eq!(
        code(testing::context(&card, WritePolicy::hands_off()).read_file(MSCP, b"msroots")),
        SCARD_E_FILE_NOT_FOUND
    );
}

#[test]
fn file_creation_answers_as_the_specification_says() {
    let card = testing::card(15);
    let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
    assert_eq!(code(ctx.create_file(None, b"cardcf", 0, 1)), ERROR_FILE_EXISTS);
    assert_eq!(code(ctx.create_file(MSCP, b"cmapfile", 0, 1)), ERROR_FILE_EXISTS);
    assert_eq!(
        code(ctx.create_file(MSCP, b"other", 0, 1)),
        SCARD_E_UNSUPPORTED_FEATURE
    );
    assert_eq!(
        code(ctx.create_file(Some(b"nodir"), b"file", 0, 1)),
        SCARD_E_DIR_NOT_FOUND
    );
    assert_eq!(
        code(ctx.create_file(MSCP, b"kxc00", 0, 0)),
        SCARD_E_INVALID_PARAMETER
    );
    assert_eq!(
        code(ctx.create_file(MSCP, b"kxc00", 0, 1)),
        SCARD_E_INVALID_PARAMETER,
        "no container 0"
    );
    assert_eq!(
        code(ctx.write_file(MSCP, b"kxc00", b"x")),
        SCARD_E_INVALID_PARAMETER,
        "not a certificate"
    );
    let some_certificate = testing::padded_certificate_of(&testing::spki_of(&testing::generate(
        &card,
        KeyRef(0x95),
        AlgorithmId::ECCP256,
    )));
    assert_eq!(
        code(ctx.write_file(MSCP, b"kxc00", &some_certificate)),
        SCARD_E_FILE_NOT_FOUND,
        "no container 0"
    );
    assert_eq!(
        code(ctx.write_file(None, b"cardcf", &[0; 5])),
        SCARD_E_INVALID_PARAMETER
    );
    assert_eq!(
        code(ctx.write_file(None, b"cardid", &[0; 16])),
        SCARD_W_SECURITY_VIOLATION
    );
    assert_eq!(
        code(ctx.delete_file(MSCP, b"cmapfile")),
        SCARD_W_SECURITY_VIOLATION
    );
    assert_eq!(
        code(ctx.write_file(MSCP, b"cmapfile", &[0; 85])),
        SCARD_E_INVALID_PARAMETER
    );
    let _ = MdError::FileExists;
}

mod pins {
    use super::*;
    use crate::input::CallerBytes;
    use crate::pin_admin::PinChange;
    use crate::pins::{ROLE_ADMIN, ROLE_PUK};
    use crate::testing::PUK;

    fn change(
        ctx: &mut CardContext,
        flags: u32,
        auth: u32,
        auth_data: &[u8],
        target: u32,
        data: &[u8],
    ) -> u32 {
        code(
            PinChange::from_ex(
                flags,
                auth,
                CallerBytes::Read(auth_data),
                target,
                CallerBytes::Read(data),
                0,
            )
            .and_then(|c| ctx.change_authenticator(c)),
        )
    }

    fn tries(card: &tessera_virtual_card::SharedCard, reference: KeyRef) -> u8 {
        let m = testing::session(card).get_metadata(reference).unwrap().unwrap();
        m.retries.unwrap().1
    }

    #[test]
    fn the_user_pin_changes_with_itself_and_a_wrong_one_costs_one_try() {
        let card = testing::card(20);
        let mut ctx = testing::context(&card, WritePolicy::hands_off());
        assert_eq!(
            change(&mut ctx, 2, ROLE_USER, b"000000", ROLE_USER, b"24680246"),
            SCARD_W_WRONG_CHV
        );
        assert_eq!(tries(&card, KeyRef::PIN), 2, "one try spent, once");
        let err = PinChange::from_ex(
            2,
            ROLE_USER,
            CallerBytes::Read(b"000000"),
            ROLE_USER,
            CallerBytes::Read(b"24680246"),
            0,
        )
        .and_then(|c| ctx.change_authenticator(c))
        .unwrap_err();
        assert_eq!(err.attempts_remaining(), Some(1), "the card's count");
        // A current PIN that cannot be right is not sent: no try spent, the card's count reported.
        let err = PinChange::from_ex(
            2,
            ROLE_USER,
            CallerBytes::Read(b"12"),
            ROLE_USER,
            CallerBytes::Read(b"24680246"),
            0,
        )
        .and_then(|c| ctx.change_authenticator(c))
        .unwrap_err();
        assert_eq!(
            (err.code(), err.attempts_remaining()),
            (SCARD_W_WRONG_CHV, Some(1))
        );
        assert_eq!(tries(&card, KeyRef::PIN), 1);
        assert_eq!(change(&mut ctx, 2, ROLE_USER, PIN, ROLE_USER, b"24680246"), 0);
        assert_eq!(tries(&card, KeyRef::PIN), 3);
        assert_eq!(
            code(ctx.authenticate(&crate::auth::Authentication {
                role: ROLE_USER,
                secret: b"24680246"
            })),
            0
        );
        assert_eq!(
            code(testing::context(&card, WritePolicy::hands_off()).authenticate(
                &crate::auth::Authentication {
                    role: ROLE_USER,
                    secret: PIN
                }
            )),
            SCARD_W_WRONG_CHV
        );
    }

    #[test]
    fn the_puk_unblocks_the_pin_and_changes_itself() {
        let card = testing::card(21);
        let mut ctx = testing::context(&card, WritePolicy::hands_off());
        for _ in 0..3 {
            let _ = ctx.authenticate(&crate::auth::Authentication {
                role: ROLE_USER,
                secret: b"999999",
            });
        }
        assert_eq!(
            code(ctx.authenticate(&crate::auth::Authentication {
                role: ROLE_USER,
                secret: PIN
            })),
            SCARD_W_CHV_BLOCKED
        );
        // A wrong PUK: the card's count.
        let err = PinChange::from_ex(
            1,
            ROLE_PUK,
            CallerBytes::Read(b"87654321"),
            ROLE_USER,
            CallerBytes::Read(b"13579135"),
            0,
        )
        .and_then(|c| ctx.change_authenticator(c))
        .unwrap_err();
        assert_eq!(
            (err.code(), err.attempts_remaining()),
            (SCARD_W_WRONG_CHV, Some(2))
        );
        assert_eq!(change(&mut ctx, 1, ROLE_PUK, PUK, ROLE_USER, b"13579135"), 0);
        assert!(!ctx.auth.user, "an unblock leaves the PIN unverified");
        assert_eq!(
            code(ctx.authenticate(&crate::auth::Authentication {
                role: ROLE_USER,
                secret: b"13579135"
            })),
            0
        );
        // CardUnblockPin, the legacy form, with the PUK.
        let unblock = PinChange::from_unblock(
            ROLE_USER,
            CallerBytes::Read(PUK),
            CallerBytes::Read(b"11223344"),
            0,
            2,
        )
        .unwrap();
        assert_eq!(code(ctx.change_authenticator(unblock)), 0);
        assert_eq!(
            code(ctx.authenticate(&crate::auth::Authentication {
                role: ROLE_USER,
                secret: b"11223344"
            })),
            0
        );
        // The PUK changes with itself.
        assert_eq!(change(&mut ctx, 2, ROLE_PUK, PUK, ROLE_PUK, b"86427531"), 0);
        assert_eq!(
            change(&mut ctx, 1, ROLE_PUK, b"86427531", ROLE_USER, b"55667788"),
            0
        );
        assert_eq!(tries(&card, KeyRef::PUK), 3);
    }

    #[test]
    fn the_admin_key_changes_after_the_challenge_and_stays_pin_protected() {
        let card = testing::card(22);
        let old = ManagementKey::new(ManagementAlgorithm::Tdes, &(11..35).collect::<Vec<u8>>()).unwrap();
        testing::protect_with(&card, &old);
        let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
        let new: Vec<u8> = (40..64).collect();
        // Without a challenge answered first, the response is wrong by definition.
        assert_eq!(
            change(&mut ctx, 2, ROLE_ADMIN, &[0; 8], ROLE_ADMIN, &new),
            SCARD_W_WRONG_CHV
        );
        let challenge = ctx.admin_challenge().unwrap();
        let response = old.encrypt_block(&challenge).unwrap();
        assert_eq!(change(&mut ctx, 2, ROLE_ADMIN, &response, ROLE_ADMIN, &new), 0);
        let key = ManagementKey::new(ManagementAlgorithm::Tdes, &new).unwrap();
        let mut s = testing::session(&card);
        assert!(
            s.authenticate_management_key(&key).is_ok(),
            "the card has the new key"
        );
        s.verify(KeyRef::PIN, &PaddedPin::new(PIN).unwrap()).unwrap();
        let protected =
            ProtectedData::try_from(s.get_data(tags::PRINTED_INFORMATION).unwrap().unwrap().as_slice())
                .unwrap();
        assert_eq!(
            protected.management_key_bytes(),
            Some(new.as_slice()),
            "and its PIN-protected copy"
        );
        // A weak 3DES key is refused before anything is sent.
        let challenge = ctx.admin_challenge().unwrap();
        let response = key.encrypt_block(&challenge).unwrap();
        assert_eq!(
            change(&mut ctx, 2, ROLE_ADMIN, &response, ROLE_ADMIN, &[0x01; 24]),
            SCARD_E_INVALID_PARAMETER
        );
    }

    #[test]
    fn a_new_pin_must_follow_the_cards_rules() {
        let card = testing::card(23);
        let mut ctx = testing::context(&card, WritePolicy::hands_off());
        assert_eq!(
            change(&mut ctx, 2, ROLE_USER, PIN, ROLE_USER, b"abc"),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            change(&mut ctx, 2, ROLE_USER, PIN, ROLE_USER, b"abcdef"),
            0,
            "a YubiKey takes ASCII"
        );
        let mut plain = testing::context_over(Box::new(PlainPiv(card.connect())), WritePolicy::hands_off());
        assert_eq!(
            change(&mut plain, 2, ROLE_USER, b"abcdef", ROLE_USER, b"abcdeg"),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            change(&mut plain, 2, ROLE_USER, b"abcdef", ROLE_USER, b"314159"),
            0,
            "a PIV card takes digits"
        );
        assert_eq!(tries(&card, KeyRef::PIN), 3);
    }

    #[test]
    fn an_ecdsa_container_signs_after_enrollment() {
        let card = testing::card(24);
        let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
        ctx.create_container(
            ContainerRequest::new(0, KEY_GEN, spec::AT_ECDSA_P256, 0, None, ROLE_USER).unwrap(),
        )
        .unwrap();
        let key = ctx.containers().unwrap().get(0).unwrap().public_key.clone();
        let hash = Sha256::digest(b"ecdsa").to_vec();
        let Signed::Signature(sig) = ctx
            .sign(&SignRequest {
                index: 0,
                key_spec: spec::AT_ECDSA_P256,
                padding: SignPadding::None,
                data: &hash,
                size_only: false,
            })
            .unwrap()
        else {
            panic!("a signature");
        };
        testing::verify_p256(&key, &hash, &sig);
    }
}

mod import {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    use super::*;
    use crate::enroll::KEY_IMPORT;

    /// `value` (big-endian, any length) as a little-endian field of `len` bytes.
    fn le_field(value: &[u8], len: usize) -> Vec<u8> {
        let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
        let mut out = vec![0u8; len - (value.len() - start)];
        out.extend_from_slice(&value[start..]);
        out.reverse();
        out
    }

    /// A CryptoAPI PRIVATEKEYBLOB for `key` (CALG_RSA_KEYX).
    fn private_key_blob(key: &rsa::PrivateKey) -> Vec<u8> {
        let n = key.size();
        let bits = (n * 8) as u32;
        let mut blob = vec![0x07, 0x02, 0, 0];
        blob.extend_from_slice(&0xA400u32.to_le_bytes());
        blob.extend_from_slice(b"RSA2");
        blob.extend_from_slice(&bits.to_le_bytes());
        blob.extend_from_slice(&65_537u32.to_le_bytes());
        let be = |v: &rsa::BoxedUint| v.to_be_bytes().to_vec();
        blob.extend(le_field(&be(key.n()), n));
        for part in [
            be(&key.primes()[0]),
            be(&key.primes()[1]),
            be(key.dp().unwrap()),
            be(key.dq().unwrap()),
            be(&key.crt_coefficient().unwrap()),
        ] {
            blob.extend(le_field(&part, n / 2));
        }
        blob.extend(le_field(&be(key.d()), n));
        blob
    }

    #[test]
    fn an_imported_rsa_key_signs_what_the_software_key_verifies() {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let software = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
        let blob = private_key_blob(&software);
        let card = testing::card(30);
        let mut ctx = testing::logged_in(&card, WritePolicy::hands_off());
        let request =
            ContainerRequest::new(0, KEY_IMPORT, spec::AT_KEYEXCHANGE, 2048, Some(&blob), ROLE_USER).unwrap();
        ctx.create_container(request).unwrap();
        let SlotMetadata::Present(m) = testing::session(&card)
            .slot_metadata(KeyRef::AUTHENTICATION)
            .unwrap()
        else {
            panic!("9A holds the imported key");
        };
        assert_eq!(m.origin, Some(tessera_piv::commands::KeyOrigin::Imported));
        let key = ctx.containers().unwrap().get(0).unwrap().public_key.clone();
        let PublicKey::Rsa { modulus, .. } = &key else {
            panic!("RSA")
        };
        assert_eq!(
            *modulus,
            software.n().to_be_bytes().to_vec()[software.n().to_be_bytes().len() - 256..]
        );
        // Another program's SELECT (the metadata check above) logged the PIN out.
        ctx.authenticate(&crate::auth::Authentication {
            role: ROLE_USER,
            secret: PIN,
        })
        .unwrap();
        let (hash, sig) = sign_rsa(&mut ctx, 0, b"imported");
        testing::verify_rsa_sha256(&key, &hash, &sig);
        // An EC blob whose magic does not fit the key spec is refused without the card.
        let mut ec = 0x3253_4345u32.to_le_bytes().to_vec(); // ECS2: ECDSA P-256 private
        ec.extend_from_slice(&32u32.to_le_bytes());
        ec.extend([1u8; 96]);
        assert_eq!(
            code(ContainerRequest::new(
                1,
                KEY_IMPORT,
                spec::AT_ECDHE_P256,
                0,
                Some(&ec),
                ROLE_USER
            )),
            SCARD_E_INVALID_PARAMETER
        );
    }
}
