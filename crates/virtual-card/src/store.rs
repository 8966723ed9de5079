//! Where persistent state lives: in memory, or in a JSON file that is replaced atomically after every
//! command that changes it (write a temporary file in the same directory, fsync, rename, fsync the
//! directory), so a crash at any moment leaves either the previous or the new state.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::CardConfig;
use crate::error::VirtualCardError;
use crate::rng::CardRng;
use crate::state::PersistentState;

/// The backing store of a card's persistent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Nothing is written; the card is gone when dropped.
    Memory,
    /// A JSON file, replaced atomically on every change.
    File(PathBuf),
}

impl Store {
    /// Loads the card in `path`, or creates a new card there when the file does not exist.
    pub fn open_file(
        path: &Path,
        config: &CardConfig,
        rng: &mut CardRng,
    ) -> Result<(Self, PersistentState), VirtualCardError> {
        let store = Self::File(path.to_path_buf());
        match fs::read(path) {
            Ok(bytes) => Ok((store, parse_state(path, &bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let state = PersistentState::fresh(config, rng)?;
                store.save(&state)?;
                Ok((store, state))
            }
            Err(source) => Err(io_err(path, source)),
        }
    }

    /// Writes `state` (nothing for the memory store).
    pub fn save(&self, state: &PersistentState) -> Result<(), VirtualCardError> {
        let Self::File(path) = self else {
            return Ok(());
        };
        let json = zeroize::Zeroizing::new(serde_json::to_vec_pretty(state).map_err(|e| {
            VirtualCardError::StateFormat {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })?);
        write_atomically(path, &json, true).map_err(|e| io_err(path, e))
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Memory => None,
            Self::File(p) => Some(p),
        }
    }
}

fn io_err(path: &Path, source: std::io::Error) -> VirtualCardError {
    VirtualCardError::StateIo {
        path: path.display().to_string(),
        source,
    }
}

/// Parses and validates a state file's content.
pub fn parse_state(path: &Path, bytes: &[u8]) -> Result<PersistentState, VirtualCardError> {
    let format_err = |reason: String| VirtualCardError::StateFormat {
        path: path.display().to_string(),
        reason,
    };
    let state: PersistentState = serde_json::from_slice(bytes).map_err(|e| format_err(e.to_string()))?;
    state.validate().map_err(format_err)?;
    Ok(state)
}

/// Replaces `path` with `bytes` so that readers see the old or the new content, never a mix. With
/// `durable`, the data and the rename are flushed to disk before returning (crash safety); without it,
/// only atomicity towards concurrent readers is guaranteed (statistics files).
pub fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, path)?;
        if durable {
            File::open(&dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
