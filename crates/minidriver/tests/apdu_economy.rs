//! What the module does not send: work the CSP repeats (reading `cardcf` at every transaction, asking
//! for an admin challenge) costs no APDU the module can answer from what it already knows.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use tessera_piv::transport::Counting;

use common::{Context, TestCard, card_with_keys, data_cache, set_freshness, take};

/// `CardReadFile(NULL, "cardcf")`.
fn read_cardcf(ctx: &Context) -> Vec<u8> {
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        ctx.cd.pfnCardReadFile.unwrap()(
            &*ctx.cd,
            std::ptr::null(),
            c"cardcf".as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    take(data, len)
}

#[test]
fn cardcf_costs_the_freshness_object_and_the_head_of_the_9a_certificate() {
    // A card that could get the freshness object (at its first write, from any process) is asked for
    // it at every read, and for the head of the PIV Authentication certificate (which another tool may
    // have replaced without bumping the freshness): two GET DATA.
    let card = TestCard::new(31);
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    assert_eq!(read_cardcf(&ctx), [0; 6]);
    let before = counters.snapshot();
    for _ in 0..3 {
        assert_eq!(read_cardcf(&ctx), [0; 6]);
    }
    assert_eq!(
        counters.snapshot().since(before).apdus,
        6,
        "two GET DATA per read"
    );

    // A card that refuses vendor objects (6A80, as standard PIV cards answer) cannot have it.
    let card = TestCard::new(33);
    let transport = Counting::new(NoVendorObjects(card.card.connect()));
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    assert_eq!(read_cardcf(&ctx), [0; 6]);
    let before = counters.snapshot();
    for _ in 0..3 {
        assert_eq!(read_cardcf(&ctx), [0; 6]);
    }
    assert_eq!(
        counters.snapshot().since(before).apdus,
        3,
        "no APDU for an object the card cannot keep: only the certificate's head"
    );
}

/// Answers `6A80` to GET/PUT DATA of a Yubico vendor object (5FFFxx).
struct NoVendorObjects<T>(T);

impl<T: tessera_piv::Transport> tessera_piv::Transport for NoVendorObjects<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, tessera_piv::TransportError> {
        // GET/PUT DATA whose data field (short or extended form) starts with 5C 03 5F FF xx.
        let vendor = tessera_piv::ParsedCommand::parse(apdu)
            .is_ok_and(|c| matches!(c.ins, 0xCB | 0xDB) && c.data.starts_with(&[0x5C, 0x03, 0x5F, 0xFF]));
        if vendor {
            return Ok(vec![0x6A, 0x80]);
        }
        self.0.transmit(apdu)
    }
}

#[test]
fn the_management_key_algorithm_is_asked_once_per_context() {
    let card = TestCard::new(32);
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    let challenge = || {
        let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
        // SAFETY: valid arguments; the buffer is freed by `take`.
        let rc = unsafe { ctx.cd.pfnCardGetChallengeEx.unwrap()(&*ctx.cd, 2, &mut data, &mut len, 0) };
        assert_eq!(rc, 0);
        take(data, len)
    };
    assert_eq!(challenge().len(), 8, "3DES: one block");
    let before = counters.snapshot();
    assert_eq!(challenge().len(), 8);
    assert_eq!(
        counters.snapshot().since(before).apdus,
        1,
        "only GENERAL AUTHENTICATE"
    );
}

/// `CardReadFile(dir, name)`: the code and the data.
fn read_file(ctx: &Context, dir: Option<&std::ffi::CStr>, name: &std::ffi::CStr) -> (u32, Vec<u8>) {
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        ctx.cd.pfnCardReadFile.unwrap()(
            &*ctx.cd,
            dir.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
            name.as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    (rc, if rc == 0 { take(data, len) } else { Vec::new() })
}

/// A context on `card` with CSP cache `cache`, and what the CSP reads at the start of a transaction
/// (cardid, cardcf, cmapfile): the cmapfile and the APDUs the three reads cost.
fn start_transaction(card: &TestCard, cache: usize) -> (Context, Vec<u8>, u64) {
    start_transaction_asking(card, cache, None)
}

/// [`start_transaction`], after asking `CP_CARD_CACHE_MODE` as the Base CSP does when it acquires a
/// context, when `expected_mode` says which answer to expect.
fn start_transaction_asking(
    card: &TestCard,
    cache: usize,
    expected_mode: Option<u32>,
) -> (Context, Vec<u8>, u64) {
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let mut ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    data_cache::attach(&mut ctx.cd, cache);
    if let Some(mode) = expected_mode {
        assert_eq!(ctx.dword_property("Cache Mode"), mode);
    }
    let before = counters.snapshot();
    assert_eq!(read_file(&ctx, None, c"cardid").0, 0);
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    let (rc, cmapfile) = read_file(&ctx, Some(c"mscp"), c"cmapfile");
    assert_eq!(rc, 0);
    (ctx, cmapfile, counters.snapshot().since(before).apdus)
}

#[test]
fn a_second_context_takes_the_scan_from_the_csp_cache_while_the_cards_freshness_holds() {
    let card = card_with_keys(41);
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    let (_first, cmapfile, cold) = start_transaction(&card, 41);
    assert_eq!(data_cache::entries(41), 1, "the scan is cached");
    let (_second, again, warm) = start_transaction(&card, 41);
    assert_eq!(again, cmapfile);
    // cardid: the CHUID; cardcf: the freshness object and the head of 9A's certificate; cmapfile: the
    // container map, read every time.
    assert_eq!(warm, 4, "no slot is read again (cold: {cold} APDUs)");
    assert!(cold > warm + 6, "cold {cold}, warm {warm}");

    // A freshness change, whoever made it, sends the next context to the card.
    set_freshness(&card, [0, 0, 0, 0, 0, 2]);
    let (_third, after_bump, cost) = start_transaction(&card, 41);
    assert_eq!(after_bump, cmapfile);
    // (The card's firmware version, which no write changes, stays in the CSP's cache: no GET VERSION.)
    assert_eq!(cost, cold - 1, "the whole scan again");
    let (_fourth, _, cost) = start_transaction(&card, 41);
    assert_eq!(cost, warm, "and cached under the new value");
}

#[test]
fn a_certificate_replaced_without_a_freshness_bump_is_seen_through_the_cache() {
    use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};
    let card = card_with_keys(42);
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    let (first, _, _) = start_transaction(&card, 42);
    let (rc, old) = read_file(&first, Some(c"mscp"), c"ksc00");
    assert_eq!(rc, 0);
    let cardcf_before = read_cardcf(&first);
    drop(first);

    // Another tool (yubico-piv-tool, ykman) replaces key and certificate in 9A and leaves cardcf alone.
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Default);
    card.certify(KeyRef::AUTHENTICATION);
    let mut s = tessera_piv::Session::new(card.card.connect());
    s.select().unwrap();
    let stored = s.get_data(0x5F_C105).unwrap().unwrap();
    let new = tessera_piv::objects::CertificateObject::parse_present(&stored)
        .unwrap()
        .unwrap()
        .certificate;
    assert_ne!(new, old);

    let (second, _, _) = start_transaction(&card, 42);
    // What tells the CSP that its cached certificate files are stale.
    let cardcf_after = read_cardcf(&second);
    assert_ne!(
        cardcf_after, cardcf_before,
        "cardcf changes with 9A's certificate"
    );
    assert_eq!(
        cardcf_after[..2],
        cardcf_before[..2],
        "version and PIN counter untouched"
    );
    let (rc, read) = read_file(&second, Some(c"mscp"), c"ksc00");
    assert_eq!(rc, 0);
    assert_eq!(read, new, "the certificate file is read from the card");
    drop(second);
    // The scan that found the change replaced the cached one: the next context has the new certificate
    // without reading the slots.
    let (third, _, cost) = start_transaction(&card, 42);
    assert_eq!(
        read_cardcf(&third),
        cardcf_after,
        "stable while the card is unchanged"
    );
    assert_eq!(cost, 4);
    let (rc, read) = read_file(&third, Some(c"mscp"), c"ksc00");
    assert_eq!((rc, read), (0, new));
}

const SESSION_ONLY: u32 = 2;

#[test]
fn a_card_without_the_freshness_object_is_cached_only_where_the_csp_was_told_session_only() {
    let session_records = |cache| data_cache::entries_tagged(cache, "tessera-container-scan-session");
    let card = card_with_keys(43);
    // A CSP that never asked the cache mode may keep its cache beyond the process: nothing is kept.
    let (_first, cmapfile, cold) = start_transaction(&card, 43);
    assert_eq!((data_cache::entries(43), session_records(43)), (0, 0));
    let (_second, again, cost) = start_transaction(&card, 43);
    // Every slot again; only the firmware version (which no write changes) comes from the CSP's cache.
    assert!(again == cmapfile, "the same containers");
    assert_eq!(cost, cold - 1);

    // Told CP_CACHE_MODE_SESSION_ONLY, the CSP keeps this card's cache for the process and the card's
    // insertion, as it keeps the card's files: the scan is kept as long, under its own tag.
    let (_first, cmapfile_told, cold_told) = start_transaction_asking(&card, 46, Some(SESSION_ONLY));
    assert!(cmapfile_told == cmapfile, "the same containers");
    // The cache mode's answer read the freshness object (absent) that cardcf reads otherwise.
    assert_eq!(cold_told, cold - 1);
    assert_eq!((data_cache::entries(46), session_records(46)), (0, 1));
    let (second, again, warm) = start_transaction_asking(&card, 46, Some(SESSION_ONLY));
    assert!(again == cmapfile, "the same containers from the cached scan");
    // cardid: the CHUID the cache mode's answer read; cardcf: the freshness object (absent) and the head
    // of 9A's certificate; cmapfile: the container map (absent), read at the first cmapfile of every
    // transaction.
    assert_eq!(warm, 3, "no slot is read again (cold: {cold} APDUs)");
    assert_eq!(container_info(&second, 0).0, 0);

    // The card changed by another program (9A's certificate replaced): the next transaction's
    // certificate read sees it, and the record is replaced.
    use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};
    let (_, old) = read_file(&second, Some(c"mscp"), c"ksc00");
    drop(second);
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Default);
    card.certify(KeyRef::AUTHENTICATION);
    let (third, _, _) = start_transaction_asking(&card, 46, Some(SESSION_ONLY));
    let (rc, new) = read_file(&third, Some(c"mscp"), c"ksc00");
    assert_eq!(rc, 0);
    assert_ne!(new, old, "the certificate file is read from the card");
    drop(third);
    let (fourth, _, cost) = start_transaction_asking(&card, 46, Some(SESSION_ONLY));
    assert_eq!(cost, warm);
    assert_eq!(read_file(&fourth, Some(c"mscp"), c"ksc00"), (0, new));
}

/// `CardGetContainerInfo(index)`: the code and the signature and exchange key blobs.
fn container_info(ctx: &Context, index: u8) -> (u32, Vec<u8>, Vec<u8>) {
    let mut info = windows_sys::Win32::Security::Cryptography::CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments; the blobs are freed by `take`.
    let rc = unsafe { ctx.cd.pfnCardGetContainerInfo.unwrap()(&*ctx.cd, index, 0, &mut info) };
    let blob = |p: *mut u8, len: u32| if p.is_null() { Vec::new() } else { take(p, len) };
    (
        rc,
        blob(info.pbSigPublicKey, info.cbSigPublicKey),
        blob(info.pbKeyExPublicKey, info.cbKeyExPublicKey),
    )
}

#[test]
fn a_containers_information_reads_its_own_slot_and_answers_as_a_full_scan_does() {
    let card = card_with_keys(44);
    // What a context that scanned every slot (cmapfile first) answers.
    let full = Context::acquire(&card.card, 7);
    assert_eq!(read_file(&full, Some(c"mscp"), c"cmapfile").0, 0);
    let indices = [0u8, 1, 2, 3, 24, 25, 26, 27];
    let expected: Vec<_> = indices.iter().map(|&i| container_info(&full, i)).collect();
    assert_eq!(expected[0].0, 0);
    assert_eq!(
        expected[2].0, 0x8010_0030,
        "9D is empty: SCARD_E_NO_KEY_CONTAINER"
    );

    // A context asked for one container first (the CSP had cmapfile in its cache).
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    let before = counters.snapshot();
    assert_eq!(container_info(&ctx, 0), expected[0]);
    let one = counters.snapshot().since(before).apdus;
    // The container map (absent), the CHUID for the container name, 9A's certificate and its metadata.
    assert!(one <= 6, "{one} APDUs for one container");
    for (i, want) in indices.iter().zip(&expected) {
        assert_eq!(&container_info(&ctx, *i), want, "container {i}");
    }
    // The cmapfile a full scan then builds is the other context's, default container included.
    assert_eq!(
        read_file(&ctx, Some(c"mscp"), c"cmapfile"),
        read_file(&full, Some(c"mscp"), c"cmapfile")
    );
}

#[test]
fn a_certificate_read_in_this_transaction_is_not_read_again_and_the_next_transaction_checks_it() {
    use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};
    let card = card_with_keys(44);
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    // The CSP's transaction: cardid, cardcf, cmapfile (the scan reads every certificate), then the
    // certificate file of the default container.
    assert_eq!(read_file(&ctx, None, c"cardid").0, 0);
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    assert_eq!(read_file(&ctx, Some(c"mscp"), c"cmapfile").0, 0);
    let before = counters.snapshot();
    let (rc, old) = read_file(&ctx, Some(c"mscp"), c"ksc00");
    assert_eq!(rc, 0);
    assert_eq!(
        counters.snapshot().since(before).apdus,
        0,
        "read by the scan in this transaction"
    );

    // Between two transactions another tool replaces 9A's key and certificate, cardcf untouched.
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Default);
    card.certify(KeyRef::AUTHENTICATION);
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    let before = counters.snapshot();
    let (rc, new) = read_file(&ctx, Some(c"mscp"), c"ksc00");
    assert_eq!(rc, 0);
    assert_ne!(
        new, old,
        "the new transaction reads the certificate object and sees the change"
    );
    assert!(counters.snapshot().since(before).apdus >= 1);
    // Unchanged since, in the same transaction: no APDU.
    let before = counters.snapshot();
    assert_eq!(read_file(&ctx, Some(c"mscp"), c"ksc00"), (0, new));
    assert_eq!(counters.snapshot().since(before).apdus, 0);
}

#[test]
fn a_containers_information_comes_from_the_csp_cache_while_the_freshness_holds_and_cmapfile_still_checks_the_map()
 {
    use tessera_piv::{ManagementAlgorithm, ManagementKey, Session};
    let card = card_with_keys(45);
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    // A first context fills the CSP's cache (its scan, under cardcf 000000000001), then the container
    // map appears on the card, written by a program that leaves cardcf alone.
    let (first, _, _) = start_transaction(&card, 45);
    let expected = container_info(&first, 0);
    drop(first);
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let mut ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    data_cache::attach(&mut ctx.cd, 45);
    assert_eq!(read_file(&ctx, None, c"cardid").0, 0);
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    let before = counters.snapshot();
    assert_eq!(container_info(&ctx, 0), expected);
    assert_eq!(
        counters.snapshot().since(before).apdus,
        0,
        "the CSP's cache holds the scan made under the card's freshness"
    );

    // Another program writes a container map (renaming nothing, but the bytes differ): the next
    // cmapfile read checks the map against the scan's and reads the card.
    let (_, cmapfile) = read_file(&ctx, Some(c"mscp"), c"cmapfile");
    let mut map = tessera_piv::objects::ContainerMap::default();
    map.records.push(tessera_piv::objects::ContainerRecord {
        name: "written elsewhere".into(),
        slot: tessera_piv::KeyRef::AUTHENTICATION,
        key_spec: tessera_piv::objects::container_map::key_spec::AT_ECDSA_P256,
        key_size_bits: 256,
        flags: 3,
        pin_id: 1,
        associated_ecdh_container: 0xFF,
        cert_fingerprint: Default::default(),
    });
    let mut s = Session::new(card.card.connect());
    s.select().unwrap();
    s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
        .unwrap();
    s.put_data(0x5F_FF10, &map.encode().unwrap()).unwrap();
    assert_eq!(read_file(&ctx, None, c"cardcf").0, 0);
    let (rc, after) = read_file(&ctx, Some(c"mscp"), c"cmapfile");
    assert_eq!(rc, 0);
    assert_ne!(after, cmapfile, "the map on the card decides");
    let name: Vec<u8> = "written elsewhere"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(&after[..name.len()], &name[..]);
}
