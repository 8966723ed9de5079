//! Card state, split as a real card splits it: persistent (survives power loss, lives in the store)
//! and volatile (lost on reset, SELECT clears the security part of it).

mod fresh;
mod persistent;
mod volatile;

pub use fresh::{DISCOVERY_OBJECT, ccc_template, chuid_template};
pub use persistent::{
    ATTESTATION_OBJECT, Credential, DEFAULT_RETRIES, FORMAT_VERSION, KeyOrigin, ManagementKeyState,
    ObjectValue, PersistentState, StoredKey,
};
pub use volatile::{PendingAuth, Selection, VolatileState};
