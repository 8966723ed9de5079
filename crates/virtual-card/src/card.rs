//! [`VirtualCard`]: framing, the engine and the store put together, reachable through
//! [`tessera_piv::Transport`].

use std::path::Path;
use std::sync::Arc;

use tessera_piv::apdu::ParsedCommand;
use tessera_piv::commands::ins;
use tessera_piv::transport::Counters;
use tessera_piv::{StatusWord, Transport, TransportError};

use crate::command::{Command, Reply};
use crate::config::CardConfig;
use crate::error::VirtualCardError;
use crate::execute::Engine;
use crate::framing::{FrameAction, Framing};
use crate::instruments::Trace;
use crate::rng::CardRng;
use crate::state::{PersistentState, Selection, VolatileState};
use crate::store::Store;
use crate::test_faults::TestFaults;

/// The ATR of a YubiKey 5 (CCID), from libykpiv's `YKPIV_ATR_YK5`: tools that recognise YubiKeys by
/// ATR (libykpiv, OpenSC) treat the virtual card as one.
pub const ATR: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75,
    0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];

/// A software PIV card with the YubiKey 5.7 extensions.
#[derive(Debug)]
pub struct VirtualCard {
    engine: Engine,
    framing: Framing,
    counters: Arc<Counters>,
    trace: Option<Trace>,
    faults: TestFaults,
}

fn rng_for(config: &CardConfig) -> Result<CardRng, VirtualCardError> {
    match config.seed {
        Some(seed) => Ok(CardRng::seeded(seed)),
        None => CardRng::from_os(),
    }
}

impl VirtualCard {
    /// A new card that lives in memory only.
    pub fn new(config: CardConfig) -> Result<Self, VirtualCardError> {
        let mut rng = rng_for(&config)?;
        let state = PersistentState::fresh(&config, &mut rng)?;
        Ok(Self::assemble(state, rng, Store::Memory))
    }

    /// The card stored in `path`; a new card is created there when the file does not exist yet.
    pub fn open(path: &Path, config: CardConfig) -> Result<Self, VirtualCardError> {
        let mut rng = rng_for(&config)?;
        let (store, state) = Store::open_file(path, &config, &mut rng)?;
        Ok(Self::assemble(state, rng, store))
    }

    /// A card in memory that starts from `state` (a snapshot taken with [`Self::persistent`]), with
    /// `config`'s random generator: tests restore one card state many times without a state file.
    pub fn from_state(state: PersistentState, config: CardConfig) -> Result<Self, VirtualCardError> {
        let rng = rng_for(&config)?;
        Ok(Self::assemble(state, rng, Store::Memory))
    }

    fn assemble(state: PersistentState, rng: CardRng, store: Store) -> Self {
        Self {
            engine: Engine::new(state, rng, store),
            framing: Framing::default(),
            counters: Arc::default(),
            trace: None,
            faults: TestFaults::default(),
        }
    }

    /// Handles one APDU and returns the response (data and status word). Never fails: every problem is
    /// a status word, as on a real card.
    pub fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        let response = match self.framing.receive(apdu) {
            FrameAction::Respond(bytes) => bytes,
            FrameAction::Execute(cmd) => {
                let reply = self.dispatch(&cmd);
                self.framing.respond(reply, &cmd)
            }
        };
        self.counters.record_command(apdu.len());
        self.counters.record_response(response.len());
        if let Some(trace) = &mut self.trace {
            trace.exchange(apdu, &response);
        }
        response
    }

    fn dispatch(&mut self, cmd: &ParsedCommand) -> Reply {
        if let Some(reply) = self.faults.switch(cmd) {
            return reply;
        }
        if cmd.ins != ins::SELECT && self.engine.volatile().selection != Selection::Piv {
            return Err(StatusWord::INS_NOT_SUPPORTED);
        }
        if let Some(reply) = self.faults.answer(cmd) {
            return reply;
        }
        if cmd.ins == ins::GET_RESPONSE {
            // Only reached when no response is pending (see the framing module).
            return Err(if cmd.p1 == 0 && cmd.p2 == 0 {
                StatusWord::INCORRECT_DATA
            } else {
                StatusWord::INCORRECT_P1P2
            });
        }
        let command = Command::parse(cmd)?;
        // The engine saves what the command changes (and answers 6581 when it cannot).
        self.engine.execute(command)
    }

    /// Power cycle (warm reset): no application selected, security status and pending data gone.
    pub fn power_cycle(&mut self) {
        self.engine.power_cycle();
        self.framing.clear();
        if let Some(trace) = &mut self.trace {
            trace.event("reset");
        }
    }

    /// Lets a test switch faults on through the card ([`crate::test_faults`]). Off by default.
    pub fn enable_test_faults(&mut self) {
        self.faults.enable();
    }

    /// The ATR.
    pub fn atr(&self) -> &'static [u8] {
        &ATR
    }

    /// The counters (shared; they keep counting).
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Starts (or replaces) the trace.
    pub fn set_trace(&mut self, trace: Option<Trace>) {
        self.trace = trace;
    }

    /// The persistent state (for tests and tools).
    pub fn persistent(&self) -> &PersistentState {
        self.engine.persistent()
    }

    /// The volatile state (for tests).
    pub fn volatile(&self) -> &VolatileState {
        self.engine.volatile()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.engine.store()
    }
}

impl Transport for VirtualCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.process_apdu(apdu))
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.power_cycle();
        Ok(())
    }
}
