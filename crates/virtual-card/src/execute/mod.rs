//! Execution: one `match` over [`Command`], each arm delegating to the module of its command family.
//! Access rules are those of a YubiKey 5.7:
//!
//! * management key (9B) for PUT DATA, GENERATE, IMPORT, MOVE/DELETE KEY, SET MANAGEMENT KEY;
//! * management key and PIN for SET PIN RETRIES;
//! * the PIN for reading 5FC103, 5FC108, 5FC109, 5FC121 and 5FC123;
//! * private-key use by PIN policy: NEVER none, ONCE a verified PIN, ALWAYS a VERIFY right before each
//!   operation (one operation per VERIFY). Defaults: 9C ALWAYS, 9E NEVER, every other slot ONCE.
//!
//! Unsatisfied rules answer `6982`.

mod auth;
mod data;
mod info;
mod keys;
mod pin;

use tessera_piv::StatusWord;

use crate::command::{Command, Reply};
use crate::rng::CardRng;
use crate::state::{PersistentState, VolatileState};

pub use data::{MAX_OBJECT_LEN, MAX_TOTAL_OBJECT_BYTES, PIN_PROTECTED_OBJECTS};
pub use info::application_properties;

/// The card's logic and state, without framing or storage.
#[derive(Debug)]
pub struct Engine {
    persistent: PersistentState,
    volatile: VolatileState,
    rng: CardRng,
    dirty: bool,
}

impl Engine {
    /// An engine over loaded persistent state.
    pub fn new(persistent: PersistentState, rng: CardRng) -> Self {
        Self {
            persistent,
            volatile: VolatileState::default(),
            rng,
            dirty: false,
        }
    }

    /// Executes one parsed command.
    pub fn execute(&mut self, command: Command) -> Reply {
        match command {
            Command::Select(target) => self.select(target),
            Command::GetData { tag } => self.get_data(tag),
            Command::PutData { tag, value } => self.put_data(tag, value),
            Command::Verify(verify) => self.verify(verify),
            Command::ChangeReference {
                reference,
                current,
                new,
            } => self.change_reference(reference, &current, &new),
            Command::ResetRetryCounter { puk, new_pin } => self.reset_retry_counter(&puk, &new_pin),
            Command::GeneralAuthenticate {
                algorithm,
                key,
                request,
            } => self.general_authenticate(algorithm, key, request),
            Command::Generate {
                slot,
                algorithm,
                pin_policy,
                touch_policy,
            } => self.generate(slot, algorithm, pin_policy, touch_policy),
            Command::Import {
                slot,
                algorithm,
                material,
                pin_policy,
                touch_policy,
            } => self.import(slot, algorithm, &material, pin_policy, touch_policy),
            Command::GetVersion => Ok(self.persistent.version.to_vec()),
            Command::GetSerial => Ok(self.persistent.serial.to_be_bytes().to_vec()),
            Command::GetMetadata { reference } => self.metadata(reference),
            Command::SetManagementKey {
                algorithm,
                key,
                touch,
            } => self.set_management_key(algorithm, key, touch),
            Command::Attest { slot } => self.attest(slot),
            Command::MoveKey { from, to } => self.move_key(from, to),
            Command::SetPinRetries { pin_tries, puk_tries } => self.set_pin_retries(pin_tries, puk_tries),
            Command::Reset => self.reset_application(),
        }
    }

    /// The persistent state.
    pub fn persistent(&self) -> &PersistentState {
        &self.persistent
    }

    /// Replaces the persistent state (used to roll back when saving failed).
    pub fn restore_persistent(&mut self, state: PersistentState) {
        self.persistent = state;
        self.dirty = false;
    }

    /// The volatile state.
    pub fn volatile(&self) -> &VolatileState {
        &self.volatile
    }

    /// True (once) when the last commands changed persistent state, which must then be saved.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Power cycle: volatile state is lost.
    pub fn power_cycle(&mut self) {
        self.volatile = VolatileState::default();
    }

    /// Mutable access to persistent state, marking it for saving.
    fn persistent_mut(&mut self) -> &mut PersistentState {
        self.dirty = true;
        &mut self.persistent
    }

    fn require_management(&self) -> Result<(), StatusWord> {
        if self.volatile.management_authenticated {
            Ok(())
        } else {
            Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
        }
    }
}
