//! PINs and the administrator's challenge (spec 7.07 §4.2): `CardAuthenticatePin`, `CardAuthenticateEx`,
//! `CardDeauthenticate(Ex)`, `CardGetChallenge(Ex)`, `CardAuthenticateChallenge`, `CardUnblockPin`,
//! `CardChangeAuthenticator(Ex)`.

use windows_sys::Win32::Security::Cryptography::*;

use super::Calls;
use super::args::*;
use super::reply::*;

impl Calls<'_> {
    /// `CardAuthenticatePin`: the attempts left, when the pointer was given and the module wrote it.
    pub fn authenticate_pin(
        &self,
        user: Option<&str>,
        pin: Option<&[u8]>,
        claimed_len: Option<u32>,
        want_attempts: bool,
    ) -> Reply<Option<u32>> {
        let f = entry!(self, pfnCardAuthenticatePin, PFN_CARD_AUTHENTICATE_PIN);
        let u = WideArg::new(user);
        let p = InArg::new(pin, claimed_len);
        let mut attempts = OutVal::attempts(want_attempts);
        // SAFETY: strings and buffers are NULL or harness memory.
        let code = unsafe { f(self.cd(), u.ptr(), p.ptr(), p.len, attempts.ptr()) };
        attempts.reply(code)
    }

    /// `CardAuthenticateEx`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per parameter of the C entry point"
    )]
    pub fn authenticate_ex(
        &self,
        pin_id: u32,
        flags: u32,
        pin: Option<&[u8]>,
        claimed_len: Option<u32>,
        want_session_pin: bool,
        want_attempts: bool,
    ) -> Reply<AuthenticateOut> {
        let f = entry!(self, pfnCardAuthenticateEx, PFN_CARD_AUTHENTICATE_EX);
        let p = InArg::new(pin, claimed_len);
        let mut session = OutVal::new(want_session_pin, std::ptr::null_mut::<u8>());
        let mut session_len = OutVal::new(want_session_pin, 0u32);
        let mut attempts = OutVal::attempts(want_attempts);
        // SAFETY: buffers and out-pointers are NULL or harness memory.
        let code = unsafe {
            f(
                self.cd(),
                pin_id,
                flags,
                p.ptr(),
                p.len,
                session.ptr(),
                session_len.ptr(),
                attempts.ptr(),
            )
        };
        let mut r = Reply::new(code);
        let session_pin = if !session.val.is_null() || code == 0 && want_session_pin && session_len.val != 0 {
            collect(
                code,
                session.val,
                session_len.val as usize,
                "session PIN",
                &mut r.problems,
            )
        } else {
            None
        };
        r.value = Some(AuthenticateOut {
            attempts: attempts.written(),
            session_pin,
        });
        r
    }

    /// `CardDeauthenticate`.
    pub fn deauthenticate(&self, user: Option<&str>, flags: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDeauthenticate, PFN_CARD_DEAUTHENTICATE);
        let u = WideArg::new(user);
        // SAFETY: the string is NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), u.ptr(), flags) })
    }

    /// `CardDeauthenticateEx`.
    pub fn deauthenticate_ex(&self, pin_set: u32, flags: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDeauthenticateEx, PFN_CARD_DEAUTHENTICATE_EX);
        // SAFETY: no pointers besides pCardData.
        Reply::new(unsafe { f(self.cd(), pin_set, flags) })
    }

    /// `CardGetChallenge`.
    pub fn get_challenge(&self, null_data: bool, null_len: bool) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardGetChallenge, PFN_CARD_GET_CHALLENGE);
        let mut data = OutVal::new(!null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!null_len, 0u32);
        // SAFETY: out-pointers are NULL or harness memory.
        let code = unsafe { f(self.cd(), data.ptr(), len.ptr()) };
        let mut r = Reply::new(code);
        r.value = collect(code, data.val, len.val as usize, "challenge", &mut r.problems);
        r
    }

    /// `CardGetChallengeEx`.
    pub fn get_challenge_ex(
        &self,
        pin_id: u32,
        flags: u32,
        null_data: bool,
        null_len: bool,
    ) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardGetChallengeEx, PFN_CARD_GET_CHALLENGE_EX);
        let mut data = OutVal::new(!null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!null_len, 0u32);
        // SAFETY: out-pointers are NULL or harness memory.
        let code = unsafe { f(self.cd(), pin_id, data.ptr(), len.ptr(), flags) };
        let mut r = Reply::new(code);
        r.value = collect(code, data.val, len.val as usize, "challenge", &mut r.problems);
        r
    }

    /// `CardAuthenticateChallenge`.
    pub fn authenticate_challenge(&self, response: Option<&[u8]>, want_attempts: bool) -> Reply<Option<u32>> {
        let f = entry!(
            self,
            pfnCardAuthenticateChallenge,
            PFN_CARD_AUTHENTICATE_CHALLENGE
        );
        let d = InArg::new(response, None);
        let mut attempts = OutVal::attempts(want_attempts);
        // SAFETY: buffers are NULL or harness memory.
        let code = unsafe { f(self.cd(), d.ptr(), d.len, attempts.ptr()) };
        attempts.reply(code)
    }

    /// `CardUnblockPin`.
    pub fn unblock_pin(
        &self,
        user: Option<&str>,
        auth: Option<&[u8]>,
        new_pin: Option<&[u8]>,
        retries: u32,
        flags: u32,
    ) -> Reply<()> {
        let f = entry!(self, pfnCardUnblockPin, PFN_CARD_UNBLOCK_PIN);
        let u = WideArg::new(user);
        let (a, n) = (InArg::new(auth, None), InArg::new(new_pin, None));
        // SAFETY: strings and buffers are NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), u.ptr(), a.ptr(), a.len, n.ptr(), n.len, retries, flags) })
    }

    /// `CardChangeAuthenticator`.
    pub fn change_authenticator(
        &self,
        user: Option<&str>,
        current: Option<&[u8]>,
        new: Option<&[u8]>,
        retries: u32,
        flags: u32,
    ) -> Reply<Option<u32>> {
        let f = entry!(self, pfnCardChangeAuthenticator, PFN_CARD_CHANGE_AUTHENTICATOR);
        let u = WideArg::new(user);
        let (c, n) = (InArg::new(current, None), InArg::new(new, None));
        let mut attempts = OutVal::attempts(true);
        // SAFETY: strings and buffers are NULL or harness memory.
        let code = unsafe {
            f(
                self.cd(),
                u.ptr(),
                c.ptr(),
                c.len,
                n.ptr(),
                n.len,
                retries,
                flags,
                attempts.ptr(),
            )
        };
        attempts.reply(code)
    }

    /// `CardChangeAuthenticatorEx`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per parameter of the C entry point"
    )]
    pub fn change_authenticator_ex(
        &self,
        flags: u32,
        auth_id: u32,
        auth: Option<&[u8]>,
        target_id: u32,
        target: Option<&[u8]>,
        retries: u32,
    ) -> Reply<Option<u32>> {
        let f = entry!(
            self,
            pfnCardChangeAuthenticatorEx,
            PFN_CARD_CHANGE_AUTHENTICATOR_EX
        );
        let (a, t) = (InArg::new(auth, None), InArg::new(target, None));
        let mut attempts = OutVal::attempts(true);
        // SAFETY: buffers are NULL or harness memory.
        let code = unsafe {
            f(
                self.cd(),
                flags,
                auth_id,
                a.ptr(),
                a.len,
                target_id,
                t.ptr(),
                t.len,
                retries,
                attempts.ptr(),
            )
        };
        attempts.reply(code)
    }
}
