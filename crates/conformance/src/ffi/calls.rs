//! An acquired context and one safe wrapper per function-table entry, by concern: the context and its
//! `CARD_DATA` (`context`), argument marshalling (`args`), what calls return (`reply`), and the wrappers
//! of each group of entry points (`files`, `containers`, `auth`, `properties`, `crypto`,
//! `key_injection`).
//!
//! Every wrapper passes the module only NULL or memory the harness owns for the call, initialises
//! out-pointers to NULL/0, and takes back returned buffers through [`alloc::take_buffer`](crate::ffi::alloc::take_buffer) (copy, then
//! `pfnCspFree`, as the CSP does). What looks wrong at the ABI level (a buffer returned along with an
//! error, bytes written past a caller buffer, a length larger than its block) is reported in
//! [`Reply::problems`].

use std::mem::offset_of;

use windows_sys::Win32::Security::Cryptography::{CARD_DATA, PFN_CARD_DELETE_CONTEXT};

/// The code a wrapper reports when the entry is NULL in the function table (or beyond the negotiated
/// version). Not a Windows code.
pub const NOT_IN_TABLE: u32 = 0xDEAD_0001;

/// Looks up an entry of the function table, or returns [`Reply::missing`] from the wrapper.
macro_rules! entry {
    ($self:ident, $member:ident, $ty:ty) => {
        match $self
            .ctx
            .member::<<$ty as $crate::ffi::calls::IntoInner>::Inner>(::std::mem::offset_of!(
                ::windows_sys::Win32::Security::Cryptography::CARD_DATA,
                $member
            )) {
            Some(f) => f,
            None => return $crate::ffi::calls::Reply::missing(),
        }
    };
}

/// The function type inside a `PFN_*` option.
pub trait IntoInner {
    /// The `unsafe extern "system" fn`.
    type Inner: Copy;
}
impl<F: Copy> IntoInner for Option<F> {
    type Inner = F;
}

// Declared after `entry!`, which they use.
mod args;
mod auth;
mod containers;
mod context;
mod crypto;
mod files;
mod key_injection;
mod properties;
mod reply;

use args::{FILL, TAIL};
pub use args::{FileArgs, NewContainer, StructArg};
pub use context::{AcquireSpec, Context, NullMembers};
pub use crypto::*;
use reply::collect;
pub use reply::{AuthenticateOut, ContainerInfoOut, PropertyValue, Reply};

/// The calls of one context, with `pCardData` either the context or NULL.
pub struct Calls<'a> {
    ctx: &'a Context,
    cd: *mut CARD_DATA,
}

impl Calls<'_> {
    fn cd(&self) -> *const CARD_DATA {
        self.cd
    }

    /// `CardDeleteContext`.
    pub fn delete_context(&self) -> u32 {
        let Some(f) = self
            .ctx
            .member::<<PFN_CARD_DELETE_CONTEXT as IntoInner>::Inner>(offset_of!(
                CARD_DATA,
                pfnCardDeleteContext
            ))
        else {
            return NOT_IN_TABLE;
        };
        // SAFETY: the context's own CARD_DATA (or NULL); the module owns what it points to.
        unsafe { f(self.cd) }
    }
}
