//! The administrator's settings for what the module may change on a card on its own when Windows writes
//! to it. They are read when a context is acquired, the way the log settings are: the environment first
//! (any platform), then on Windows the registry under `HKLM\SOFTWARE\Tessera\Minidriver` (REG_SZ), which
//! reaches processes whose environment cannot be set (LSASS, the certificate propagation service).
//!
//! | setting | environment | registry value | default |
//! |---|---|---|---|
//! | replace a factory-default management key by a random PIN-protected one before writing | `TESSERA_MD_PROTECT_MANAGEMENT_KEY` | `ProtectManagementKey` | `1` |
//! | block a PUK that is still the factory default when doing so | `TESSERA_MD_BLOCK_DEFAULT_PUK` | `BlockDefaultPuk` | `1` |
//! | touch policy of keys the module generates or imports | `TESSERA_MD_NEW_KEY_TOUCH` | `NewKeyTouchPolicy` | `never` |
//!
//! The defaults are those of Yubico's minidriver (its `ProtectManagement`, `BlockPUKOnMGMUpgrade` and
//! `NewKeyTouchPolicy`). Booleans are `0`/`1` (also `false`/`true`, `no`/`yes`, `off`/`on`); the touch
//! policy is `never`, `always` or `cached`. A value that is none of these is logged and the default
//! used.

use tessera_piv::TouchPolicy;

/// Environment variable: protect a factory-default management key.
pub(crate) const ENV_PROTECT_MANAGEMENT_KEY: &str = "TESSERA_MD_PROTECT_MANAGEMENT_KEY";
/// Environment variable: block a factory-default PUK while protecting the management key.
pub(crate) const ENV_BLOCK_DEFAULT_PUK: &str = "TESSERA_MD_BLOCK_DEFAULT_PUK";
/// Environment variable: touch policy of new keys.
pub(crate) const ENV_NEW_KEY_TOUCH: &str = "TESSERA_MD_NEW_KEY_TOUCH";
/// Registry value (REG_SZ): protect a factory-default management key.
pub(crate) const REG_PROTECT_MANAGEMENT_KEY: &str = "ProtectManagementKey";
/// Registry value (REG_SZ): block a factory-default PUK.
pub(crate) const REG_BLOCK_DEFAULT_PUK: &str = "BlockDefaultPuk";
/// Registry value (REG_SZ): touch policy of new keys.
pub(crate) const REG_NEW_KEY_TOUCH: &str = "NewKeyTouchPolicy";

/// What the module may do on its own when Windows writes to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WritePolicy {
    /// Before the first write with the factory-default management key, replace that key by a random one
    /// kept in the PIN-protected data object, so that only the PIN holder can write afterwards.
    pub protect_default_management_key: bool,
    /// While doing so, block a PUK that the card reports to be still the factory default (a default PUK
    /// lets anyone holding the card set a new PIN).
    pub block_default_puk: bool,
    /// Touch policy of the keys the module puts on the card.
    pub new_key_touch: TouchPolicy,
}

impl Default for WritePolicy {
    fn default() -> Self {
        Self {
            protect_default_management_key: true,
            block_default_puk: true,
            new_key_touch: TouchPolicy::Never,
        }
    }
}

impl WritePolicy {
    /// Nothing changed on the module's own initiative: the factory-default key is used as it is (with a
    /// warning in the log) and a default PUK stays usable. For test fixtures that must keep their card.
    pub const fn hands_off() -> Self {
        Self {
            protect_default_management_key: false,
            block_default_puk: false,
            new_key_touch: TouchPolicy::Never,
        }
    }

    /// Reads the settings from the environment, then from `registry` (a REG_SZ value under
    /// `HKLM\SOFTWARE\Tessera\Minidriver`).
    pub fn from_settings(registry: impl Fn(&str) -> Option<String>) -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let value = |env_name: &str, reg_name: &str| env(env_name).or_else(|| registry(reg_name));
        let defaults = Self::default();
        let flag = |env_name: &str, reg_name: &str, default: bool| match value(env_name, reg_name) {
            None => default,
            Some(text) => parse_flag(&text).unwrap_or_else(|| {
                tracing::warn!("setting {reg_name} = {text:?} is not 0 or 1; using the default ({default})");
                default
            }),
        };
        let touch = match value(ENV_NEW_KEY_TOUCH, REG_NEW_KEY_TOUCH) {
            None => defaults.new_key_touch,
            Some(text) => parse_touch(&text).unwrap_or_else(|| {
                tracing::warn!(
                    "setting {REG_NEW_KEY_TOUCH} = {text:?} is not never, always or cached; using never"
                );
                defaults.new_key_touch
            }),
        };
        Self {
            protect_default_management_key: flag(
                ENV_PROTECT_MANAGEMENT_KEY,
                REG_PROTECT_MANAGEMENT_KEY,
                defaults.protect_default_management_key,
            ),
            block_default_puk: flag(
                ENV_BLOCK_DEFAULT_PUK,
                REG_BLOCK_DEFAULT_PUK,
                defaults.block_default_puk,
            ),
            new_key_touch: touch,
        }
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_touch(text: &str) -> Option<TouchPolicy> {
    match text.trim().to_ascii_lowercase().as_str() {
        "never" => Some(TouchPolicy::Never),
        "always" => Some(TouchPolicy::Always),
        "cached" => Some(TouchPolicy::Cached),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_values_decide_when_the_environment_is_silent() {
        if [
            ENV_PROTECT_MANAGEMENT_KEY,
            ENV_BLOCK_DEFAULT_PUK,
            ENV_NEW_KEY_TOUCH,
        ]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
        {
            return; // the developer's own settings win; nothing to check here
        }
        assert_eq!(WritePolicy::from_settings(|_| None), WritePolicy::default());
        let policy = WritePolicy::from_settings(|name| match name {
            REG_PROTECT_MANAGEMENT_KEY => Some("0".into()),
            REG_BLOCK_DEFAULT_PUK => Some("off".into()),
            REG_NEW_KEY_TOUCH => Some("Cached".into()),
            _ => None,
        });
        assert_eq!(
            policy,
            WritePolicy {
                protect_default_management_key: false,
                block_default_puk: false,
                new_key_touch: TouchPolicy::Cached,
            }
        );
        // Values that mean nothing keep the defaults.
        let policy = WritePolicy::from_settings(|name| match name {
            REG_PROTECT_MANAGEMENT_KEY => Some("perhaps".into()),
            REG_NEW_KEY_TOUCH => Some("sometimes".into()),
            _ => None,
        });
        assert_eq!(policy, WritePolicy::default());
    }

    #[test]
    fn the_defaults_are_yubicos() {
        let d = WritePolicy::default();
        assert!(d.protect_default_management_key && d.block_default_puk);
        assert_eq!(d.new_key_touch, TouchPolicy::Never);
        assert_eq!(parse_flag(" YES "), Some(true));
        assert_eq!(parse_touch("always"), Some(TouchPolicy::Always));
    }
}
