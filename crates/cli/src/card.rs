//! Which card a command works on: a virtual card kept in a file (`--virtual FILE`), the card in a named
//! reader (`--reader NAME`), or the only reader that holds a PIV card. Every connection is counted, so
//! commands can say how many APDUs they cost.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;

use tessera_pcsc::{Disposition, OwnedCard};
use tessera_piv::transport::{Counters, Counting};
use tessera_piv::{Session, Transport, TransportError};
use tessera_virtual_card::{CardConfig, SharedCard, VirtualCard};

use crate::errors::{CliError, CliResult};

/// A PIV session over a counted connection.
pub type CardSession = Session<Box<dyn Transport + Send>>;

/// Where the card is, as the command line says.
#[derive(Debug, Clone)]
pub enum CardSource {
    /// A virtual card in this file.
    Virtual(PathBuf),
    /// The card in this reader.
    Reader(String),
    /// The only reader with a PIV card.
    Auto,
}

impl CardSource {
    /// From the `--virtual`/`--reader` options.
    pub fn from_options(virtual_file: Option<&Path>, reader: Option<&str>) -> Self {
        match (virtual_file, reader) {
            (Some(file), _) => Self::Virtual(file.to_path_buf()),
            (None, Some(reader)) => Self::Reader(reader.to_owned()),
            (None, None) => Self::Auto,
        }
    }
}

enum Kind {
    Virtual { card: SharedCard },
    Reader { name: String },
}

/// An open card.
pub struct Card {
    kind: Kind,
    counters: Arc<Counters>,
    progress: Arc<Mutex<Option<ProgressBar>>>,
    atr: Vec<u8>,
    label: String,
}

impl Card {
    /// Opens the card `source` names. A virtual card file must exist (`create_missing` makes a new
    /// card there instead).
    pub fn open(source: &CardSource, create_missing: bool) -> CliResult<Self> {
        match source {
            CardSource::Virtual(path) => Self::virtual_file(path, create_missing),
            CardSource::Reader(name) => Self::reader(name),
            CardSource::Auto => Self::reader(&only_piv_reader()?),
        }
    }

    /// A virtual card stored in `path`.
    pub fn virtual_file(path: &Path, create_missing: bool) -> CliResult<Self> {
        if !create_missing && !path.exists() {
            return Err(CliError::NoCard(format!(
                "there is no virtual card in {} (make one with `tessera virtual-card create {0}` or \
                 `tessera demo --virtual {0}`)",
                path.display()
            )));
        }
        let card = VirtualCard::open(path, CardConfig::default())
            .map_err(|e| CliError::Input(format!("virtual card {}: {e}", path.display())))?;
        Ok(Self::from_virtual(
            card,
            format!("virtual card {}", path.display()),
        ))
    }

    /// A virtual card that lives in memory only.
    pub fn virtual_in_memory() -> CliResult<Self> {
        let card = VirtualCard::new(CardConfig::default())
            .map_err(|e| CliError::Card(format!("creating the virtual card: {e}")))?;
        Ok(Self::from_virtual(card, "embedded virtual card".into()))
    }

    fn from_virtual(card: VirtualCard, label: String) -> Self {
        let atr = card.atr().to_vec();
        Self {
            kind: Kind::Virtual {
                card: SharedCard::new(card),
            },
            counters: Arc::default(),
            progress: Arc::default(),
            atr,
            label,
        }
    }

    /// The card in reader `name`.
    pub fn reader(name: &str) -> CliResult<Self> {
        let card = OwnedCard::connect(name).map_err(CliError::from_pcsc)?;
        let atr = card.atr().to_vec();
        let _ = card.disconnect(Disposition::LeaveCard);
        Ok(Self {
            kind: Kind::Reader {
                name: name.to_owned(),
            },
            counters: Arc::default(),
            progress: Arc::default(),
            atr,
            label: format!("reader {name}"),
        })
    }

    /// A new counted connection.
    pub fn transport(&self) -> CliResult<Box<dyn Transport + Send>> {
        let inner: Box<dyn Transport + Send> = match &self.kind {
            Kind::Virtual { card } => Box::new(card.connect()),
            Kind::Reader { name } => {
                let mut card = OwnedCard::connect(name).map_err(CliError::from_pcsc)?;
                // Leave the card as it is: a reset on drop would log every other connection out.
                card.set_disposition_on_drop(Disposition::LeaveCard);
                Box::new(card)
            }
        };
        let observed = Observed {
            inner,
            progress: Arc::clone(&self.progress),
        };
        Ok(Box::new(Counting::with_counters(
            observed,
            Arc::clone(&self.counters),
        )))
    }

    /// Advances `bar` by one for every APDU on any connection to this card until `None` is set.
    pub fn set_progress(&self, bar: Option<ProgressBar>) {
        if let Ok(mut slot) = self.progress.lock() {
            *slot = bar;
        }
    }

    /// A PIV session with the application selected; a card without PIV is [`CliError::NoPiv`].
    pub fn session(&self) -> CliResult<CardSession> {
        let mut session = Session::new(self.transport()?);
        select(&mut session, &self.label)?;
        Ok(session)
    }

    /// APDUs sent to the card through this value's connections so far.
    pub fn apdus(&self) -> u64 {
        self.counters.snapshot().apdus
    }

    /// The card's ATR.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// "virtual card FILE" or "reader NAME".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The reader's name, for a card in a reader.
    pub fn reader_name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Reader { name } => Some(name),
            Kind::Virtual { .. } => None,
        }
    }

    /// True for a virtual card.
    pub fn is_virtual(&self) -> bool {
        matches!(self.kind, Kind::Virtual { .. })
    }
}

/// SELECT PIV, with a failure that is not a transport problem reported as "no PIV application".
pub fn select<T: Transport>(session: &mut Session<T>, label: &str) -> CliResult<()> {
    match session.select() {
        Ok(_) => Ok(()),
        Err(tessera_piv::PivError::Transport(t)) => Err(CliError::from_transport(t)),
        Err(e) => Err(CliError::NoPiv(format!(
            "the card in {label} has no PIV application ({e})"
        ))),
    }
}

/// The name of the only reader whose card has a PIV application.
fn only_piv_reader() -> CliResult<String> {
    let readers = OwnedCard::list_readers().map_err(CliError::from_pcsc)?;
    if readers.is_empty() {
        return Err(CliError::NoCard("no smart card reader is connected".into()));
    }
    let mut with_card = Vec::new();
    let mut with_piv = Vec::new();
    for reader in &readers {
        let Ok(mut card) = OwnedCard::connect(reader) else {
            continue;
        };
        card.set_disposition_on_drop(Disposition::LeaveCard);
        with_card.push(reader.clone());
        let mut session = Session::new(card);
        if session.select().is_ok() {
            with_piv.push(reader.clone());
        }
    }
    match with_piv.as_slice() {
        [one] => Ok(one.clone()),
        [] if with_card.is_empty() => Err(CliError::NoCard(format!(
            "no card in any reader (readers: {})",
            readers.join(", ")
        ))),
        [] => Err(CliError::NoPiv(format!(
            "no card with a PIV application (cards in: {})",
            with_card.join(", ")
        ))),
        several => Err(CliError::Input(format!(
            "several readers hold a PIV card ({}): choose one with --reader NAME",
            several.join(", ")
        ))),
    }
}

/// Reports each APDU to the progress bar set with [`Card::set_progress`].
struct Observed {
    inner: Box<dyn Transport + Send>,
    progress: Arc<Mutex<Option<ProgressBar>>>,
}

impl Transport for Observed {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.transmit(apdu);
        if let Ok(bar) = self.progress.lock()
            && let Some(bar) = bar.as_ref()
        {
            bar.inc(1);
        }
        response
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ExitCode;
    use tessera_piv::transport::Scripted;

    #[test]
    fn a_card_without_piv_is_no_piv_exit_4() {
        // SELECT of the PIV AID answered "file not found", as a card without the application answers.
        let card = Scripted::new().expect_any(vec![0x6A, 0x82]);
        let mut session = Session::new(card);
        let e = select(&mut session, "reader R").unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::NoPiv);
        assert!(e.to_string().contains("has no PIV application"), "{e}");
    }

    #[test]
    fn a_pulled_card_is_no_card_exit_3() {
        let card = Scripted::new().expect_fail(
            tessera_piv::commands::select(&tessera_piv::commands::PIV_AID)
                .to_short()
                .unwrap_or_default(),
            TransportError::CardRemoved,
        );
        let mut session = Session::new(card);
        let e = select(&mut session, "reader R").unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::NoCard);
    }
}
