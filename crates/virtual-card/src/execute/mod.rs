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
//!
//! # Saving
//! The engine owns the [`Store`]. A command that changes persistent state is saved before it is answered;
//! when saving fails the card answers `6581`, puts back the state from before the command, and clears the
//! security status (a card that cannot record what it did grants nothing). PIN and PUK checks follow the
//! rule of real cards instead: the try is spent and saved *before* the comparison, so neither a failed
//! write nor a power cut gives a free guess (see the `pin` module). A spent try is never given back,
//! not even when its save failed: memory is then ahead of the file until the next successful save.

mod auth;
mod data;
mod info;
mod keys;
mod pin;

use tessera_piv::StatusWord;

use crate::command::{Command, Reply};
use crate::rng::CardRng;
use crate::state::{PersistentState, VolatileState};
use crate::store::Store;

pub use data::{MAX_OBJECT_LEN, MAX_TOTAL_OBJECT_BYTES, PIN_PROTECTED_OBJECTS};
pub use info::application_properties;

/// The card's logic, its state and where that state is saved; no framing.
#[derive(Debug)]
pub struct Engine {
    persistent: PersistentState,
    volatile: VolatileState,
    rng: CardRng,
    store: Store,
    /// The current command changed persistent state (saved at its end).
    dirty: bool,
    /// Memory holds a change the store lacks, kept because undoing it would be more permissive (a spent
    /// PIN or PUK try whose save failed); written by the next save.
    unsaved: bool,
}

/// True for the commands that change persistent state and are saved at their end, which must be undone
/// when that save fails. PIN and PUK checks save themselves (the `pin` module); the rest only read.
fn saved_at_end(command: &Command) -> bool {
    match command {
        Command::PutData { .. }
        | Command::Generate { .. }
        | Command::Import { .. }
        | Command::SetManagementKey { .. }
        | Command::MoveKey { .. }
        | Command::SetPinRetries { .. }
        | Command::Reset => true,
        Command::Select(_)
        | Command::GetData { .. }
        | Command::Verify(_)
        | Command::ChangeReference { .. }
        | Command::ResetRetryCounter { .. }
        | Command::GeneralAuthenticate { .. }
        | Command::GetVersion
        | Command::GetSerial
        | Command::GetMetadata { .. }
        | Command::Attest { .. } => false,
    }
}

impl Engine {
    /// An engine over loaded persistent state, saving to `store`.
    pub fn new(persistent: PersistentState, rng: CardRng, store: Store) -> Self {
        Self {
            persistent,
            volatile: VolatileState::default(),
            rng,
            store,
            dirty: false,
            unsaved: false,
        }
    }

    /// Executes one parsed command and saves what it changed.
    pub fn execute(&mut self, command: Command) -> Reply {
        // Only a store that can fail needs a copy to go back to, and only for a command that changes
        // state; reads (GET DATA, signing…) copy nothing.
        let undo = (self.store.path().is_some() && saved_at_end(&command))
            .then(|| (Box::new(self.persistent.clone()), self.unsaved));
        self.dirty = false;
        let reply = self.run(command);
        if self.dirty
            && let Err(failure) = self.save()
        {
            if let Some((previous, unsaved)) = undo {
                self.persistent = *previous;
                self.unsaved = unsaved;
            }
            return Err(failure);
        }
        reply
    }

    fn run(&mut self, command: Command) -> Reply {
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

    /// The volatile state.
    pub fn volatile(&self) -> &VolatileState {
        &self.volatile
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Writes persistent state to the store. When that fails the security status is cleared and the
    /// answer is `6581`; what memory holds is the caller's to settle.
    fn save(&mut self) -> Result<(), StatusWord> {
        self.dirty = false;
        match self.store.save(&self.persistent) {
            Ok(()) => {
                self.unsaved = false;
                Ok(())
            }
            Err(_) => {
                self.unsaved = true;
                self.volatile.clear_security();
                Err(StatusWord::MEMORY_FAILURE)
            }
        }
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
