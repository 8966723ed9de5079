//! SELECT and the Yubico informational and configuration commands.

use tessera_piv::objects::ApplicationProperties;
use tessera_piv::{ManagementAlgorithm, StatusWord, TouchPolicy};

use super::Engine;
use crate::command::{Reply, SelectTarget};
use crate::keys::SUPPORTED_ALGORITHMS;
use crate::secret::Secret;
use crate::state::Selection;

/// The application property template SELECT answers: YubiKey's PIX and authority, plus (unlike a real
/// YubiKey) the list of algorithms the card supports.
pub fn application_properties() -> ApplicationProperties {
    let mut algorithms = vec![
        ManagementAlgorithm::Tdes.id(),
        ManagementAlgorithm::Aes128.id(),
        ManagementAlgorithm::Aes192.id(),
        ManagementAlgorithm::Aes256.id(),
    ];
    algorithms.extend_from_slice(&SUPPORTED_ALGORITHMS);
    ApplicationProperties {
        application_id: vec![0x00, 0x00, 0x10, 0x00, 0x01, 0x00],
        allocation_authority: Some(vec![0xA0, 0x00, 0x00, 0x03, 0x08]),
        label: None,
        url: None,
        algorithms,
    }
}

impl Engine {
    pub(super) fn select(&mut self, target: SelectTarget) -> Reply {
        match target {
            SelectTarget::Piv => {
                self.volatile.clear_security();
                self.volatile.selection = Selection::Piv;
                application_properties()
                    .encode()
                    .map_err(|_| StatusWord::UNKNOWN_ERROR)
            }
            SelectTarget::YubicoManagement => {
                // Selecting another applet of the token deselects PIV and so logs it out (libykpiv relies
                // on this). The management applet answers with its version string.
                self.volatile.clear_security();
                self.volatile.selection = Selection::Other;
                let [major, minor, patch] = self.persistent.version;
                Ok(format!("{major}.{minor}.{patch}").into_bytes())
            }
            SelectTarget::Unknown => Err(StatusWord::NOT_FOUND),
        }
    }

    pub(super) fn set_management_key(
        &mut self,
        algorithm: ManagementAlgorithm,
        key: Secret,
        touch: TouchPolicy,
    ) -> Reply {
        self.require_management()?;
        let management = &mut self.persistent_mut().management;
        management.algorithm = algorithm.id().0;
        management.key = key;
        management.touch = touch;
        Ok(Vec::new())
    }
}
