//! Filling the function table: only the members that exist at the negotiated version are written, so a
//! caller that asked for an older version (and allocated a smaller structure) is never overrun.

use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use super::entries::{admin, auth, containers, crypto, files, properties, unsupported};

/// Writes `version` (4–7) and its function pointers into `cd`, and clears `pvUnused3/4`.
///
/// # Safety
/// `cd` points to a writable `CARD_DATA` of at least `version`'s size.
pub(crate) unsafe fn fill(cd: *mut CARD_DATA, version: u32) {
    macro_rules! set {
        ($field:ident, $value:expr) => {{
            // SAFETY: the member exists at this version (members are grouped by version below).
            let member = unsafe { &raw mut (*cd).$field };
            // SAFETY: and `cd` is writable for the negotiated size.
            unsafe { member.write($value) }
        }};
    }
    set!(dwVersion, version);
    // Version 4 members (indices 15–40).
    set!(
        pfnCardDeleteContext,
        Some(super::entries::acquire::card_delete_context)
    );
    set!(
        pfnCardQueryCapabilities,
        Some(containers::card_query_capabilities)
    );
    set!(pfnCardDeleteContainer, Some(containers::card_delete_container));
    set!(pfnCardCreateContainer, Some(containers::card_create_container));
    set!(pfnCardGetContainerInfo, Some(containers::card_get_container_info));
    set!(pfnCardAuthenticatePin, Some(auth::card_authenticate_pin));
    set!(pfnCardGetChallenge, Some(admin::card_get_challenge));
    set!(
        pfnCardAuthenticateChallenge,
        Some(admin::card_authenticate_challenge)
    );
    set!(pfnCardUnblockPin, Some(auth::card_unblock_pin));
    set!(pfnCardChangeAuthenticator, Some(auth::card_change_authenticator));
    set!(pfnCardDeauthenticate, Some(auth::card_deauthenticate));
    set!(pfnCardCreateDirectory, Some(unsupported::card_create_directory));
    set!(pfnCardDeleteDirectory, Some(unsupported::card_delete_directory));
    set!(pvUnused3, std::ptr::null_mut());
    set!(pvUnused4, std::ptr::null_mut());
    set!(pfnCardCreateFile, Some(files::card_create_file));
    set!(pfnCardReadFile, Some(files::card_read_file));
    set!(pfnCardWriteFile, Some(files::card_write_file));
    set!(pfnCardDeleteFile, Some(files::card_delete_file));
    set!(pfnCardEnumFiles, Some(files::card_enum_files));
    set!(pfnCardGetFileInfo, Some(files::card_get_file_info));
    set!(pfnCardQueryFreeSpace, Some(files::card_query_free_space));
    set!(pfnCardQueryKeySizes, Some(containers::card_query_key_sizes));
    set!(pfnCardSignData, Some(crypto::card_sign_data));
    set!(pfnCardRSADecrypt, Some(crypto::card_rsa_decrypt));
    set!(
        pfnCardConstructDHAgreement,
        Some(crypto::card_construct_dh_agreement)
    );
    if version >= 5 {
        set!(pfnCardDeriveKey, Some(crypto::card_derive_key));
        set!(pfnCardDestroyDHAgreement, Some(crypto::card_destroy_dh_agreement));
        // pfnCspGetDHAgreement (index 43) belongs to the caller.
    }
    if version >= 6 {
        set!(pfnCardGetChallengeEx, Some(admin::card_get_challenge_ex));
        set!(pfnCardAuthenticateEx, Some(auth::card_authenticate_ex));
        set!(
            pfnCardChangeAuthenticatorEx,
            Some(auth::card_change_authenticator_ex)
        );
        set!(pfnCardDeauthenticateEx, Some(auth::card_deauthenticate_ex));
        set!(
            pfnCardGetContainerProperty,
            Some(properties::card_get_container_property)
        );
        set!(
            pfnCardSetContainerProperty,
            Some(properties::card_set_container_property)
        );
        set!(pfnCardGetProperty, Some(properties::card_get_property));
        set!(pfnCardSetProperty, Some(properties::card_set_property));
    }
    if version >= 7 {
        // pfnCspUnpadData (index 52) belongs to the caller.
        set!(pfnMDImportSessionKey, Some(unsupported::md_import_session_key));
        set!(pfnMDEncryptData, Some(unsupported::md_encrypt_data));
        set!(
            pfnCardImportSessionKey,
            Some(unsupported::card_import_session_key)
        );
        set!(
            pfnCardGetSharedKeyHandle,
            Some(unsupported::card_get_shared_key_handle)
        );
        set!(
            pfnCardGetAlgorithmProperty,
            Some(unsupported::card_get_algorithm_property)
        );
        set!(pfnCardGetKeyProperty, Some(unsupported::card_get_key_property));
        set!(pfnCardSetKeyProperty, Some(unsupported::card_set_key_property));
        set!(pfnCardDestroyKey, Some(unsupported::card_destroy_key));
        set!(
            pfnCardProcessEncryptedData,
            Some(unsupported::card_process_encrypted_data)
        );
        set!(
            pfnCardCreateContainerEx,
            Some(containers::card_create_container_ex)
        );
    }
}
