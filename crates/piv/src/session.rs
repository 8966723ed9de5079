//! The [`Transport`] trait every backend implements, and [`Session`], which does the framing once for
//! all of them (chaining, `61xx` GET RESPONSE, `6Cxx`) and offers one method per card command.

use std::sync::Arc;

use rand_source::fill_random;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::algorithm::{AlgorithmId, ManagementAlgorithm};
use crate::apdu::{Command, EXTENDED_MAX_DATA, Response, SHORT_MAX_DATA};
use crate::atr::CardCapabilities;
use crate::commands::{self, ImportKey, Metadata, Version};
use crate::error::{PivError, Result};
use crate::key_ref::KeyRef;
use crate::mgm::ManagementKey;
use crate::objects::ApplicationProperties;
use crate::pin::PaddedPin;
use crate::policy::{PinPolicy, TouchPolicy};
use crate::public_key::PublicKey;
use crate::sw::StatusWord;
use crate::tlv;

/// Why bytes could not be exchanged with the card. Backend codes (PC/SC's `SCARD_*` values) are not this
/// crate's business: a backend classifies its failures into these variants and keeps the rest whole in
/// [`Backend`](Self::Backend), where its own crate can read them back (`tessera-pcsc` maps both ways).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card was reset since the last exchange; the command was not delivered, volatile card state
    /// (selected application, PIN verification, management-key authentication) is gone. The transport
    /// is usable again.
    #[error("the card was reset")]
    CardReset,
    /// The card was removed.
    #[error("the card was removed")]
    CardRemoved,
    /// No card is present.
    #[error("no card in the reader")]
    NoCard,
    /// Any other failure of the backend, as the backend reported it.
    #[error(transparent)]
    Backend(BackendError),
    /// A transport without a backend error of its own failed (socket, in-process card, injected fault).
    #[error("transport failure: {0}")]
    Io(String),
    /// The transport cannot do this (for example, reset a card it does not own).
    #[error("not supported by this transport: {0}")]
    Unsupported(&'static str),
}

/// A backend's own error, carried unchanged through [`TransportError::Backend`] so that the backend's
/// crate can get it back with [`downcast_ref`](Self::downcast_ref). Two are equal when they print the same.
#[derive(Clone)]
pub struct BackendError(Arc<dyn std::error::Error + Send + Sync>);

impl BackendError {
    /// Wraps a backend's error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The backend's error, when it is an `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl std::fmt::Debug for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for BackendError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

impl Eq for BackendError {}

/// Moves raw APDU bytes to a card and back. Framing is not the transport's business: it sends exactly
/// the bytes it is given and returns the card's answer including SW1 SW2.
pub trait Transport {
    /// Sends one APDU and returns the response bytes (data ‖ SW1 SW2).
    fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError>;

    /// Warm-resets the card. Transports that do not own the card cannot, and say so.
    fn reset(&mut self) -> std::result::Result<(), TransportError> {
        Err(TransportError::Unsupported("reset"))
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
    fn reset(&mut self) -> std::result::Result<(), TransportError> {
        (**self).reset()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
    fn reset(&mut self) -> std::result::Result<(), TransportError> {
        (**self).reset()
    }
}

/// How a session frames commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Use extended-length APDUs (ISO/IEC 7816-4 §5.1): a command with more than 255 data bytes goes as
    /// one APDU instead of a chain, and a command that asks for all the data there is asks for up to
    /// 65 536 bytes, so a certificate or an RSA result comes back without GET RESPONSE rounds. Commands
    /// that carry a PIN or PUK always go short. Off by default: chaining works on every PIV card,
    /// extended length does not; [`SessionOptions::for_atr`] turns it on for a card that announces it. A
    /// card that refuses an extended APDU all the same gets short ones for the rest of the session (see
    /// [`Session::transmit`]).
    pub extended_length: bool,
    /// Largest response (after GET RESPONSE collection) accepted; a hostile card cannot make the host
    /// allocate without bound.
    pub max_response: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            extended_length: false,
            max_response: 64 * 1024,
        }
    }
}

impl SessionOptions {
    /// The options for the card whose answer-to-reset is `atr`: extended length when the card
    /// capabilities in its historical bytes announce extended Lc and Le (a YubiKey 5 does), short APDUs
    /// otherwise.
    pub fn for_atr(atr: &[u8]) -> Self {
        Self {
            extended_length: CardCapabilities::from_atr(atr).is_some_and(|c| c.extended_length),
            ..Self::default()
        }
    }
}

/// The verification state of a PIN or PUK, as VERIFY without data reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStatus {
    /// Verified in this session.
    Verified,
    /// Not verified; this many tries are left.
    NotVerified {
        /// Tries left.
        retries: u8,
    },
    /// Blocked.
    Blocked,
}

/// What GET METADATA says about a key slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotMetadata {
    /// The slot holds a key, described here.
    Present(Metadata),
    /// The card says the slot holds no key.
    Empty,
    /// The card does not report metadata (or not for this slot).
    Unreported,
}

/// A PIV session over any transport. It remembers only what the framing and re-selection need; what a
/// caller believes about PIN state is the caller's business.
#[derive(Debug)]
pub struct Session<T: Transport> {
    transport: T,
    options: SessionOptions,
    /// The card refused an extended-length APDU: short ones from now on.
    extended_refused: bool,
    selected: bool,
    resets: u64,
    exchanges: u64,
}

impl<T: Transport> Session<T> {
    /// A session with default options. Nothing is sent until the first command.
    pub fn new(transport: T) -> Self {
        Self::with_options(transport, SessionOptions::default())
    }

    /// A session with explicit options.
    pub fn with_options(transport: T, options: SessionOptions) -> Self {
        Self {
            transport,
            options,
            extended_refused: false,
            selected: false,
            resets: 0,
            exchanges: 0,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (e.g. to swap the card handle it uses).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// How many card resets this session has seen. Callers compare it before and after a call to learn
    /// that volatile card state (PIN verification, management-key authentication) was lost.
    pub fn resets_seen(&self) -> u64 {
        self.resets
    }

    /// How many APDUs (chained blocks and GET RESPONSEs each count) this session handed to the
    /// transport. Callers compare it to learn whether anything reached the card in between, e.g. to
    /// discard a challenge that must be answered by the very next command.
    pub fn exchanges(&self) -> u64 {
        self.exchanges
    }

    /// True when commands are sent in extended length: asked for in the options and not refused by the
    /// card so far.
    pub fn uses_extended_length(&self) -> bool {
        self.options.extended_length && !self.extended_refused
    }

    /// True when the PIV application is known to be selected.
    pub fn is_selected(&self) -> bool {
        self.selected
    }

    /// Sends the next commands without a SELECT first, as to an application still selected from an
    /// earlier connection. Only the caller can tell from their answers whether it was (a PIV data
    /// object is answered by the PIV application alone); it calls
    /// [`mark_deselected`](Self::mark_deselected) when it was not.
    pub fn assume_selected(&mut self) {
        self.selected = true;
    }

    /// Forgets that the application is selected (for example after the caller learnt of a reset by other
    /// means); the next command selects it again.
    pub fn mark_deselected(&mut self) {
        self.selected = false;
    }

    /// Records a reset observed outside the session (for example, a new card handle).
    pub fn note_reset(&mut self) {
        self.selected = false;
        self.resets += 1;
    }

    fn raw(&mut self, apdu: &[u8]) -> Result<Response> {
        self.exchanges += 1;
        match self.transport.transmit(apdu) {
            // The answer may be a decrypted secret or a PIN-protected object: wipe the raw copy too.
            Ok(bytes) => Ok(Response::parse(&Zeroizing::new(bytes))?),
            Err(e) => {
                if matches!(e, TransportError::CardReset | TransportError::CardRemoved) {
                    self.note_reset();
                }
                Err(e.into())
            }
        }
    }

    /// Sends a command with full framing and returns the complete response; a non-success status word
    /// is returned as such, not as an error. Does not select the application first.
    ///
    /// With extended length in use, a command is sent as one extended APDU when it has more than 255
    /// data bytes or asks for all the data there is. When the card refuses that form (`6700` wrong length,
    /// `6Cxx` wrong Le, `6D00`), the command goes again as short APDUs and the session keeps to short ones;
    /// if the short form gets the very same refusal, the card was not refusing the framing (a card that
    /// lost its application answers `6D00` to everything) and extended length stays in use. When the
    /// reader cannot carry the extended APDU (a failure of the backend, such as PC/SC), only a command that changes nothing on
    /// the card (SELECT, GET DATA, GET METADATA, GET VERSION, GET SERIAL) goes again; any other returns
    /// the failure, since it may have reached the card. Commands that carry a PIN or PUK are never sent
    /// extended, so never sent twice.
    pub fn transmit(&mut self, cmd: &Command) -> Result<Response> {
        let Some(extended) = self.extended_form(cmd)? else {
            return self.transmit_short(cmd);
        };
        match self.raw(&extended) {
            Ok(response) if !refuses_extended_length(response.sw) => self.collect_remaining(response),
            Ok(refusal) => {
                self.extended_refused = true;
                let response = self.transmit_short(cmd)?;
                if response.sw == refusal.sw {
                    self.extended_refused = false;
                }
                Ok(response)
            }
            Err(PivError::Transport(TransportError::Backend(failure))) => {
                self.extended_refused = true;
                if changes_nothing(cmd.ins) {
                    self.transmit_short(cmd)
                } else {
                    Err(PivError::Transport(TransportError::Backend(failure)))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The extended encoding of `cmd`, when the session uses extended length and the command gains from
    /// it (more than 255 data bytes, or an Le of "everything").
    fn extended_form(&self, cmd: &Command) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let wants_everything = cmd.le == Some(SHORT_MAX_RESPONSE);
        let long_data = cmd.data().len() > SHORT_MAX_DATA;
        if !self.uses_extended_length()
            || carries_pin(cmd.ins)
            || cmd.data().len() > EXTENDED_MAX_DATA
            || !(long_data || wants_everything)
        {
            return Ok(None);
        }
        let mut extended = cmd.clone();
        if wants_everything {
            extended.le = Some(EXTENDED_MAX_RESPONSE);
        }
        Ok(Some(Zeroizing::new(extended.to_extended()?)))
    }

    /// Sends `cmd` as short APDUs: a chain when its data exceeds 255 bytes.
    fn transmit_short(&mut self, cmd: &Command) -> Result<Response> {
        // The encoded blocks carry the command data (a PIN, a key): zeroized like the command itself.
        let encoded = Zeroizing::new(cmd.to_short_chain());
        let Some((last, leading)) = encoded.split_last() else {
            return Err(PivError::InvalidArgument("empty command encoding"));
        };
        for block in leading {
            let r = self.raw(block)?;
            if !r.sw.is_success() {
                return Ok(r); // the card refused a chained block: that is the answer
            }
        }
        let mut response = self.raw(last)?;
        // `6Cxx` is a short-APDU answer: it names a one-byte Le. Only a single-block command that asked
        // for data (it has an Le) can be sent again with the Le corrected; resending the last block of a
        // chain would be a different command (the card ended the chain with its answer). A command that
        // carries a PIN or PUK is never sent twice, whatever the card answers: it has no Le, and a
        // second copy would present the secret again.
        if let (Some(le), true, true) = (
            response.sw.correct_le(),
            leading.is_empty(),
            cmd.le.is_some() && !carries_pin(cmd.ins),
        ) {
            let mut again = Zeroizing::new(Vec::with_capacity(last.len()));
            again.extend_from_slice(last);
            // Replace Le (the last byte of a short APDU) with the value the card asked for.
            again.pop();
            again.push(le);
            response = self.raw(&again)?;
        }
        self.collect_remaining(response)
    }

    fn collect_remaining(&mut self, mut response: Response) -> Result<Response> {
        let limit = self.options.max_response;
        // Every round adds at least one byte or ends, and the limit bounds the total; the round cap
        // bounds the time the card is held. Full 256-byte rounds reach the byte limit after limit / 256
        // rounds; a card answering in rounds less than half full is cut off rather than waited for (a
        // card dripping one byte per round would otherwise cost 65 000 exchanges).
        let max_rounds = 2 * limit.div_ceil(256);
        let mut rounds = 0usize;
        while let Some(n) = response.sw.bytes_remaining() {
            rounds += 1;
            if rounds > max_rounds {
                return Err(PivError::malformed(
                    "GET RESPONSE",
                    format!("more than {max_rounds} rounds"),
                ));
            }
            let more = self.raw(&commands::get_response(n).to_short()?)?;
            if response.data().len() + more.data().len() > limit {
                return Err(PivError::ResponseTooLong { limit });
            }
            if more.data().is_empty() && more.sw.bytes_remaining().is_some() {
                return Err(PivError::malformed("GET RESPONSE", "61xx without data"));
            }
            response.extend(more.data());
            response.sw = more.sw;
        }
        if response.data().len() > limit {
            return Err(PivError::ResponseTooLong { limit });
        }
        Ok(response)
    }

    /// Selects the application first when it is not known to be selected, then sends the command.
    pub fn transmit_selected(&mut self, cmd: &Command) -> Result<Response> {
        if !self.selected {
            self.select()?;
        }
        self.transmit(cmd)
    }

    /// Like [`transmit_selected`](Self::transmit_selected), but any status other than `9000` becomes an
    /// error via [`PivError::from_status`]. Returns the response data.
    pub fn execute(&mut self, name: &'static str, cmd: &Command) -> Result<Zeroizing<Vec<u8>>> {
        let r = self.transmit_selected(cmd)?;
        if r.sw.is_success() {
            Ok(r.into_data())
        } else {
            Err(PivError::from_status(name, r.sw))
        }
    }

    /// SELECT the PIV application (9-byte AID) — Part 2 §3.1.1. Clears PIN verification on the card.
    pub fn select(&mut self) -> Result<ApplicationProperties> {
        self.select_aid(&commands::PIV_AID)
    }

    /// SELECT with an explicit AID (9-byte, 11-byte or the 5-byte RID). A `9000` answer selects the
    /// application even when its property template is malformed: the template is read leniently
    /// ([`ApplicationProperties::parse_lenient`]), so a card with a sloppy template stays usable.
    pub fn select_aid(&mut self, aid: &[u8]) -> Result<ApplicationProperties> {
        self.selected = false;
        let r = self.transmit(&commands::select(aid))?;
        if !r.sw.is_success() {
            return Err(PivError::from_status("SELECT", r.sw));
        }
        let apt = ApplicationProperties::parse_lenient(r.data());
        self.selected = true;
        Ok(apt)
    }

    /// GET DATA — Part 2 §3.1.2. Returns the object's content (inside `53`, or the whole `7E`/`7F61`
    /// value), or `None` when the card says it is absent (`6A82`) or holds an empty `53`.
    pub fn get_data(&mut self, tag: u32) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let r = self.transmit_selected(&commands::get_data(tag)?)?;
        Self::object_content(tag, r)
    }

    /// [`get_data`](Self::get_data) framed short (GET RESPONSE collecting a long answer), whatever
    /// framing the session uses: for a command that may reach no application, whose refusal (`6D00`)
    /// must not cost a second try in the other framing.
    pub fn get_data_short(&mut self, tag: u32) -> Result<Option<Zeroizing<Vec<u8>>>> {
        if !self.selected {
            self.select()?;
        }
        let r = self.transmit_short(&commands::get_data(tag)?)?;
        Self::object_content(tag, r)
    }

    /// The content of data object `tag` in a GET DATA answer.
    fn object_content(tag: u32, r: Response) -> Result<Option<Zeroizing<Vec<u8>>>> {
        if r.sw == StatusWord::NOT_FOUND {
            return Ok(None);
        }
        if !r.sw.is_success() {
            return Err(PivError::from_status("GET DATA", r.sw));
        }
        let wrapper = object_wrapper_tag(tag);
        let value = tlv::parse_single(r.data(), wrapper)
            .map_err(|e| PivError::malformed("GET DATA", e.to_string()))?;
        if value.is_empty() {
            return Ok(None);
        }
        Ok(Some(Zeroizing::new(value.to_vec())))
    }

    /// The start of a data object in one exchange: GET DATA sent short, and the data of its first
    /// answer (the object's encoding from its `53` tag on, at most 256 bytes) kept without fetching the
    /// rest (ISO/IEC 7816-4 §5.3.4: the next command drops what was left). `None` when the card says the
    /// object is absent (`6A82`). For telling whether an object changed at the cost of one APDU.
    pub fn get_data_head(&mut self, tag: u32) -> Result<Option<Zeroizing<Vec<u8>>>> {
        if !self.selected {
            self.select()?;
        }
        let mut apdu = commands::get_data(tag)?.to_short()?;
        let mut r = self.raw(&apdu)?;
        if let Some(le) = r.sw.correct_le() {
            // `6Cxx`: the object is shorter than 256 bytes and the card wants that Le (its last byte).
            apdu.pop();
            apdu.push(le);
            r = self.raw(&apdu)?;
        }
        if r.sw == StatusWord::NOT_FOUND {
            return Ok(None);
        }
        if r.sw.is_success() || r.sw.bytes_remaining().is_some() {
            return Ok(Some(r.into_data()));
        }
        Err(PivError::from_status("GET DATA", r.sw))
    }

    /// PUT DATA — Part 2 §3.2.1, with `content` wrapped as the object needs (`53`, or `7E`/`7F61`).
    /// An empty `content` deletes the object.
    pub fn put_data(&mut self, tag: u32, content: &[u8]) -> Result<()> {
        let object = Zeroizing::new(tlv::encode(object_wrapper_tag(tag), content)?);
        self.execute("PUT DATA", &commands::put_data(tag, &object)?)?;
        Ok(())
    }

    /// VERIFY — Part 2 §3.2.2. Never retried by this library: a retry could block the card.
    pub fn verify(&mut self, key_ref: KeyRef, pin: &PaddedPin) -> Result<()> {
        self.execute("VERIFY", &commands::verify(key_ref, Some(pin)))?;
        Ok(())
    }

    /// VERIFY without data: the verification status, spending no try.
    pub fn pin_status(&mut self, key_ref: KeyRef) -> Result<PinStatus> {
        let r = self.transmit_selected(&commands::verify(key_ref, None))?;
        if r.sw.is_success() {
            return Ok(PinStatus::Verified);
        }
        if let Some(retries) = r.sw.retries() {
            return Ok(if retries == 0 {
                PinStatus::Blocked
            } else {
                PinStatus::NotVerified { retries }
            });
        }
        if r.sw == StatusWord::AUTH_METHOD_BLOCKED {
            return Ok(PinStatus::Blocked);
        }
        Err(PivError::from_status("VERIFY", r.sw))
    }

    /// VERIFY with P1 = `FF`: logs the PIN out without a reset (YubiKey ≥ 5.4.3, Nitrokey, 800-73-4 cards).
    pub fn logout(&mut self, key_ref: KeyRef) -> Result<()> {
        self.execute("VERIFY (logout)", &commands::logout(key_ref))?;
        Ok(())
    }

    /// CHANGE REFERENCE DATA — Part 2 §3.2.3.
    pub fn change_reference_data(&mut self, key_ref: KeyRef, old: &PaddedPin, new: &PaddedPin) -> Result<()> {
        self.execute(
            "CHANGE REFERENCE DATA",
            &commands::change_reference_data(key_ref, old, new),
        )?;
        Ok(())
    }

    /// RESET RETRY COUNTER — Part 2 §3.2.4.
    pub fn reset_retry_counter(&mut self, puk: &PaddedPin, new_pin: &PaddedPin) -> Result<()> {
        self.execute(
            "RESET RETRY COUNTER",
            &commands::reset_retry_counter(puk, new_pin),
        )?;
        Ok(())
    }

    /// GENERAL AUTHENTICATE with a private key: RSA (a modulus-sized block in, raw result out) or ECDSA
    /// (hash in, DER signature out).
    pub fn private_key_operation(
        &mut self,
        slot: KeyRef,
        algorithm: AlgorithmId,
        input: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let data = self.execute(
            "GENERAL AUTHENTICATE",
            &commands::private_key_operation(algorithm, slot, input)?,
        )?;
        commands::parse_authenticate_response(&data, commands::dat::RESPONSE)
    }

    /// GENERAL AUTHENTICATE for ECDH: the raw shared X coordinate.
    pub fn key_agreement(
        &mut self,
        slot: KeyRef,
        algorithm: AlgorithmId,
        peer_point: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let data = self.execute(
            "GENERAL AUTHENTICATE",
            &commands::key_agreement(algorithm, slot, peer_point)?,
        )?;
        commands::parse_authenticate_response(&data, commands::dat::RESPONSE)
    }

    /// Mutual authentication with the management key (what libykpiv and ykman do): the card proves it
    /// knows the key too, so a fake card cannot harvest a response.
    pub fn authenticate_management_key(&mut self, key: &ManagementKey) -> Result<()> {
        let alg = key.algorithm().id();
        let block = key.algorithm().block_len();
        let data = self.execute(
            "GENERAL AUTHENTICATE",
            &commands::mutual_auth_witness_request(alg)?,
        )?;
        let witness = commands::parse_authenticate_response(&data, commands::dat::WITNESS)?;
        if witness.len() != block {
            return Err(PivError::malformed(
                "GENERAL AUTHENTICATE",
                "witness of the wrong length",
            ));
        }
        let decrypted = key.decrypt_block(&witness)?;
        let mut challenge = Zeroizing::new(vec![0u8; block]);
        fill_random(&mut challenge)?;
        let data = self.execute(
            "GENERAL AUTHENTICATE",
            &commands::mutual_auth_response(alg, &decrypted, &challenge)?,
        )?;
        let card_response = commands::parse_authenticate_response(&data, commands::dat::RESPONSE)?;
        let expected = key.encrypt_block(&challenge)?;
        if card_response.len() != expected.len() || !bool::from(card_response.ct_eq(&expected)) {
            return Err(PivError::CardAuthenticationFailed);
        }
        Ok(())
    }

    /// External authentication, step 1: the card's challenge (what the minidriver hands to the CSP).
    pub fn management_challenge(&mut self, algorithm: ManagementAlgorithm) -> Result<Zeroizing<Vec<u8>>> {
        let data = self.execute(
            "GENERAL AUTHENTICATE",
            &commands::external_auth_challenge_request(algorithm.id())?,
        )?;
        let challenge = commands::parse_authenticate_response(&data, commands::dat::CHALLENGE)?;
        if challenge.len() != algorithm.block_len() {
            return Err(PivError::malformed(
                "GENERAL AUTHENTICATE",
                "challenge of the wrong length",
            ));
        }
        Ok(challenge)
    }

    /// External authentication, step 2: the encrypted challenge. Must directly follow step 1.
    pub fn management_response(&mut self, algorithm: ManagementAlgorithm, response: &[u8]) -> Result<()> {
        self.execute(
            "GENERAL AUTHENTICATE",
            &commands::external_auth_response(algorithm.id(), response)?,
        )?;
        Ok(())
    }

    /// GENERATE ASYMMETRIC KEY PAIR — Part 2 §3.3.2.
    pub fn generate_key_pair(
        &mut self,
        slot: KeyRef,
        algorithm: AlgorithmId,
        pin: PinPolicy,
        touch: TouchPolicy,
    ) -> Result<PublicKey> {
        let data = self.execute(
            "GENERATE ASYMMETRIC KEY PAIR",
            &commands::generate_key_pair(slot, algorithm, pin, touch)?,
        )?;
        Ok(PublicKey::parse_template(algorithm, &data)?)
    }

    /// Yubico: GET VERSION.
    pub fn get_version(&mut self) -> Result<Version> {
        Version::parse(&self.execute("GET VERSION", &commands::get_version())?)
    }

    /// Yubico: GET SERIAL.
    pub fn get_serial(&mut self) -> Result<u32> {
        commands::parse_serial(&self.execute("GET SERIAL", &commands::get_serial())?)
    }

    /// Yubico: GET METADATA. `Ok(None)` when the card does not support it (`6D00`, `6A81`, or an empty
    /// answer, as Nitrokey gives) and when the slot is empty (`6A82`/`6A88`).
    pub fn get_metadata(&mut self, key_ref: KeyRef) -> Result<Option<Metadata>> {
        let r = self.transmit_selected(&commands::get_metadata(key_ref))?;
        match r.sw {
            StatusWord::SUCCESS if r.data().is_empty() => Ok(None),
            StatusWord::SUCCESS => Ok(Some(Metadata::parse(r.data())?)),
            StatusWord::NOT_FOUND
            | StatusWord::REFERENCE_NOT_FOUND
            | StatusWord::INS_NOT_SUPPORTED
            | StatusWord::FUNCTION_NOT_SUPPORTED => Ok(None),
            sw => Err(PivError::from_status("GET METADATA", sw)),
        }
    }

    /// Yubico: GET METADATA of a key slot, telling an empty slot (`6A82`/`6A88`) apart from a card that
    /// does not report metadata (`6D00`, `6A81`, or an empty `9000` as Nitrokey gives): a host deciding
    /// whether a slot is free must not take "no answer" for "no key".
    pub fn slot_metadata(&mut self, slot: KeyRef) -> Result<SlotMetadata> {
        let r = self.transmit_selected(&commands::get_metadata(slot))?;
        match r.sw {
            StatusWord::SUCCESS if r.data().is_empty() => Ok(SlotMetadata::Unreported),
            StatusWord::SUCCESS => Ok(SlotMetadata::Present(Metadata::parse(r.data())?)),
            StatusWord::NOT_FOUND | StatusWord::REFERENCE_NOT_FOUND => Ok(SlotMetadata::Empty),
            StatusWord::INS_NOT_SUPPORTED | StatusWord::FUNCTION_NOT_SUPPORTED => {
                Ok(SlotMetadata::Unreported)
            }
            sw => Err(PivError::from_status("GET METADATA", sw)),
        }
    }

    /// Yubico: SET MANAGEMENT KEY (needs management-key authentication).
    pub fn set_management_key(&mut self, key: &ManagementKey, touch: bool) -> Result<()> {
        self.execute("SET MANAGEMENT KEY", &commands::set_management_key(key, touch))?;
        Ok(())
    }

    /// Yubico: IMPORT ASYMMETRIC KEY (needs management-key authentication).
    pub fn import_key(
        &mut self,
        slot: KeyRef,
        algorithm: AlgorithmId,
        key: &ImportKey<'_>,
        pin: PinPolicy,
        touch: TouchPolicy,
    ) -> Result<()> {
        self.execute(
            "IMPORT ASYMMETRIC KEY",
            &commands::import_key(slot, algorithm, key, pin, touch)?,
        )?;
        Ok(())
    }

    /// Yubico: ATTEST — the DER attestation certificate.
    pub fn attest(&mut self, slot: KeyRef) -> Result<Vec<u8>> {
        Ok(self.execute("ATTEST", &commands::attest(slot))?.to_vec())
    }

    /// Yubico: MOVE KEY (≥ 5.7).
    pub fn move_key(&mut self, from: KeyRef, to: KeyRef) -> Result<()> {
        self.execute("MOVE KEY", &commands::move_key(from, to))?;
        Ok(())
    }

    /// Yubico: DELETE KEY (≥ 5.7).
    pub fn delete_key(&mut self, slot: KeyRef) -> Result<()> {
        self.execute("DELETE KEY", &commands::delete_key(slot))?;
        Ok(())
    }

    /// Yubico: SET PIN RETRIES.
    pub fn set_pin_retries(&mut self, pin_tries: u8, puk_tries: u8) -> Result<()> {
        self.execute(
            "SET PIN RETRIES",
            &commands::set_pin_retries(pin_tries, puk_tries),
        )?;
        Ok(())
    }

    /// Yubico: RESET the PIV application (only when PIN and PUK are blocked).
    pub fn reset_application(&mut self) -> Result<()> {
        self.execute("RESET", &commands::reset())?;
        Ok(())
    }
}

/// Le of a short command that asks for everything (sent as `00`).
const SHORT_MAX_RESPONSE: usize = 256;
/// Le of an extended command that asks for everything (sent as `00 00`).
const EXTENDED_MAX_RESPONSE: usize = 65_536;

/// The answers with which a card refuses an extended-length APDU it does not support.
fn refuses_extended_length(sw: StatusWord) -> bool {
    sw == StatusWord::WRONG_LENGTH || sw == StatusWord::INS_NOT_SUPPORTED || sw.correct_le().is_some()
}

/// True for the instructions that read and change nothing on the card, which may go again after the
/// reader failed to carry them.
fn changes_nothing(ins: u8) -> bool {
    matches!(
        ins,
        commands::ins::SELECT
            | commands::ins::GET_DATA
            | commands::ins::GET_METADATA
            | commands::ins::GET_VERSION
            | commands::ins::GET_SERIAL
    )
}

/// True for the instructions whose data is a PIN or PUK (VERIFY, CHANGE REFERENCE DATA, RESET RETRY
/// COUNTER).
fn carries_pin(ins: u8) -> bool {
    matches!(
        ins,
        commands::ins::VERIFY | commands::ins::CHANGE_REFERENCE_DATA | commands::ins::RESET_RETRY_COUNTER
    )
}

/// The tag that wraps an object's content in GET/PUT DATA: `53`, except for the discovery object (`7E`)
/// and the biometric group template (`7F61`), which are sent as themselves.
pub fn object_wrapper_tag(tag: u32) -> u32 {
    match tag {
        0x7E | 0x7F61 => tag,
        _ => 0x53,
    }
}

mod rand_source {
    //! Host challenges for management-key authentication come from the operating system.
    use crate::error::{PivError, Result};

    pub(super) fn fill_random(buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|_| PivError::InvalidArgument("operating system RNG unavailable"))
    }
}
