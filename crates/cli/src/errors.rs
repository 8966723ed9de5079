//! What went wrong, in words a user can act on, and the exit code each kind of failure has. The table in
//! [`ExitCode`] is the one the README documents; scripts may rely on it.

use tessera_pcsc::PcscError;
use tessera_piv::{PivError, StatusWord, TransportError};

/// Exit codes of `tessera`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Everything worked.
    Success = 0,
    /// A demo step or a conformance case failed (the report says which), or an unexpected error.
    Failed = 1,
    /// The command line is wrong (clap's own code).
    Usage = 2,
    /// No reader, no card, no PC/SC service, or no virtual card file.
    NoCard = 3,
    /// The card has no PIV application.
    NoPiv = 4,
    /// Wrong PIN or PUK; the message says how many tries are left.
    WrongPin = 5,
    /// The PIN or PUK is blocked.
    Blocked = 6,
    /// The operation needs the management key, or the key given is wrong.
    ManagementKey = 7,
    /// The card cannot do this (instruction or algorithm not supported).
    Unsupported = 8,
    /// The command exists on Windows only.
    WindowsOnly = 9,
    /// The user answered "no" (or no answer could be asked for without `--yes`).
    Declined = 10,
    /// The card answered with an error or the connection failed.
    Card = 11,
    /// An input file or value is unusable, or a secret could not be read.
    Input = 12,
}

/// Which secret a PIN error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// The PIV PIN.
    Pin,
    /// The PUK.
    Puk,
}

impl Secret {
    fn name(self) -> &'static str {
        match self {
            Self::Pin => "PIN",
            Self::Puk => "PUK",
        }
    }
}

/// A failure of a `tessera` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No reader, card or virtual card file.
    #[error("{0}")]
    NoCard(String),
    /// The PC/SC service is not running.
    #[error("{0}")]
    NoService(String),
    /// The card has no PIV application.
    #[error("{0}")]
    NoPiv(String),
    /// Verification failed.
    #[error("wrong {}: {retries} {} left", .secret.name(), if *.retries == 1 { "try" } else { "tries" })]
    WrongPin {
        /// PIN or PUK.
        secret: Secret,
        /// Tries left.
        retries: u8,
    },
    /// The PIN or PUK is blocked.
    #[error("the {} is blocked", .0.name())]
    Blocked(Secret),
    /// The management key is needed or was refused.
    #[error("{0}")]
    ManagementKey(String),
    /// The card does not support the operation.
    #[error("{0}")]
    Unsupported(String),
    /// Windows-only command (never raised on Windows itself).
    #[cfg_attr(windows, allow(dead_code))]
    #[error("{0}")]
    WindowsOnly(String),
    /// The user declined.
    #[error("{0}")]
    Declined(String),
    /// The card or the connection failed.
    #[error("{0}")]
    Card(String),
    /// Bad input.
    #[error("{0}")]
    Input(String),
    /// A step or case failed; the report above says which.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::NoCard(_) | Self::NoService(_) => ExitCode::NoCard,
            Self::NoPiv(_) => ExitCode::NoPiv,
            Self::WrongPin { .. } => ExitCode::WrongPin,
            Self::Blocked(_) => ExitCode::Blocked,
            Self::ManagementKey(_) => ExitCode::ManagementKey,
            Self::Unsupported(_) => ExitCode::Unsupported,
            Self::WindowsOnly(_) => ExitCode::WindowsOnly,
            Self::Declined(_) => ExitCode::Declined,
            Self::Card(_) => ExitCode::Card,
            Self::Input(_) => ExitCode::Input,
            Self::Failed(_) => ExitCode::Failed,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::NoCard(_) => {
                "insert the card, or name its reader with --reader NAME, or use a virtual card with --virtual \
                 FILE (`tessera virtual-card create FILE` makes one)"
            }
            Self::NoService(_) => {
                "start the PC/SC service (Debian: `apt install pcscd`, then `systemctl start pcscd`), or use \
                 a virtual card with --virtual FILE"
            }
            Self::NoPiv(_) => "this card has no PIV application; Tessera works with PIV cards only",
            Self::WrongPin {
                secret: Secret::Pin, ..
            } => "check the PIN; after the last try it is blocked and only the PUK unblocks it",
            Self::WrongPin {
                secret: Secret::Puk, ..
            } => "check the PUK; when it is blocked too, only `tessera reset` (which erases the keys) helps",
            Self::Blocked(Secret::Pin) => "unblock it with the PUK: `tessera pin unblock`",
            Self::Blocked(Secret::Puk) => {
                "the PUK cannot be unblocked; `tessera reset` returns the PIV application to its factory \
                 state (every key is erased)"
            }
            Self::ManagementKey(_) => {
                "give the management key with --management-key HEX or at the prompt (--ask-management-key), \
                 or use a card whose key is PIN-protected (`tessera management-key protect`)"
            }
            Self::Declined(_) => "run again and answer yes, or pass --yes in scripts",
            Self::WindowsOnly(_) => "run it on the Windows machine where the card module is installed",
            _ => return None,
        })
    }

    /// Maps a card error; `secret` says which secret a VERIFY-type failure concerns.
    pub fn from_piv(error: PivError, secret: Secret) -> Self {
        match error {
            PivError::WrongPin { retries } => Self::WrongPin { secret, retries },
            PivError::Blocked => Self::Blocked(secret),
            PivError::SecurityStatusNotSatisfied { command } => Self::ManagementKey(format!(
                "the card refused {command}: it needs the management key (or the PIN) first"
            )),
            PivError::CardAuthenticationFailed => {
                Self::ManagementKey("the card's answer to the management-key challenge is wrong".into())
            }
            PivError::Transport(t) => Self::from_transport(t),
            PivError::Status { command, sw }
                if sw == StatusWord::INS_NOT_SUPPORTED || sw == StatusWord::FUNCTION_NOT_SUPPORTED =>
            {
                Self::Unsupported(format!("the card does not support {command} (status {sw})"))
            }
            other => Self::Card(other.to_string()),
        }
    }

    /// Maps a transport error.
    pub fn from_transport(error: TransportError) -> Self {
        match error {
            TransportError::NoCard | TransportError::CardRemoved => Self::NoCard(format!("no card: {error}")),
            other => Self::Card(format!("card communication failed: {other}")),
        }
    }

    /// Maps a PC/SC error (connecting, listing readers).
    pub fn from_pcsc(error: PcscError) -> Self {
        use tessera_pcsc::codes::{
            SCARD_E_NO_READERS_AVAILABLE, SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED,
        };
        match &error {
            PcscError::Call { code, .. }
                if *code == SCARD_E_NO_SERVICE || *code == SCARD_E_SERVICE_STOPPED =>
            {
                Self::NoService(format!("the PC/SC service is not running ({error})"))
            }
            PcscError::Call { code, .. } if *code == SCARD_E_NO_READERS_AVAILABLE => {
                Self::NoCard("no smart card reader is connected".into())
            }
            PcscError::UnknownReader { .. } | PcscError::NoCard { .. } => Self::NoCard(error.to_string()),
            PcscError::Call { .. } => match TransportError::from(error.clone()) {
                TransportError::NoCard | TransportError::CardRemoved => {
                    Self::NoCard(format!("no card in the reader ({error})"))
                }
                _ => Self::Card(error.to_string()),
            },
            _ => Self::Card(error.to_string()),
        }
    }
}

/// Result alias.
pub type CliResult<T> = Result<T, CliError>;

/// Maps card errors of an operation that involves the PIN.
pub trait PivContext<T> {
    /// Maps with PIN errors attributed to `secret`.
    fn secret(self, secret: Secret) -> CliResult<T>;
    /// Maps, PIN errors attributed to the PIN.
    fn card(self) -> CliResult<T>;
}

impl<T> PivContext<T> for Result<T, PivError> {
    fn secret(self, secret: Secret) -> CliResult<T> {
        self.map_err(|e| CliError::from_piv(e, secret))
    }

    fn card(self) -> CliResult<T> {
        self.secret(Secret::Pin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_answers_map_to_their_exit_codes() {
        let wrong = CliError::from_piv(PivError::WrongPin { retries: 1 }, Secret::Puk);
        assert_eq!(wrong.exit_code(), ExitCode::WrongPin);
        assert_eq!(wrong.to_string(), "wrong PUK: 1 try left");
        assert_eq!(
            CliError::from_piv(PivError::Blocked, Secret::Pin).exit_code(),
            ExitCode::Blocked
        );
        let refused = CliError::from_piv(
            PivError::SecurityStatusNotSatisfied { command: "PUT DATA" },
            Secret::Pin,
        );
        assert_eq!(refused.exit_code(), ExitCode::ManagementKey);
        let unsupported = CliError::from_piv(
            PivError::Status {
                command: "MOVE KEY",
                sw: StatusWord::INS_NOT_SUPPORTED,
            },
            Secret::Pin,
        );
        assert_eq!(unsupported.exit_code(), ExitCode::Unsupported);
        let service = CliError::from_pcsc(PcscError::Call {
            operation: "SCardEstablishContext",
            code: tessera_pcsc::codes::SCARD_E_NO_SERVICE,
        });
        assert_eq!(service.exit_code(), ExitCode::NoCard);
        assert!(service.hint().is_some_and(|h| h.contains("pcscd")));
        let no_reader = CliError::from_pcsc(PcscError::UnknownReader {
            name: "R".into(),
            available: vec![],
        });
        assert_eq!(no_reader.exit_code(), ExitCode::NoCard);
    }
}
