//! Everything that touches the C ABI: the CSP callbacks the harness hands to the module (allocator,
//! data cache, padding), the `CARD_DATA` buffer, loading a module and calling its function table. (The
//! real `hScard` the module gets comes from `tessera-pcsc`'s `RawContext`, the workspace's one winscard
//! binding.) This module tree holds every `unsafe` block of the crate; each one says why it is sound.
//! The rest of the crate sees only safe functions.
//!
//! The soundness argument the whole tree rests on: the harness passes the module only NULL or pointers to
//! memory it owns for the duration of the call, and it dereferences a pointer the module hands back only
//! after checking that the pointer is a live block of its own allocator ([`alloc::take_buffer`]).
#![allow(
    unsafe_code,
    reason = "the harness's side of the C ABI; every block says why it is sound"
)]

pub mod alloc;
pub mod cache;
pub mod calls;
pub mod card_data;
pub mod module;
pub mod padding;
pub mod wide;
