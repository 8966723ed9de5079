//! The Rust-only constructor for in-process use (tests, the conformance runner's `--builtin` mode, the
//! demo): the same checks and the same function table as `CardAcquireContext`, but the card is reached
//! through an injected transport instead of `SCardTransmit` on `hScard`. Nothing here is exported from
//! the DLL.

use tessera_piv::Transport;
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use super::boundary::guard;
use super::entries::acquire::{LinkSource, acquire};
use crate::policy::WritePolicy;

/// Like `CardAcquireContext`, with the card behind `transport`. `hSCardCtx`/`hScard` must still be
/// non-zero (any value): the same validation runs. The write policy comes from the same settings as the
/// DLL's ([`WritePolicy::from_settings`]).
///
/// # Safety
/// As `CardAcquireContext`: `card_data` is NULL or a properly sized, caller-filled `CARD_DATA`.
pub unsafe fn acquire_context_with_transport(
    card_data: *mut CARD_DATA,
    flags: u32,
    transport: Box<dyn Transport + Send>,
) -> u32 {
    let policy = WritePolicy::from_settings(crate::abi::registry_setting);
    // SAFETY: forwarded contract.
    unsafe { acquire_context_with_policy(card_data, flags, transport, policy) }
}

/// Like [`acquire_context_with_transport`], with the write policy given (tests choose theirs).
///
/// # Safety
/// As `CardAcquireContext`: `card_data` is NULL or a properly sized, caller-filled `CARD_DATA`.
pub unsafe fn acquire_context_with_policy(
    card_data: *mut CARD_DATA,
    flags: u32,
    transport: Box<dyn Transport + Send>,
    policy: WritePolicy,
) -> u32 {
    // SAFETY: forwarded contract.
    guard("CardAcquireContext(builtin)", || unsafe {
        acquire(card_data, flags, LinkSource::Injected(transport), policy)
    })
}
