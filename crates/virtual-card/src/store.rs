//! Where persistent state lives: in memory, or in a JSON file that is replaced atomically after every
//! command that changes it (write a temporary file in the same directory, fsync, rename, fsync the
//! directory), so a crash at any moment leaves either the previous or the new state.
//!
//! The file holds the PIN, the PUK, the management key and the private keys: it is created readable by
//! its owner only, its bytes in memory are zeroized, and the temporary file has one fixed name (so a
//! crash leaves at most one behind, which the next save replaces and the next open removes).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

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
        // A temporary file left by a crash holds a copy of the card's secrets: it goes now.
        let _ = fs::remove_file(temporary_path(path));
        match fs::read(path).map(Zeroizing::new) {
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
        #[cfg(test)]
        if faults::save_fails() {
            return Err(io_err(path, std::io::Error::other("injected save failure")));
        }
        let json = to_json(state).map_err(|e| VirtualCardError::StateFormat {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
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

/// The state as pretty JSON in one buffer of its final size (measured by a first pass): the text holds
/// every secret of the card, and a buffer that grows leaves unwiped copies behind in freed memory.
fn to_json(state: &PersistentState) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    let mut size = ByteCount(0);
    serde_json::to_writer_pretty(&mut size, state)?;
    let mut json = Zeroizing::new(Vec::with_capacity(size.0));
    serde_json::to_writer_pretty(&mut *json, state)?;
    Ok(json)
}

/// A writer that only counts.
struct ByteCount(usize);

impl Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

/// The temporary file [`write_atomically`] writes before renaming it to `path`: `.<name>.tmp` beside it.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Replaces `path` with `bytes` so that readers see the old or the new content, never a mix. The file is
/// readable and writable by its owner only (on Unix). With `durable`, the data and the rename are
/// flushed to disk before returning (crash safety); without it, only atomicity towards concurrent
/// readers is guaranteed (statistics files).
pub fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let tmp = temporary_path(path);
    let result = (|| {
        // A stale temporary file may have other permissions, which opening it would keep.
        let _ = fs::remove_file(&tmp);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    if durable {
        sync_directory(path);
    }
    Ok(())
}

/// Makes the rename durable. Best effort: once the rename succeeded the file holds the new content, so
/// a failure here must not be reported as a failed write (the caller would roll back a change that
/// is already in the file).
fn sync_directory(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Unit-test fault injection: failures at chosen saves of the current thread, for the paths a missing
/// directory cannot reach (a save that fails after an earlier one in the same command succeeded).
#[cfg(test)]
pub(crate) mod faults {
    use std::cell::Cell;

    thread_local! {
        static SUCCESSES_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Lets `successes` more saves of this thread succeed and fails every save after them; `None`
    /// stops injecting.
    pub(crate) fn fail_after(successes: Option<usize>) {
        SUCCESSES_LEFT.with(|left| left.set(successes));
    }

    pub(super) fn save_fails() -> bool {
        SUCCESSES_LEFT.with(|left| match left.get() {
            None => false,
            Some(0) => true,
            Some(n) => {
                left.set(Some(n - 1));
                false
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_buffer_never_grows() {
        let state = PersistentState::fresh(&CardConfig::seeded(3), &mut CardRng::seeded(3)).unwrap();
        let json = to_json(&state).unwrap();
        assert_eq!(json.capacity(), json.len());
        assert_eq!(*json, serde_json::to_vec_pretty(&state).unwrap());
    }

    #[test]
    fn the_temporary_file_sits_beside_the_state_file() {
        assert_eq!(
            temporary_path(Path::new("/a/b/card.json")),
            Path::new("/a/b/.card.json.tmp")
        );
        assert_eq!(
            temporary_path(Path::new("card.json")),
            Path::new(".card.json.tmp")
        );
    }
}
