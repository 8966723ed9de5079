//! Redaction of secrets in APDU traces: PINs, PUKs, management keys, imported keys, management-key
//! authentication exchanges, the PIN-protected object 5FC109, and every private-key result (a decrypted
//! secret or ECDH value). Works on raw bytes because transports see nothing else.

use crate::commands::ins;
use crate::hex::HexBytes;

/// What a trace line shows instead of secret bytes.
pub const REDACTED: &str = "<redacted>";

/// Remembers enough of the conversation to redact chained blocks and GET RESPONSE continuations.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// The previous command was a chained block whose data was secret.
    chain_secret: bool,
    /// Responses are secret until a command other than GET RESPONSE is sent.
    response_secret: bool,
}

impl Redactor {
    /// A fresh redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides whether `apdu`'s data field is secret, updating the state; returns the printable form.
    pub fn command(&mut self, apdu: &[u8]) -> String {
        let Some(&[cla, ins_byte, _p1, p2]) = apdu.first_chunk::<4>() else {
            return HexBytes(apdu).to_string();
        };
        let data = apdu.get(4..).unwrap_or(&[]);
        let secret_data = self.chain_secret
            || matches!(
                ins_byte,
                ins::VERIFY
                    | ins::CHANGE_REFERENCE_DATA
                    | ins::RESET_RETRY_COUNTER
                    | ins::SET_MANAGEMENT_KEY
                    | ins::IMPORT_ASYMMETRIC_KEY
            )
            || (ins_byte == ins::GENERAL_AUTHENTICATE && p2 == 0x9B)
            || (matches!(ins_byte, ins::PUT_DATA) && names_protected_object(data));
        let chained = cla & crate::apdu::CLA_CHAINING != 0;
        self.chain_secret = chained && secret_data;
        if ins_byte != ins::GET_RESPONSE {
            self.response_secret = ins_byte == ins::GENERAL_AUTHENTICATE
                || (ins_byte == ins::GET_DATA && names_protected_object(data));
        }
        if secret_data && apdu.len() > 4 {
            format!("{} {} ({} bytes)", HexBytes(&apdu[..4]), REDACTED, apdu.len() - 4)
        } else {
            HexBytes(apdu).to_string()
        }
    }

    /// The printable form of a response to the last command.
    pub fn response(&self, response: &[u8]) -> String {
        match response.split_last_chunk::<2>() {
            Some((data, sw)) if self.response_secret && !data.is_empty() => {
                format!("{} ({} bytes) {}", REDACTED, data.len(), HexBytes(sw))
            }
            _ => HexBytes(response).to_string(),
        }
    }
}

/// True when a GET/PUT DATA data field names 5FC109 (where YubiKeys keep the protected management key).
fn names_protected_object(data: &[u8]) -> bool {
    // Lc (one byte, or three when extended), then `5C 03 5F C1 09`.
    data.windows(5)
        .take(4)
        .any(|w| w == [0x5C, 0x03, 0x5F, 0xC1, 0x09])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_keys_never_appear() {
        let mut r = Redactor::new();
        let verify = [
            0x00, 0x20, 0x00, 0x80, 0x08, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF,
        ];
        let line = r.command(&verify);
        assert_eq!(line, "00200080 <redacted> (9 bytes)");
        assert_eq!(r.command(&[0x00, 0x20, 0x00, 0x80]), "00200080");
        let gen_auth = [0x00, 0x87, 0x07, 0x9A, 0x03, 0x7C, 0x01, 0x00];
        assert!(!r.command(&gen_auth).contains(REDACTED));
        assert_eq!(r.response(&[0xDE, 0xAD, 0x61, 0x10]), "<redacted> (2 bytes) 6110");
        r.command(&[0x00, 0xC0, 0x00, 0x00, 0x10]);
        assert!(r.response(&[0xBE, 0xEF, 0x90, 0x00]).starts_with(REDACTED));
        r.command(&[0x00, 0xFD, 0x00, 0x00]);
        assert_eq!(r.response(&[5, 7, 2, 0x90, 0x00]), "0507029000");
    }

    #[test]
    fn chained_secret_blocks_stay_redacted() {
        let mut r = Redactor::new();
        let mut first = vec![0x10, 0xDB, 0x3F, 0xFF, 0xFF, 0x5C, 0x03, 0x5F, 0xC1, 0x09];
        first.extend(std::iter::repeat_n(0x42, 250));
        assert!(r.command(&first).contains(REDACTED));
        assert!(
            r.command(&[0x00, 0xDB, 0x3F, 0xFF, 0x02, 0x42, 0x42])
                .contains(REDACTED)
        );
        assert!(
            !r.command(&[0x00, 0xDB, 0x3F, 0xFF, 0x02, 0x42, 0x42])
                .contains(REDACTED)
        );
        r.command(&[0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x09, 0x00]);
        assert!(r.response(&[0x53, 0x00, 0x90, 0x00]).contains(REDACTED));
    }
}
