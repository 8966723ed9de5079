//! The card module's model of one card, for one `CARD_DATA` context: the PIV session, what the module
//! learnt about the card, and what it believes about authentication. Every method is safe; the `abi`
//! module calls exactly one of them per entry point.

use tessera_piv::commands::Version;
use tessera_piv::objects::{
    CertificateObject, Chuid, ContainerMap, Discovery, KeyHistory, RootStoreAssembler, tags,
};
use tessera_piv::{AlgorithmId, KeyRef, PivError, Session, SessionOptions, SlotMetadata, TransportError};

use crate::containers::{ContainerSet, SlotContents};
use crate::error::{MdError, Result};
use crate::identity::CardIdentity;
use crate::link::CardLink;
use crate::pins::AuthState;
use crate::policy::WritePolicy;
use crate::retry;
use crate::scan_cache::{CardFacts, CspCache, ScanRecord};
use crate::watch::Fingerprint;

/// Vendor object where Tessera keeps the 6-byte `cardcf` of cards it manages (YubiKeys accept the whole
/// 5FFFxx range; Yubico uses 5FFF00, 5FFF01 and 5FFF10–15).
pub const FRESHNESS_OBJECT: u32 = 0x005F_FF20;

/// One context's view of the card.
pub struct CardContext {
    pub(crate) session: Session<Box<dyn CardLink>>,
    interface_version: u32,
    resets_known: u64,
    /// The algorithms the application property template of SELECT lists (empty: none listed, as on
    /// YubiKeys), from this context's SELECT or from the CSP's cache.
    pub(crate) listed_algorithms: Vec<AlgorithmId>,
    identity: Option<CardIdentity>,
    /// YubiKey GET VERSION.
    version: CardFact<Version>,
    /// YubiKey GET SERIAL.
    serial: CardFact<u32>,
    containers: Option<ContainerSet>,
    /// The Yubico root store (5FFF11–15), reassembled.
    roots: CardFact<Vec<u8>>,
    /// Tessera's `cardcf` object, as last read.
    freshness: CardFact<[u8; 6]>,
    /// The fingerprint of the watched certificate object (see [`crate::watch`]), as this context last
    /// read or wrote it; `None`: not read yet.
    watch: Option<Fingerprint>,
    /// The watched certificate object's content as this transaction's `cardcf` read found it, in full
    /// (extended length; `Some(None)`: absent): the certificate reads of the same transaction use it.
    watched_object: Option<Option<Vec<u8>>>,
    pub(crate) auth: AuthState,
    pin_reference: Option<KeyRef>,
    pub(crate) parent_window: usize,
    pub(crate) pin_context: Option<Vec<u16>>,
    /// ECDH secrets by agreement index (1-based; slot `i` holds index `i + 1`). Lost on reset.
    pub(crate) agreements: Vec<Option<crate::agreement::Agreement>>,
    /// An admin challenge handed out and not yet answered.
    pub(crate) pending_challenge: Option<crate::admin::PendingChallenge>,
    /// The management key's algorithm, once asked.
    pub(crate) management_algorithm: Option<tessera_piv::ManagementAlgorithm>,
    /// What the module may change on the card on its own (read when the context was acquired).
    pub(crate) policy: WritePolicy,
    /// Whether the card keeps Yubico vendor objects (5FFFxx), once a read of one told: a card that
    /// refuses them (`6A80`, as standard PIV cards answer) cannot keep the container map and is
    /// presented read-only.
    pub(crate) vendor_objects: Option<bool>,
    /// The container map object (5FFF10) the container scan was built from, as stored (`None` inside: no
    /// map), to notice a map another program rewrote.
    pub(crate) map_scanned: CardFact<Vec<u8>>,
    /// Certificate files the CSP created (`CardCreateFile`) and has not written yet: they exist, empty.
    pub(crate) created_files: std::collections::BTreeSet<String>,
    /// The CSP's data cache, as this call's `CARD_DATA` offers it (`None`: no cache callbacks).
    pub(crate) csp_cache: Option<Box<dyn CspCache>>,
    /// The containers were found changed on the card, or changed by this context: the next scans read
    /// the card and replace what the CSP's cache holds.
    scan_cache_distrusted: bool,
    /// Containers found by reading their slot alone, before any full scan (see
    /// [`CardContext::container`]).
    lone_containers: std::collections::BTreeMap<u8, crate::containers::Container>,
    /// What those reads found, for the full scan to use instead of reading the slots again.
    lone_reads: std::collections::BTreeMap<KeyRef, SlotContents>,
    /// Whether a read for [`CardContext::find_lone_container`] found a container map (forgotten with
    /// the containers): with one, containers come from a full scan.
    lone_map_present: Option<bool>,
    /// This context answered `CP_CARD_CACHE_MODE` with `CP_CACHE_MODE_SESSION_ONLY`: the CSP keeps its
    /// cache for this card no longer than the process and the card's insertion.
    pub(crate) reported_session_only: bool,
    /// `Session::exchanges` right after the PIV application answered a read with data in the current
    /// entry call: the card's PIV selection is known to hold until the next exchange or call.
    piv_answered_at: Option<u64>,
    /// This transaction's `cardcf` read was answered with data by the PIV application, and no reset or
    /// new handle came since: the selection holds until the transaction ends. The CSP begins every
    /// transaction with that read (see [`CardContext::begin_transaction`]), and within a transaction no
    /// other program reaches the card.
    piv_answered_in_transaction: bool,
    /// The container map that read found, for the full scan that follows it at once.
    lone_map_read: Option<Option<Vec<u8>>>,
    /// What the full container scan was built from, kept so that the context's own writes update the
    /// containers in place (see [`CardContext::note_own_write`]).
    scan_inputs: Option<ScanInputs>,
    /// Whether [`CardContext::map_scanned`] is what the card holds now: this context read the container
    /// map or wrote it itself since the CSP's last freshness check (its `cardcf` read, the first call of
    /// each transaction) and no reset came between. A change of the map is based on it only then.
    map_current: bool,
    /// The slots whose [`ScanInputs`] contents this context read or wrote since the CSP's last freshness
    /// check, with no reset between: what they hold is known without asking the card again.
    slots_current: std::collections::BTreeSet<KeyRef>,
}

/// What a full container scan was built from: the container map as parsed, the key history object and
/// what each slot the scan read holds.
#[derive(Debug, Clone)]
struct ScanInputs {
    map: Option<ContainerMap>,
    key_history: Option<Vec<u8>>,
    slots: std::collections::BTreeMap<KeyRef, SlotContents>,
}

/// A change this context itself made on the card, under its write rights. The context knows the
/// result exactly, so its containers follow without reading the card again.
pub(crate) enum OwnWrite<'a> {
    /// The container map object (5FFF10) was stored with these bytes.
    Map(&'a [u8]),
    /// A key was generated or imported in `slot`.
    Key {
        slot: KeyRef,
        public_key: &'a tessera_piv::PublicKey,
        pin: tessera_piv::PinPolicy,
        touch: tessera_piv::TouchPolicy,
        origin: tessera_piv::commands::KeyOrigin,
    },
    /// The certificate object of `slot` now holds this certificate (DER), or nothing.
    Certificate(KeyRef, Option<&'a [u8]>),
    /// `slot` holds no key now: the card deleted it, or said it had none to delete.
    KeyDeleted(KeyRef),
}

impl std::fmt::Debug for CardContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardContext")
            .field("interface_version", &self.interface_version)
            .field("identity", &self.identity)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// A fact about the card the module reads at most once per context: not asked yet, asked and absent
/// from the card, or asked and present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum CardFact<T> {
    /// Not read yet.
    #[default]
    NotAsked,
    /// Read: the card has none.
    Absent,
    /// Read: the card's value.
    Present(T),
}

impl<T> CardFact<T> {
    /// What a read found.
    pub(crate) fn found(value: Option<T>) -> Self {
        value.map_or(Self::Absent, Self::Present)
    }

    /// Whether the card was asked.
    pub(crate) fn asked(&self) -> bool {
        !matches!(self, Self::NotAsked)
    }

    /// The value, when the card was asked and has one.
    pub(crate) fn value(&self) -> Option<&T> {
        match self {
            Self::Present(value) => Some(value),
            Self::NotAsked | Self::Absent => None,
        }
    }
}

/// What GET METADATA told about a slot's key.
pub(crate) enum SlotKey {
    /// The card described the key.
    Reported(tessera_piv::commands::Metadata),
    /// The card says the slot is empty.
    Empty,
    /// No usable answer (not supported, refused or malformed).
    Unknown,
}

impl CardContext {
    /// A context on the card, without the CSP's cache: SELECT the PIV application
    /// (`SCARD_E_UNKNOWN_CARD` when absent), framing commands as `options` say.
    pub fn acquire(link: Box<dyn CardLink>, interface_version: u32, options: SessionOptions) -> Result<Self> {
        Self::acquire_with_cache(link, interface_version, options, None)
    }

    /// A context on the card, with the CSP's cache as `CardAcquireContext`'s `CARD_DATA` offers it (see
    /// [`CardContext::bind`]).
    pub(crate) fn acquire_with_cache(
        link: Box<dyn CardLink>,
        interface_version: u32,
        options: SessionOptions,
        csp_cache: Option<Box<dyn CspCache>>,
    ) -> Result<Self> {
        let session = Session::with_options(link, options);
        let resets_known = session.resets_seen();
        let mut context = Self {
            session,
            interface_version,
            resets_known,
            listed_algorithms: Vec::new(),
            identity: None,
            version: CardFact::NotAsked,
            serial: CardFact::NotAsked,
            containers: None,
            roots: CardFact::NotAsked,
            freshness: CardFact::NotAsked,
            watch: None,
            watched_object: None,
            auth: AuthState::default(),
            pin_reference: None,
            parent_window: 0,
            pin_context: None,
            agreements: Vec::new(),
            pending_challenge: None,
            management_algorithm: None,
            policy: WritePolicy::default(),
            vendor_objects: None,
            map_scanned: CardFact::NotAsked,
            created_files: std::collections::BTreeSet::new(),
            csp_cache,
            scan_cache_distrusted: false,
            lone_containers: std::collections::BTreeMap::new(),
            lone_reads: std::collections::BTreeMap::new(),
            lone_map_present: None,
            lone_map_read: None,
            reported_session_only: false,
            piv_answered_at: None,
            piv_answered_in_transaction: false,
            scan_inputs: None,
            map_current: false,
            slots_current: std::collections::BTreeSet::new(),
        };
        context.bind()?;
        Ok(context)
    }

    /// Binds to the card's PIV application. A card whose PIV application is still selected (as the
    /// last context or program on it left it, unless the card was reset) answers the CHUID read at
    /// once, which proves the selection; when the CSP's cache then holds what SELECT told about this
    /// card (its algorithm list), no SELECT is sent. Otherwise the application is selected
    /// (`SCARD_E_UNKNOWN_CARD` when the card has none). A SELECT would also end a PIN verification
    /// another program left, but only at this moment: the card's security status is shared by every
    /// program between transactions, and the Base CSP ends its own with `CardDeauthenticate`.
    fn bind(&mut self) -> Result<()> {
        // Without a record of SELECT's answer in the CSP's cache, for any card, a SELECT follows in any
        // case: the CHUID is read after it, not before.
        let recorded = self.facts_record().filter(|facts| facts.algorithms.is_some());
        if let Some(facts) = recorded
            && let Some(identity) = self.identity_without_select()?
        {
            let same_card = facts.is_of(&identity);
            self.identity = Some(identity);
            if same_card && let Some(algorithms) = facts.algorithms {
                tracing::debug!("the PIV application answered without a SELECT; its properties are cached");
                self.listed_algorithms = algorithms;
                return Ok(());
            }
        }
        match self.session.select() {
            Ok(properties) => self.listed_algorithms = properties.algorithms,
            Err(PivError::Transport(t)) => return Err(MdError::Transport(t)),
            Err(e) => {
                tracing::info!("not a PIV card: {e}");
                return Err(MdError::UnknownCard("the card has no PIV application"));
            }
        }
        self.resets_known = self.session.resets_seen();
        Ok(())
    }

    /// The card's identity from a CHUID read sent without a SELECT first: `Some` only when an
    /// application answered with a CHUID that names the card, which only the PIV application does.
    /// Any other answer proves nothing (no application selected, another one, or a PIV card without a
    /// CHUID): the caller selects.
    fn identity_without_select(&mut self) -> Result<Option<CardIdentity>> {
        self.session.assume_selected();
        let chuid = match self.session.get_data_short(tags::CHUID) {
            Ok(Some(bytes)) => Chuid::try_from(bytes.as_slice()).ok(),
            Ok(None) => None,
            // A reset (which the session noted) proves nothing either; any other transport failure
            // ends the acquisition.
            Err(PivError::Transport(t)) if !matches!(t, TransportError::CardReset) => {
                return Err(MdError::Transport(t));
            }
            Err(e) => {
                tracing::debug!("no PIV answer without a SELECT: {e}");
                None
            }
        };
        let identity = CardIdentity::from_chuid(chuid.as_ref());
        if identity.is_none() {
            self.session.mark_deselected();
        }
        Ok(identity)
    }

    /// The negotiated `CARD_DATA` version.
    pub(crate) fn interface_version(&self) -> u32 {
        self.interface_version
    }

    /// Called on every entry with the handles from `CARD_DATA`: a new handle means the CSP reconnected,
    /// so the module re-selects before the next command and forgets what it believed about PINs.
    pub(crate) fn begin_call(&mut self, context_handle: usize, card_handle: usize) {
        // Between two calls the CSP may have reset or reconnected the card through its own handle.
        self.piv_answered_at = None;
        if self.session.transport_mut().rebind(context_handle, card_handle) {
            tracing::debug!("card handle changed: re-selecting before the next command");
            self.session.note_reset();
        }
        self.sync_resets();
    }

    /// Whether the PIV application is known to be selected now: it answered this transaction's `cardcf`
    /// read, or the last exchange of this entry call (a data object read), and nothing reset the card or
    /// moved its selection since.
    pub(crate) fn piv_selection_proven(&self) -> bool {
        self.piv_answered_in_transaction || self.piv_answered_at == Some(self.session.exchanges())
    }

    /// Drops volatile beliefs when the session saw a reset.
    pub(crate) fn sync_resets(&mut self) {
        if self.session.resets_seen() != self.resets_known {
            self.resets_known = self.session.resets_seen();
            self.piv_answered_at = None;
            self.piv_answered_in_transaction = false;
            self.auth = AuthState::default();
            self.forget_what_is_current();
            // Agreements are not retrievable after a card reset (Smart Card Minidriver Specification 7.07
            // §3.2.3).
            self.wipe_agreements();
            self.pending_challenge = None;
        }
    }

    /// A read-only exchange, repeated once after a reset or a lost selection ([`retry::read`]). Never
    /// used for VERIFY or anything that changes the card.
    pub(crate) fn read<T>(
        &mut self,
        op: impl FnMut(&mut Session<Box<dyn CardLink>>) -> tessera_piv::Result<T>,
    ) -> Result<T> {
        let result = retry::read(&mut self.session, op);
        self.sync_resets();
        Ok(result?)
    }

    /// An exchange that is never repeated (VERIFY, logout, the admin challenge and its answer): no retry
    /// after a reset, but the context learns of any reset the exchange saw.
    pub(crate) fn without_retry<T>(
        &mut self,
        op: impl FnOnce(&mut Session<Box<dyn CardLink>>) -> tessera_piv::Result<T>,
    ) -> tessera_piv::Result<T> {
        let result = op(&mut self.session);
        self.sync_resets();
        result
    }

    /// A read-only YubiKey instruction; `None` when the card does not know it ([`retry::read_vendor`]).
    pub(crate) fn read_vendor<T>(
        &mut self,
        op: impl FnMut(&mut Session<Box<dyn CardLink>>) -> tessera_piv::Result<T>,
    ) -> Result<Option<T>> {
        let result = retry::read_vendor(&mut self.session, op);
        self.sync_resets();
        Ok(result?)
    }

    /// Reads a data object; a vendor object the card refuses (`6A80`, as non-YubiKey PIV cards answer for
    /// 5FFFxx) counts as absent, and the context remembers that the card keeps no vendor objects.
    pub(crate) fn read_object(&mut self, tag: u32) -> Result<Option<Vec<u8>>> {
        let vendor = tags::is_yubico_vendor(tag);
        // `None`: the card refuses the object as one it does not know. Any other failure (a memory
        // error, a garbled answer) is an error: taken for a refusal, it would have the card's container
        // map replaced by one rebuilt from the layout at the next write.
        let read = self.read(|s| match s.get_data(tag) {
            Err(PivError::Status { sw, .. }) if vendor && refuses_unknown_object(sw) => Ok(None),
            other => other.map(Some),
        })?;
        match read {
            Some(v) => {
                if v.is_some() {
                    self.piv_answered_at = Some(self.session.exchanges());
                }
                if vendor && tag != tags::YUBICO_ATTESTATION {
                    self.vendor_objects = Some(true);
                }
                Ok(v.map(|z| z.to_vec()))
            }
            None => {
                self.vendor_objects = Some(false);
                Ok(None)
            }
        }
    }

    /// Forgets the root store (after it was written).
    pub(crate) fn forget_roots(&mut self) {
        self.roots = CardFact::NotAsked;
    }

    /// Whether the card keeps vendor objects (asked with a read of the container map when not known).
    pub(crate) fn keeps_vendor_objects(&mut self) -> Result<bool> {
        if let Some(known) = self.vendor_objects {
            return Ok(known);
        }
        self.read_object(tags::YUBICO_CONTAINER_MAP)?;
        Ok(self.vendor_objects.unwrap_or(false))
    }

    /// Forgets everything the context derived from the card's contents (identity, containers, roots,
    /// the management key's algorithm): the card changed, or may have. The next call reads again.
    pub(crate) fn forget_card_contents(&mut self) {
        self.identity = None;
        self.forget_containers();
        self.roots = CardFact::NotAsked;
        self.management_algorithm = None;
        self.created_files.clear();
    }

    /// The card's firmware version (YubiKey GET VERSION), if it reports one: asked once per card id,
    /// then kept in the CSP's cache (no write changes it).
    pub(crate) fn version(&mut self) -> Option<Version> {
        if !self.version.asked() {
            if let Some(known) = self.cached_facts().and_then(|facts| facts.version) {
                self.version = CardFact::found(known);
            } else {
                let v = self.read_vendor(|s| s.get_version()).ok().flatten();
                self.version = CardFact::found(v);
                self.remember_facts(None);
            }
        }
        self.version.value().copied()
    }

    /// The serial number (YubiKey GET SERIAL), if the card reports one.
    pub(crate) fn serial(&mut self) -> Option<u32> {
        if !self.serial.asked() {
            let v = self.read_vendor(|s| s.get_serial()).ok().flatten();
            self.serial = CardFact::found(v);
        }
        self.serial.value().copied()
    }

    /// The card's identity: the CHUID GUID, else a hash of the FASC-N, the YubiKey serial or the first
    /// certificate (see [`CardIdentity`]).
    pub fn identity(&mut self) -> Result<CardIdentity> {
        if let Some(id) = &self.identity {
            return Ok(id.clone());
        }
        let chuid = match self.read_object(tags::CHUID)? {
            Some(bytes) => Chuid::try_from(bytes.as_slice())
                .map_err(|e| tracing::warn!("CHUID unreadable, not used for the card id: {e}"))
                .ok(),
            None => None,
        };
        let id = match CardIdentity::from_chuid(chuid.as_ref()) {
            Some(id) => id,
            None => match self.serial() {
                Some(serial) => CardIdentity::from_serial(serial),
                None => match self.first_certificate()? {
                    Some(der) => CardIdentity::from_certificate(&der),
                    None => CardIdentity::unknown(),
                },
            },
        };
        self.identity = Some(id.clone());
        Ok(id)
    }

    fn first_certificate(&mut self) -> Result<Option<Vec<u8>>> {
        for slot in [
            KeyRef::AUTHENTICATION,
            KeyRef::SIGNATURE,
            KeyRef::KEY_MANAGEMENT,
            KeyRef::CARD_AUTHENTICATION,
        ] {
            if let Some(der) = self.certificate(slot)? {
                return Ok(Some(der));
            }
        }
        Ok(None)
    }

    /// The certificate in `slot`, decompressed; `None` when absent or unreadable (logged).
    pub(crate) fn certificate(&mut self, slot: KeyRef) -> Result<Option<Vec<u8>>> {
        let Some(tag) = slot.certificate_object() else {
            return Ok(None);
        };
        let read = match self.watched_object.as_ref() {
            // Read from the card at this transaction's `cardcf` read.
            Some(content) if slot == crate::watch::WATCHED_SLOT => content.clone(),
            _ => self.read_object(tag)?,
        };
        let Some(content) = read else {
            return Ok(None);
        };
        match CertificateObject::parse_present(&content) {
            Ok(Some(obj)) => Ok(Some(obj.certificate)),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::warn!("certificate object {tag:06X} unreadable: {e}");
                Ok(None)
            }
        }
    }

    /// The containers, scanned from the card on first use.
    pub(crate) fn containers(&mut self) -> Result<&ContainerSet> {
        if self.containers.is_none() {
            let set = self.scan_containers()?;
            self.containers = Some(set);
        }
        self.containers
            .as_ref()
            .ok_or_else(|| MdError::Unexpected("container scan".into()))
    }

    /// The container at `index`. An index no container can have is refused before the card is
    /// scanned: `SCARD_E_NO_KEY_CONTAINER` without card traffic.
    pub(crate) fn container(&mut self, index: u8) -> Result<&crate::containers::Container> {
        if u32::from(index) >= crate::properties::MAX_CONTAINERS {
            return Err(MdError::NoKeyContainer);
        }
        // A scan the CSP's cache holds under the card's current freshness costs no APDU: it answers
        // before any slot is read alone.
        let trusted = self.containers.is_none()
            && self
                .identity()
                .is_ok_and(|identity| self.trusted_scan(&identity).is_some());
        if self.containers.is_none() && !trusted && self.find_lone_container(index)? {
            return self
                .lone_containers
                .get(&index)
                .ok_or_else(|| MdError::Unexpected("lone container".into()));
        }
        self.containers()?.get(index)
    }

    /// Finds container `index` from its own slot, without scanning the others, where the card's
    /// layout makes that exact: no container map (5FFF10), so that the index names the slot (9A, 9C,
    /// 9D, 9E, then the retired slots the key history counts; ECDH twins 24 on) and what the slot holds
    /// alone decides the container, as in a full scan. Its default flag is not known this way; it is
    /// used only where that does not matter (the flag is in `cmapfile`, which a full scan builds).
    /// `false` when it cannot tell: the caller scans.
    fn find_lone_container(&mut self, index: u8) -> Result<bool> {
        if self.lone_containers.contains_key(&index) {
            return Ok(true);
        }
        let position = index % crate::containers::ECDH_INDEX_OFFSET;
        let Some(&slot) = crate::containers::SLOT_ORDER.get(usize::from(position)) else {
            return Ok(false);
        };
        let slot = KeyRef(slot);
        match self.lone_map_present {
            Some(true) => return Ok(false),
            Some(false) => {}
            None => {
                let stored = self.read_object(tags::YUBICO_CONTAINER_MAP)?;
                self.lone_map_present = Some(stored.is_some());
                if stored.is_some() {
                    self.lone_map_read = Some(stored);
                    return Ok(false);
                }
            }
        }
        if position >= 4 {
            let key_history = self.read_object(tags::KEY_HISTORY)?;
            if !scanned_slots(key_history.as_deref(), None).contains(&slot) {
                return Ok(false);
            }
        }
        let naming_guid = self.identity()?.naming_guid;
        let contents = match self.lone_reads.get(&slot) {
            Some(contents) => contents.clone(),
            None => self.slot_contents(slot)?,
        };
        self.lone_reads.insert(slot, contents.clone());
        let set = ContainerSet::from_slots(&[(slot, contents)], &naming_guid);
        let Ok(container) = set.get(index) else {
            return Ok(false);
        };
        let container = crate::containers::Container {
            default: false,
            ..container.clone()
        };
        self.lone_containers.insert(index, container);
        Ok(true)
    }

    /// The CSP begins a transaction: it reads `cardid` and `cardcf` from the card at the start of each
    /// (Smart Card Minidriver Specification 7.07 §6.3), and another program may have had the card since
    /// the last one. What this context read or wrote before is to be read again where the cache rule
    /// says so; within the transaction no other program reaches the card.
    pub(crate) fn begin_transaction(&mut self) {
        self.piv_answered_in_transaction = false;
        self.forget_what_is_current();
    }

    /// Forgets which parts of the scan (the container map, each slot) this context knows the card to
    /// hold now: a change is based on them only after they are read again.
    fn forget_what_is_current(&mut self) {
        self.map_current = false;
        self.slots_current.clear();
        self.watched_object = None;
    }

    /// Whether `certificate` is what the container scan holds for `slot` and this context read or wrote
    /// that slot in this transaction: the card holds it now.
    pub(crate) fn certificate_current(&self, slot: KeyRef, certificate: &Option<Vec<u8>>) -> bool {
        self.slots_current.contains(&slot) && self.scanned_certificate_is(slot, certificate)
    }

    /// The certificate the container scan holds for `slot` (`Some(None)`: none), when this context read
    /// or wrote that slot in this transaction: what the card holds now. `None`: the card must be asked.
    pub(crate) fn known_certificate(&self, slot: KeyRef) -> Option<Option<Vec<u8>>> {
        self.current_contents(slot)
            .map(|contents| contents.certificate.clone())
    }

    /// What the container scan holds for `slot`, when this context read or wrote that slot in this
    /// transaction: what the card holds now.
    fn current_contents(&self, slot: KeyRef) -> Option<&SlotContents> {
        if !self.slots_current.contains(&slot) {
            return None;
        }
        self.scan_inputs.as_ref()?.slots.get(&slot)
    }

    /// Notes that `slot`'s certificate object was read from the card now and is `certificate`: when
    /// the scan holds the same, the slot is current for the rest of the transaction.
    pub(crate) fn note_certificate_read(&mut self, slot: KeyRef, certificate: &Option<Vec<u8>>) {
        if self.scanned_certificate_is(slot, certificate) {
            self.slots_current.insert(slot);
        }
    }

    fn scanned_certificate_is(&self, slot: KeyRef, certificate: &Option<Vec<u8>>) -> bool {
        self.scan_inputs
            .as_ref()
            .and_then(|inputs| inputs.slots.get(&slot))
            .is_some_and(|contents| &contents.certificate == certificate)
    }

    /// Forgets the container scan (after the card was changed), and does not trust the one the CSP's
    /// cache holds.
    pub(crate) fn invalidate_containers(&mut self) {
        self.forget_containers();
        self.scan_cache_distrusted = true;
    }

    /// Forgets the containers and everything they were built from; the next call reads again.
    fn forget_containers(&mut self) {
        self.containers = None;
        self.lone_containers.clear();
        self.lone_reads.clear();
        self.lone_map_present = None;
        self.lone_map_read = None;
        self.scan_inputs = None;
        self.map_scanned = CardFact::NotAsked;
        self.forget_what_is_current();
    }

    fn metadata_supported(&mut self) -> bool {
        self.version().is_some_and(|v| (v.major, v.minor) >= (5, 3))
    }

    fn scan_containers(&mut self) -> Result<ContainerSet> {
        let identity = self.identity()?;
        let naming_guid = identity.naming_guid;
        let (stored, read_now) = match self.lone_map_read.take() {
            Some(just_read) => (just_read, false),
            // The CSP's cache holds a scan made under the card's current freshness: it names the
            // container map it was made from, which a `cmapfile` read checks against the card.
            None => match self.trusted_scan(&identity) {
                Some(record) => (record.map, false),
                None => (self.read_object(tags::YUBICO_CONTAINER_MAP)?, true),
            },
        };
        let map = match &stored {
            Some(bytes) => ContainerMap::try_from(bytes.as_slice())
                .map_err(|e| tracing::warn!("container map 5FFF10 unreadable, ignored: {e}"))
                .ok(),
            None => None,
        };
        self.map_scanned = CardFact::found(stored.clone());
        // A card that got (or lost) the freshness object since the CSP's cache recorded it.
        self.remember_facts(None);
        let (contents, key_history) = match self.cached_scan(&identity, &stored) {
            Some(record) => {
                tracing::debug!("containers from the CSP's cache (cardcf and container map unchanged)");
                // The slots are the cache's, not read from the card in this transaction.
                self.slots_current.clear();
                (record.slots, record.key_history)
            }
            None => {
                let key_history = self.read_object(tags::KEY_HISTORY)?;
                let slots = scanned_slots(key_history.as_deref(), map.as_ref());
                let mut contents = Vec::with_capacity(slots.len());
                for slot in slots {
                    let slot_contents = match self.lone_reads.remove(&slot) {
                        Some(read) => read,
                        None => self.slot_contents(slot)?,
                    };
                    contents.push((slot, slot_contents));
                }
                self.slots_current = contents.iter().map(|(slot, _)| *slot).collect();
                self.cache_scan(ScanRecord {
                    freshness: [0; 6],
                    card_id: identity.card_id,
                    map: stored,
                    key_history: key_history.clone(),
                    slots: contents.clone(),
                });
                (contents, key_history)
            }
        };
        let set = containers_from(map.as_ref(), &contents, &naming_guid);
        self.map_current = read_now;
        self.scan_inputs = Some(ScanInputs {
            map,
            key_history,
            slots: contents.into_iter().collect(),
        });
        Ok(set)
    }

    /// Updates what the context knows after a write of its own (`write`, which the card accepted): the
    /// containers become what a new scan would find, without reading the card. Without a full scan to
    /// update, or when a slot the new layout names was never read, the containers are forgotten and
    /// scanned again on next use, as after a change by another program.
    pub(crate) fn note_own_write(&mut self, write: OwnWrite<'_>) {
        // Only a key written or deleted needs to know (GET VERSION, asked once per context).
        let metadata_supported =
            matches!(write, OwnWrite::Key { .. } | OwnWrite::KeyDeleted(_)) && self.metadata_supported();
        let updated = self.containers.is_some()
            && self
                .scan_inputs
                .as_mut()
                .is_some_and(|inputs| inputs.apply(&write, metadata_supported))
            && self.rebuild_containers();
        if !updated {
            self.invalidate_containers();
            return;
        }
        match write {
            OwnWrite::Map(encoded) => {
                self.map_scanned = CardFact::Present(encoded.to_vec());
                self.map_current = true;
                self.vendor_objects = Some(true);
            }
            OwnWrite::Key { slot, .. } | OwnWrite::Certificate(slot, _) | OwnWrite::KeyDeleted(slot) => {
                self.slots_current.insert(slot);
            }
        }
        // The CSP's cache still holds the scan as it was: the next scan reads the card and replaces it.
        self.scan_cache_distrusted = true;
    }

    /// What `slot` holds: as this context read or wrote it in this transaction, else read from the card
    /// now (and kept for the containers to follow the context's own writes).
    pub(crate) fn slot_contents_now(&mut self, slot: KeyRef) -> Result<SlotContents> {
        if let Some(known) = self.current_contents(slot) {
            return Ok(known.clone());
        }
        let contents = self.slot_contents(slot)?;
        if let Some(inputs) = &mut self.scan_inputs {
            inputs.slots.insert(slot, contents.clone());
            self.slots_current.insert(slot);
        }
        Ok(contents)
    }

    /// The containers rebuilt from [`ScanInputs`] as [`CardContext::scan_containers`] builds them;
    /// `false` when the inputs do not tell (a slot that was never read).
    fn rebuild_containers(&mut self) -> bool {
        let (Some(inputs), Some(identity)) = (&self.scan_inputs, &self.identity) else {
            return false;
        };
        let mut contents = Vec::new();
        for slot in scanned_slots(inputs.key_history.as_deref(), inputs.map.as_ref()) {
            match inputs.slots.get(&slot) {
                Some(known) => contents.push((slot, known.clone())),
                None => return false,
            }
        }
        self.containers = Some(containers_from(
            inputs.map.as_ref(),
            &contents,
            &identity.naming_guid,
        ));
        true
    }

    /// The container map the card holds, when this context read or wrote it since the CSP's last
    /// freshness check (`Some(None)`: the card has none); `None` when it must be read.
    pub(crate) fn current_map(&self) -> Option<Option<ContainerMap>> {
        if !self.map_current || self.containers.is_none() {
            return None;
        }
        match &self.map_scanned {
            CardFact::Present(bytes) => ContainerMap::try_from(bytes.as_slice()).ok().map(Some),
            CardFact::Absent => Some(None),
            CardFact::NotAsked => None,
        }
    }

    /// Where the CSP's cache may hold this card's scan, and the freshness it is made under: the `cardcf`
    /// value this context read (as reported, the watched certificate included), under
    /// [`crate::scan_cache::TAG`], on a card with a stable id whose freshness Tessera maintains
    /// (`CP_CACHE_MODE_GLOBAL_CACHE`); on one without the freshness object, under
    /// [`crate::scan_cache::SESSION_TAG`], and only where this context told the CSP
    /// `CP_CACHE_MODE_SESSION_ONLY`; `None` otherwise, and before this context read `cardcf`.
    fn scan_cache_place(&self, identity: &CardIdentity) -> Option<(&'static str, [u8; 6])> {
        if !identity.is_stable() || self.csp_cache.is_none() || self.scan_cache_distrusted {
            return None;
        }
        // Keyed by `cardcf` as reported, so that a replaced PIV Authentication certificate retires it.
        let watch = self.watch?;
        let (tag, stored) = match self.freshness {
            CardFact::Present(value) => (crate::scan_cache::TAG, value),
            CardFact::Absent if self.reported_session_only => (crate::scan_cache::SESSION_TAG, [0; 6]),
            CardFact::NotAsked if self.reported_session_only && self.vendor_objects == Some(false) => {
                (crate::scan_cache::SESSION_TAG, [0; 6])
            }
            CardFact::Absent | CardFact::NotAsked => return None,
        };
        Some((tag, crate::watch::reported(stored, watch)))
    }

    /// The scan the CSP's cache holds for this card, when it was made under the card's current freshness
    /// and id, whatever container map it was made from.
    fn trusted_scan(&self, identity: &CardIdentity) -> Option<ScanRecord> {
        let (tag, freshness) = self.scan_cache_place(identity)?;
        let bytes = self.csp_cache.as_ref()?.lookup(tag)?;
        let record = ScanRecord::decode(&bytes)?;
        (record.freshness == freshness && record.card_id == identity.card_id).then_some(record)
    }

    /// Whether this context read or wrote the container map in this transaction.
    pub(crate) fn map_read_in_this_transaction(&self) -> bool {
        self.map_current
    }

    /// Notes that the container map was read now and is the one the containers were built from.
    pub(crate) fn note_map_read(&mut self) {
        self.map_current = true;
    }

    /// The scan the CSP's cache holds for this card, when it was made under the card's current freshness
    /// and id and from the container map the card holds now.
    fn cached_scan(&self, identity: &CardIdentity, map: &Option<Vec<u8>>) -> Option<ScanRecord> {
        let (tag, freshness) = self.scan_cache_place(identity)?;
        let bytes = self.csp_cache.as_ref()?.lookup(tag)?;
        let record = ScanRecord::decode(&bytes).or_else(|| {
            tracing::debug!("the CSP's cache entry is not a scan record: ignored");
            None
        })?;
        (record.freshness == freshness && record.card_id == identity.card_id && &record.map == map)
            .then_some(record)
    }

    /// Keeps a scan in the CSP's cache where [`Self::scan_cache_place`] says (nothing where it says no
    /// place).
    fn cache_scan(&self, mut record: ScanRecord) {
        let Some((tag, freshness)) = self
            .identity
            .as_ref()
            .and_then(|identity| self.scan_cache_place(identity))
        else {
            return;
        };
        record.freshness = freshness;
        match (record.encode(), &self.csp_cache) {
            (Some(bytes), Some(cache)) => cache.add(tag, &bytes),
            _ => tracing::debug!("scan not cached: a slot's metadata would not read back the same"),
        }
    }

    /// What `slot` holds: its certificate and, on cards that report it, its metadata.
    pub(crate) fn slot_contents(&mut self, slot: KeyRef) -> Result<SlotContents> {
        let certificate = self.certificate(slot)?;
        let (metadata, no_key) = if self.metadata_supported() {
            match self.metadata(slot)? {
                SlotKey::Reported(m) => (Some(m), false),
                SlotKey::Empty => (None, true),
                SlotKey::Unknown => (None, false),
            }
        } else {
            (None, false)
        };
        Ok(SlotContents {
            certificate,
            metadata,
            no_key,
        })
    }

    /// What every key slot (9A, 9C, 9D, 9E and all twenty retired slots) holds, whatever the container
    /// map and the key history say: the input of [`crate::containers::rebuilt_map`].
    pub fn all_slot_contents(&mut self) -> Result<Vec<(KeyRef, SlotContents)>> {
        let mut contents = Vec::new();
        for slot in KeyRef::user_key_slots() {
            let slot_contents = self.slot_contents(slot)?;
            if slot_contents.is_occupied() && !slot_contents.no_key {
                contents.push((slot, slot_contents));
            }
        }
        Ok(contents)
    }

    /// The Yubico container map (5FFF10) as stored, `None` when absent; unreadable is an error.
    pub fn stored_container_map(&mut self) -> Result<Option<ContainerMap>> {
        match self.read_object(tags::YUBICO_CONTAINER_MAP)? {
            Some(bytes) => ContainerMap::try_from(bytes.as_slice())
                .map(Some)
                .map_err(|e| MdError::CommDataLost(format!("container map 5FFF10: {e}"))),
            None => Ok(None),
        }
    }

    /// GET METADATA of `slot`; `None` when the card has none or its answer is unusable (logged). Like an
    /// unreadable certificate, a malformed or refused answer loses the slot that detail only: the other
    /// slots stay listed, and the slot itself too when its certificate tells the key. Only a failure to
    /// reach the card is an error.
    fn metadata(&mut self, slot: KeyRef) -> Result<SlotKey> {
        match self.read_vendor(|s| s.slot_metadata(slot)) {
            Ok(Some(SlotMetadata::Present(m))) => Ok(SlotKey::Reported(m)),
            Ok(Some(SlotMetadata::Empty)) => Ok(SlotKey::Empty),
            Ok(Some(SlotMetadata::Unreported) | None) => Ok(SlotKey::Unknown),
            Err(e @ (MdError::Transport(_) | MdError::NoMemory)) => Err(e),
            Err(e) => {
                tracing::warn!("GET METADATA {slot} unusable, the slot is read without it: {e}");
                Ok(SlotKey::Unknown)
            }
        }
    }

    /// The Yubico root store (5FFF11–15) reassembled, or `None` when 5FFF11 is absent. Objects after
    /// the last piece are not read.
    pub(crate) fn roots(&mut self) -> Result<Option<Vec<u8>>> {
        if self.roots.asked() {
            return Ok(self.roots.value().cloned());
        }
        let mut assembler = RootStoreAssembler::new();
        let mut any = false;
        for tag in tags::YUBICO_ROOTS_FIRST..=tags::YUBICO_ROOTS_LAST {
            let part = self.read_object(tag)?;
            if part.is_none() && !any {
                break;
            }
            any = true;
            match assembler.push(part.as_deref()) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => return Err(MdError::CommDataLost(format!("msroots: {e}"))),
            }
        }
        let blob = if any {
            Some(
                assembler
                    .finish()
                    .map_err(|e| MdError::CommDataLost(format!("msroots: {e}")))?,
            )
        } else {
            None
        };
        self.roots = CardFact::found(blob.clone());
        Ok(blob)
    }

    /// The `cardcf` Tessera keeps on cards it manages (`None`: the card has no freshness object), read
    /// from the card. A value other than the one this context saw last means that the card changed,
    /// whoever changed it: everything the context derived from the card's contents is read again. A card
    /// that keeps no vendor objects cannot have one and is not asked again.
    ///
    /// Read at every `CardReadFile(cardcf)`, never answered from an earlier call. The CSP reads `cardcf`
    /// at the start of each transaction to decide whether its cache still holds (Smart Card Minidriver
    /// Specification 7.07 §6.3): that read is the first after another process may have had the card
    /// (the CSP calls `SCardBeginTransaction` before calling in, §10). Within one call the value is read once. The
    /// other questions about the freshness, which are never served as `cardcf`, take what the context
    /// or the CSP's cache already knows ([`has_freshness`](Self::has_freshness), the container scan's
    /// record, [`pin_reference`](Self::pin_reference)). The CSP's cache callbacks are not used here:
    /// the CSP's own cache validation reads `cardcf` through this path (§2.4).
    pub(crate) fn freshness(&mut self) -> Result<Option<[u8; 6]>> {
        if self.vendor_objects == Some(false) {
            return Ok(None);
        }
        let value = self
            .read_object(FRESHNESS_OBJECT)?
            .and_then(|v| <[u8; 6]>::try_from(v.as_slice()).ok());
        let fact = CardFact::found(value);
        // A new transaction: a change of the container map or of a slot is based on the card read again.
        self.forget_what_is_current();
        if self.freshness.asked() && self.freshness != fact {
            tracing::debug!("the card's freshness changed: its contents are read again");
            self.forget_card_contents();
        }
        self.freshness = fact;
        Ok(value)
    }

    /// Records a freshness value this context wrote itself (no reason to read the card again).
    pub(crate) fn note_freshness(&mut self, value: [u8; 6]) {
        self.freshness = CardFact::Present(value);
    }

    /// `cardcf` as the module reports it: the freshness object (six zero bytes without one) with the
    /// fingerprint of the PIV Authentication certificate added (see [`crate::watch`]), both read from
    /// the card now.
    pub(crate) fn reported_freshness(&mut self) -> Result<[u8; 6]> {
        self.piv_answered_at = None;
        let stored = self.freshness()?.unwrap_or([0; 6]);
        let watch = self.read_watch()?;
        // Either read answered with data: the PIV application is selected for the transaction (a reset
        // seen after that answer would have cleared `piv_answered_at`).
        self.piv_answered_in_transaction = self.piv_answered_at.is_some();
        Ok(crate::watch::reported(stored, watch))
    }

    /// The fingerprint `cardcf` is reported with: the one this context knows (read at this
    /// transaction's `cardcf` read, or its own write), else the one the card gives now.
    pub(crate) fn watched_fingerprint(&mut self) -> Result<Fingerprint> {
        match self.watch {
            Some(watch) => Ok(watch),
            None => self.read_watch(),
        }
    }

    /// Reads the watched certificate object in one APDU: the whole of it where the card takes extended
    /// length (kept for this transaction's reads of it), else its head. A fingerprint other than the
    /// one this context saw last means that another program replaced the certificate: what the
    /// context derived from the card is read again, as after a freshness change. A card that refuses
    /// the read is taken to hold no certificate there (logged); only a failure to reach the card is an
    /// error, so that `cardcf` stays readable.
    fn read_watch(&mut self) -> Result<Fingerprint> {
        let slot = crate::watch::WATCHED_SLOT;
        let Some(tag) = slot.certificate_object() else {
            return Err(MdError::Unexpected(
                "the watched slot has no certificate object".into(),
            ));
        };
        let whole = self.session.uses_extended_length();
        let read = if whole {
            self.read_object(tag).map(|content| {
                let watch = Fingerprint::of_content(content.as_deref());
                (watch, Some(content))
            })
        } else {
            self.read(|s| s.get_data_head(tag)).map(|head| {
                if head.is_some() {
                    self.piv_answered_at = Some(self.session.exchanges());
                }
                (Fingerprint::of_head(head.as_deref().map(|h| h.as_slice())), None)
            })
        };
        let (watch, content) = match read {
            Ok(read) => read,
            Err(e @ (MdError::Transport(_) | MdError::NoMemory)) => return Err(e),
            Err(e) => {
                tracing::warn!("certificate object {tag:06X} unreadable, not watched: {e}");
                (Fingerprint::default(), None)
            }
        };
        if self.watch.is_some_and(|known| known != watch) {
            tracing::debug!("the PIV Authentication certificate changed: the card's contents are read again");
            self.forget_card_contents();
        }
        self.watch = Some(watch);
        self.watched_object = content;
        Ok(watch)
    }

    /// Records a certificate object this context wrote in `slot` (`content`: what PUT DATA stored
    /// inside `53`, `None`: deleted), so that its own write does not look like another's.
    pub(crate) fn note_certificate_object_written(&mut self, slot: KeyRef, content: Option<&[u8]>) {
        if slot == crate::watch::WATCHED_SLOT {
            self.watch = Some(Fingerprint::of_content(content));
            self.watched_object = None;
        }
    }

    /// Whether the card has Tessera's freshness object (for `CP_CARD_CACHE_MODE`): as this context last
    /// read it; else as the CSP's cache records for this card id (see [`CardFacts`] for why a stale
    /// answer does no harm there); else read once, and recorded.
    pub(crate) fn has_freshness(&mut self) -> Result<bool> {
        if self.freshness.asked() {
            return Ok(self.freshness.value().is_some());
        }
        if let Some(facts) = self.cached_facts() {
            return Ok(facts.freshness.is_some());
        }
        let present = self.freshness()?.is_some();
        self.remember_facts(None);
        Ok(present)
    }

    /// The card facts the CSP's cache holds for the card this context identified (a stable id only).
    fn cached_facts(&self) -> Option<CardFacts> {
        let identity = self.identity.as_ref()?;
        self.facts_record().filter(|facts| facts.is_of(identity))
    }

    /// The card facts record the CSP's cache holds, whatever card it is of.
    fn facts_record(&self) -> Option<CardFacts> {
        let bytes = self.csp_cache.as_ref()?.lookup(crate::scan_cache::FACTS_TAG)?;
        CardFacts::decode(&bytes)
    }

    /// Keeps in the CSP's cache the freshness this context read and, read under it, the discovery
    /// object (`discovery`, or the one the record already holds under the same value), and the
    /// firmware version once known. Nothing on a card without a stable id, nor before this context read
    /// the freshness.
    fn remember_facts(&self, discovery: Option<Option<Vec<u8>>>) {
        let Some(identity) = self.identity.as_ref().filter(|id| id.is_stable()) else {
            return;
        };
        if self.csp_cache.is_none() || !self.freshness.asked() {
            return;
        }
        let freshness = self.freshness.value().copied();
        let cached = self.cached_facts();
        let discovery = match (freshness, discovery) {
            (None, _) => None,
            (Some(_), Some(read)) => Some(read),
            (Some(value), None) => cached
                .as_ref()
                .and_then(|facts| facts.discovery_under(&identity.card_id, &value)),
        };
        let version = if self.version.asked() {
            Some(self.version.value().copied())
        } else {
            cached.as_ref().and_then(|facts| facts.version)
        };
        let facts = CardFacts {
            card_id: identity.card_id,
            freshness,
            discovery,
            version,
            algorithms: Some(self.listed_algorithms.clone()),
        };
        if cached.as_ref() != Some(&facts)
            && let Some(cache) = &self.csp_cache
        {
            cache.add(crate::scan_cache::FACTS_TAG, &facts.encode());
        }
    }

    /// The discovery object as the CSP's cache holds it for this card under the `cardcf` value this
    /// context read (a card whose freshness the module maintains, unchanged since it was read).
    fn cached_discovery(&self) -> Option<Option<Vec<u8>>> {
        let identity = self.identity.as_ref().filter(|id| id.is_stable())?;
        let freshness = self.freshness.value()?;
        self.cached_facts()?.discovery_under(&identity.card_id, freshness)
    }

    /// The PIN reference the card wants for the user PIN: 80, or the global PIN 00 when the discovery
    /// object says it is primary. The discovery object is read once per context, or not at all when
    /// the CSP's cache holds it under this card's id and current freshness.
    pub(crate) fn pin_reference(&mut self) -> Result<KeyRef> {
        if let Some(r) = self.pin_reference {
            return Ok(r);
        }
        let stored = match self.cached_discovery() {
            Some(stored) => stored,
            None => {
                let stored = self.read_object(tags::DISCOVERY)?;
                self.remember_facts(Some(stored.clone()));
                stored
            }
        };
        let r = match stored {
            Some(bytes) => Discovery::try_from(bytes.as_slice())
                .map(|d| d.primary_pin_reference())
                .unwrap_or(KeyRef::PIN),
            None => KeyRef::PIN,
        };
        self.pin_reference = Some(r);
        Ok(r)
    }
}

/// The status words of a card that does not keep an object (standard PIV cards and Nitrokey 3 answer
/// `6A80` for the 5FFFxx objects; the virtual card made a plain PIV card answers so too).
fn refuses_unknown_object(sw: tessera_piv::StatusWord) -> bool {
    use tessera_piv::StatusWord as Sw;
    [
        Sw::INCORRECT_DATA,
        Sw::FUNCTION_NOT_SUPPORTED,
        Sw::INCORRECT_P1P2,
        Sw::INS_NOT_SUPPORTED,
        Sw::CLA_NOT_SUPPORTED,
    ]
    .contains(&sw)
}

/// The containers of scanned slot contents: by the container map when the card has one.
fn containers_from(
    map: Option<&ContainerMap>,
    contents: &[(KeyRef, SlotContents)],
    naming_guid: &[u8; 16],
) -> ContainerSet {
    match map {
        Some(map) => ContainerSet::from_map(map, contents, naming_guid),
        None => ContainerSet::from_slots(contents, naming_guid),
    }
}

impl ScanInputs {
    /// Applies `write` as a scan would read it back; `false` when it cannot tell (a slot never read). A
    /// new key is what GET METADATA reports on cards that answer it (on others the slot shows its
    /// certificate only); the slot's certificate object is as the scan or the free-slot check read it.
    fn apply(&mut self, write: &OwnWrite<'_>, metadata_supported: bool) -> bool {
        match write {
            OwnWrite::Map(encoded) => match ContainerMap::try_from(*encoded) {
                Ok(map) => self.map = Some(map),
                Err(_) => return false,
            },
            OwnWrite::Key {
                slot,
                public_key,
                pin,
                touch,
                origin,
            } => {
                let Some(slot) = self.slots.get_mut(slot) else {
                    return false;
                };
                slot.metadata = metadata_supported.then(|| tessera_piv::commands::Metadata {
                    algorithm: Some(public_key.algorithm()),
                    pin_policy: Some(*pin),
                    touch_policy: (*touch != tessera_piv::TouchPolicy::Default).then_some(*touch),
                    origin: Some(*origin),
                    public_key: Some((*public_key).clone()),
                    ..Default::default()
                });
                slot.no_key = false;
            }
            OwnWrite::Certificate(slot, der) => match self.slots.get_mut(slot) {
                Some(slot) => slot.certificate = der.map(<[u8]>::to_vec),
                None => return false,
            },
            // As a scan would read the slot now: GET METADATA, where the card has it, says empty.
            OwnWrite::KeyDeleted(slot) => match self.slots.get_mut(slot) {
                Some(slot) => {
                    slot.metadata = None;
                    slot.no_key = metadata_supported;
                }
                None => return false,
            },
        }
        true
    }
}

/// The slots a scan reads: those the layout without a map reads (9A, 9C, 9D, 9E and the retired slots
/// the key history counts), and with a map also every slot a record names: keys the map does not list
/// are shown too.
fn scanned_slots(key_history: Option<&[u8]>, map: Option<&ContainerMap>) -> Vec<KeyRef> {
    let retired = key_history
        .and_then(|bytes| KeyHistory::try_from(bytes).ok())
        .map_or(0, |h| h.keys_with_on_card_certs);
    let mut slots: Vec<KeyRef> = [
        KeyRef::AUTHENTICATION,
        KeyRef::SIGNATURE,
        KeyRef::KEY_MANAGEMENT,
        KeyRef::CARD_AUTHENTICATION,
    ]
    .into_iter()
    .chain((1..=retired.min(20)).filter_map(KeyRef::retired))
    .collect();
    if let Some(map) = map {
        slots.extend(map.records.iter().map(|r| r.slot).filter(|k| k.is_key_slot()));
        slots.sort();
        slots.dedup();
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_object_is_a_valid_vendor_tag() {
        // The last tag byte must have bit 8 clear (BER), and the tag must stay clear of Yubico's objects.
        assert!(tessera_piv::commands::get_data(FRESHNESS_OBJECT).is_ok());
        assert!(tags::is_yubico_vendor(FRESHNESS_OBJECT));
        assert!(!(tags::YUBICO_ADMIN_DATA..=tags::YUBICO_ROOTS_LAST).contains(&FRESHNESS_OBJECT));
    }
}
