//! The card module under test: a library loaded by path (`CardAcquireContext` looked up by name, as the
//! CSP does), or Tessera linked in (`--builtin`), whose Rust-only constructor fills the same function
//! table with an in-process card behind it.

use std::path::Path;

use tessera_piv::Transport;
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use super::card_data::CardDataBuffer;

type AcquireFn = unsafe extern "system" fn(*mut CARD_DATA, u32) -> u32;

enum Kind {
    Library {
        /// Kept loaded for as long as the module is used; `acquire` points into it.
        _library: libloading::Library,
        acquire: AcquireFn,
    },
    /// Linked in; `None` reads the write policy from the settings, as `CardAcquireContext` does.
    #[cfg(feature = "builtin")]
    Builtin(Option<tessera_minidriver::WritePolicy>),
}

/// A card module.
pub struct Module {
    kind: Kind,
    description: String,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl Module {
    /// Loads the library at `path` and looks up `CardAcquireContext`.
    pub fn load(path: &Path) -> Result<Self, String> {
        // SAFETY: loading runs the library's initialisers; the user named this file as the card module
        // to test, which is exactly what the CSP does with the registered DLL.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        // SAFETY: the symbol is the interface's `CardAcquireContext`, whose type is fixed by the spec.
        let acquire: AcquireFn = unsafe { library.get::<AcquireFn>(b"CardAcquireContext\0") }
            .map(|symbol| *symbol)
            .map_err(|e| format!("{} has no CardAcquireContext: {e}", path.display()))?;
        Ok(Self {
            kind: Kind::Library {
                _library: library,
                acquire,
            },
            description: path.display().to_string(),
        })
    }

    /// Tessera's module, linked in.
    #[cfg(feature = "builtin")]
    pub fn builtin() -> Self {
        Self {
            kind: Kind::Builtin(None),
            description: "tessera-minidriver (built in)".into(),
        }
    }

    /// Tessera's module, linked in, its contexts acquired with `policy` instead of the settings.
    #[cfg(feature = "builtin")]
    pub fn builtin_with_policy(policy: tessera_minidriver::WritePolicy) -> Self {
        Self {
            kind: Kind::Builtin(Some(policy)),
            description: "tessera-minidriver (built in)".into(),
        }
    }

    /// What is being tested.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// True for the linked-in module (which needs a transport for every context).
    pub fn is_builtin(&self) -> bool {
        !matches!(self.kind, Kind::Library { .. })
    }

    /// Calls `CardAcquireContext(NULL, flags)`.
    pub fn acquire_null(&self, flags: u32) -> u32 {
        match &self.kind {
            // SAFETY: a NULL CARD_DATA is a documented invalid argument, which the module must refuse.
            Kind::Library { acquire, .. } => unsafe { acquire(std::ptr::null_mut(), flags) },
            #[cfg(feature = "builtin")]
            // SAFETY: as above.
            Kind::Builtin(_) => unsafe {
                tessera_minidriver::acquire_context_with_transport(
                    std::ptr::null_mut(),
                    flags,
                    Box::new(NoCard),
                )
            },
        }
    }

    /// Calls `CardAcquireContext` on `cd`. The built-in module reaches the card through `transport`;
    /// a loaded library uses `hScard` and ignores it.
    pub(crate) fn acquire(
        &self,
        cd: &mut CardDataBuffer,
        flags: u32,
        transport: Option<Box<dyn Transport + Send>>,
    ) -> u32 {
        match &self.kind {
            Kind::Library { acquire, .. } => {
                drop(transport);
                // SAFETY: `cd` points to a CARD_DATA buffer of the size its dwVersion announces, filled
                // with pointers that stay valid for the context's life (the `Context` owns them).
                unsafe { acquire(cd.as_ptr(), flags) }
            }
            #[cfg(feature = "builtin")]
            Kind::Builtin(policy) => {
                let transport = transport.unwrap_or_else(|| Box::new(NoCard));
                match policy {
                    // SAFETY: as above.
                    None => unsafe {
                        tessera_minidriver::acquire_context_with_transport(cd.as_ptr(), flags, transport)
                    },
                    // SAFETY: as above.
                    Some(policy) => unsafe {
                        tessera_minidriver::acquire_context_with_policy(
                            cd.as_ptr(),
                            flags,
                            transport,
                            *policy,
                        )
                    },
                }
            }
        }
    }
}

/// The transport for a built-in context acquired without a card.
#[cfg(feature = "builtin")]
struct NoCard;

#[cfg(feature = "builtin")]
impl Transport for NoCard {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, tessera_piv::TransportError> {
        Err(tessera_piv::TransportError::NoCard)
    }
}
