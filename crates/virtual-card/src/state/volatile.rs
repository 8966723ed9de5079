//! Volatile state: what a power cycle forgets.

use crate::secret::Secret;

/// Which application answers commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Nothing selected (after power-on or reset): every command but SELECT answers `6D00`.
    #[default]
    None,
    /// The PIV application.
    Piv,
    /// Another application of the token (the Yubico management applet), which knows no PIV command.
    Other,
}

/// The first half of a two-step management-key authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingAuth {
    /// Mutual authentication: the card sent `E(witness)` and expects `witness` back.
    Mutual {
        /// Algorithm byte used in step 1.
        algorithm: u8,
        /// The plaintext witness.
        witness: Secret,
    },
    /// External authentication: the card sent `challenge` and expects `E(challenge)` back.
    External {
        /// Algorithm byte used in step 1.
        algorithm: u8,
        /// The expected response.
        expected: Secret,
    },
}

/// Security status and pending exchanges; all of it is lost on reset.
#[derive(Debug, Clone, Default)]
pub struct VolatileState {
    /// The selected application.
    pub selection: Selection,
    /// PIN verified in this session (policy ONCE).
    pub pin_verified: bool,
    /// PIN verified and not yet used by a PIN-ALWAYS key (one operation per VERIFY).
    pub pin_just_verified: bool,
    /// Management key authenticated.
    pub management_authenticated: bool,
    /// A GENERAL AUTHENTICATE exchange waiting for its second step.
    pub pending_auth: Option<PendingAuth>,
}

impl VolatileState {
    /// Forgets PIN verification, management-key authentication and pending challenges (what SELECT does).
    pub fn clear_security(&mut self) {
        self.pin_verified = false;
        self.pin_just_verified = false;
        self.management_authenticated = false;
        self.pending_auth = None;
    }
}
