//! The command line (clap derive). Every command's help ends with an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tessera_piv::{AlgorithmId, KeyRef, ManagementAlgorithm, PinPolicy, TouchPolicy};

/// Tessera: a Windows smart card minidriver for PIV cards, and the tools around it.
#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Tessera: the PIV card module for Windows, shown, checked and managed from the command line",
    after_help = "Start with:\n  tessera demo                     the whole Base-CSP flow on an embedded virtual card\n  \
                  tessera info                     what the card in the reader holds\n  \
                  tessera info --windows           what Windows will see through the card module\n\n\
                  Exit codes: 0 ok, 1 a step/case failed, 2 usage, 3 no card/reader, 4 no PIV application,\n\
                  5 wrong PIN/PUK, 6 blocked, 7 management key needed/wrong, 8 not supported by the card,\n\
                  9 Windows only, 10 declined, 11 card error, 12 bad input."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole Base-CSP flow through the card module on an embedded virtual card, narrated.
    #[command(
        after_help = "Examples:\n  tessera demo\n  tessera demo --virtual card.json    # keep the card for other tools\n  \
                             tessera demo --reader 'Yubico YubiKey OTP+FIDO+CCID 00 00'   # a real card (asks first)"
    )]
    Demo(DemoArgs),
    /// Show what the card holds: version, serial, PIN/PUK tries, management key, every slot.
    #[command(
        after_help = "Examples:\n  tessera info\n  tessera info --json --virtual card.json\n  \
                             tessera info --windows      # containers, cmapfile and cardcf as Windows sees them"
    )]
    Info(InfoArgs),
    /// Generate, import, delete and attest keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Import, export, delete, request and self-sign certificates.
    #[command(subcommand, visible_alias = "certs")]
    Certificates(CertificatesCommand),
    /// Change or unblock the PIN, show or set the try counters.
    #[command(subcommand)]
    Pin(PinCommand),
    /// Change the PUK.
    #[command(subcommand)]
    Puk(PukCommand),
    /// Change the management key or make it PIN-protected.
    #[command(subcommand, name = "management-key")]
    ManagementKey(ManagementKeyCommand),
    /// Show or rebuild the container map (5FFF10) Windows' card modules use.
    #[command(subcommand, name = "container-map")]
    ContainerMap(ContainerMapCommand),
    /// Reset the PIV application to its factory state (every key and certificate is erased).
    #[command(after_help = "Example:\n  tessera reset --virtual card.json --yes")]
    Reset(ResetArgs),
    /// Run the conformance suites against a card module (the Base CSP's side of the interface).
    #[command(
        after_help = "Examples:\n  tessera check --builtin\n  tessera check --builtin --suite sign --json > report.json\n  \
                             tessera check --module target/debug/libtessera_minidriver.so --reader \"$TESSERA_READER\" --provision"
    )]
    Check(CheckArgs),
    /// Measure what the card module costs: APDUs, bytes and CPU time of logon, signing, decryption,
    /// ECDH, enrollment and a card changed by another tool, through the Base CSP's calls.
    #[command(
        after_help = "Examples:\n  tessera bench\n  tessera bench --latency 25 --json bench.json --calls\n  \
                             scripts/with-virtual-reader.sh -- tessera bench --through-pcscd --provision --yes\n\n\
                             Scenarios: S1 cold logon, S2 warm logon (second context, CSP cache filled), S3 ECDSA P-256,\n\
                             S4 RSA-OAEP decryption, S5 ECDH + TLS 1.2 PRF (S3-S5 in S2's context), S6 enrollment,\n\
                             S7 a second process's first logon, S7w the same after S6 wrote to the card (freshness\n\
                             object and container map present), S8 a certificate replaced by another tool, S9 every\n\
                             container and certificate listed with nothing cached, S3c and S4c: S3 and S4 in a new\n\
                             context with nothing cached.\n\
                             Through pcscd the card must hold the bench's card state (--provision makes it), with the\n\
                             default PIN 123456 and write access (PIN-protected or factory-default management key)."
    )]
    Bench(BenchArgs),
    /// Virtual cards: create one, or attach one to pcscd through vpcd.
    #[command(subcommand, name = "virtual-card")]
    VirtualCard(VirtualCardCommand),
    /// Run a command with the card module's log (APDU trace, secrets redacted) on, then show it.
    #[command(after_help = "Examples:\n  tessera trace -- tessera info --windows\n  \
                             tessera trace --log md.log -- tessera check --module ./libtessera_minidriver.so --reader R")]
    Trace(TraceArgs),
    /// Windows: register the ATR of the card in a reader for Tessera's card module.
    #[command(
        after_help = "Examples:\n  tessera register --reader 'Identiv uTrust 3700 F 0'\n  tessera register --unregister\n\n\
                             Elsewhere it explains that it is Windows-only and exits with code 9."
    )]
    Register(RegisterArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  tessera completions bash > /etc/bash_completion.d/tessera")]
    Completions(CompletionsArgs),
}

/// Which card.
#[derive(Debug, Clone, Args)]
pub struct CardArgs {
    /// The PC/SC reader holding the card (default: the only reader with a PIV card).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// A virtual card kept in FILE instead of a reader.
    #[arg(long = "virtual", value_name = "FILE", conflicts_with = "reader")]
    pub virtual_file: Option<PathBuf>,
}

/// Where secrets come from.
#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// Read the secrets (PIN, PUK, new values, management key) from standard input, one per line, in the
    /// order the command asks for them.
    #[arg(long, visible_alias = "stdin")]
    pub pin_stdin: bool,
    /// The PIN, on the command line (other users can see it: prefer the prompt or --pin-stdin).
    #[arg(long, value_name = "PIN")]
    pub pin: Option<String>,
}

/// Write access.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The management key in hex, on the command line (other users can see it). Without it: the
    /// PIN-protected key when the card has one, else the factory-default key (said so when used).
    #[arg(long, value_name = "HEX")]
    pub management_key: Option<String>,
    /// Ask for the management key (hex) at the prompt, or read it from standard input with --pin-stdin.
    #[arg(long, conflicts_with = "management_key")]
    pub ask_management_key: bool,
    /// Do not ask before changing a card in a reader.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `tessera demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The card in this reader instead of an embedded virtual card. Its 9A and 9D slots are overwritten
    /// and its PIN is blocked and unblocked with the PUK: you are asked first.
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Keep the virtual card in FILE (created when missing) for other tools afterwards.
    #[arg(long = "virtual", value_name = "FILE", conflicts_with = "reader")]
    pub virtual_file: Option<PathBuf>,
    /// Do not ask before changing a real card.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// The management key (hex) of a real card, on the command line (default: the factory key).
    #[arg(long, value_name = "HEX")]
    pub management_key: Option<String>,
}

/// `tessera info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub card: CardArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show what Windows will see: containers, names, key specs, cmapfile and cardcf through the card
    /// module's function table.
    #[arg(long)]
    pub windows: bool,
}

/// A PIV key slot, by its hex reference (9a, 9c, 9d, 9e, 82–95).
#[derive(Debug, Clone, Copy)]
pub struct Slot(pub KeyRef);

impl std::str::FromStr for Slot {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let aliases = [
            ("authentication", 0x9A),
            ("signature", 0x9C),
            ("key-management", 0x9D),
            ("card-authentication", 0x9E),
        ];
        let value = aliases
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, v)| *v)
            .or_else(|| u8::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| format!("{s:?} is not a slot: use 9a, 9c, 9d, 9e or 82..95"))?;
        let slot = KeyRef(value);
        if slot.is_key_slot() && slot != KeyRef::ATTESTATION {
            Ok(Self(slot))
        } else {
            Err(format!("{s:?} is not a key slot: use 9a, 9c, 9d, 9e or 82..95"))
        }
    }
}

/// Key algorithms.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyAlgorithm {
    /// RSA 1024 (weak; for old cards).
    Rsa1024,
    /// RSA 2048.
    Rsa2048,
    /// RSA 3072 (YubiKey 5.7).
    Rsa3072,
    /// RSA 4096 (YubiKey 5.7).
    Rsa4096,
    /// ECC P-256.
    P256,
    /// ECC P-384.
    P384,
}

impl KeyAlgorithm {
    /// The PIV algorithm id.
    pub fn id(self) -> AlgorithmId {
        match self {
            Self::Rsa1024 => AlgorithmId::RSA1024,
            Self::Rsa2048 => AlgorithmId::RSA2048,
            Self::Rsa3072 => AlgorithmId::RSA3072,
            Self::Rsa4096 => AlgorithmId::RSA4096,
            Self::P256 => AlgorithmId::ECCP256,
            Self::P384 => AlgorithmId::ECCP384,
        }
    }
}

/// PIN policies.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PinPolicyArg {
    /// The slot's default (9C: always, 9E: never, others: once).
    Default,
    /// No PIN.
    Never,
    /// The PIN once per session.
    Once,
    /// The PIN before every use.
    Always,
}

impl From<PinPolicyArg> for PinPolicy {
    fn from(p: PinPolicyArg) -> Self {
        match p {
            PinPolicyArg::Default => Self::Default,
            PinPolicyArg::Never => Self::Never,
            PinPolicyArg::Once => Self::Once,
            PinPolicyArg::Always => Self::Always,
        }
    }
}

/// Touch policies.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TouchPolicyArg {
    /// The card's default (never).
    Default,
    /// No touch.
    Never,
    /// A touch before every use.
    Always,
    /// A touch, remembered for 15 seconds.
    Cached,
}

impl From<TouchPolicyArg> for TouchPolicy {
    fn from(t: TouchPolicyArg) -> Self {
        match t {
            TouchPolicyArg::Default => Self::Default,
            TouchPolicyArg::Never => Self::Never,
            TouchPolicyArg::Always => Self::Always,
            TouchPolicyArg::Cached => Self::Cached,
        }
    }
}

/// `tessera keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair on the card; prints the public key (PEM).
    #[command(after_help = "Example:\n  tessera keys generate 9a --algorithm rsa2048 --out 9a.pub.pem")]
    Generate {
        /// The slot.
        slot: Slot,
        /// The key algorithm.
        #[arg(long, value_enum, default_value = "p256")]
        algorithm: KeyAlgorithm,
        /// PIN policy.
        #[arg(long, value_enum, default_value = "default")]
        pin_policy: PinPolicyArg,
        /// Touch policy.
        #[arg(long, value_enum, default_value = "default")]
        touch_policy: TouchPolicyArg,
        /// Write the public key (PEM) to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Import a private key (PKCS#8 or PKCS#1/SEC1, PEM or DER) into a slot.
    #[command(after_help = "Example:\n  tessera keys import 9d key.pem --pin-policy once")]
    Import {
        /// The slot.
        slot: Slot,
        /// The private key file.
        file: PathBuf,
        /// PIN policy.
        #[arg(long, value_enum, default_value = "default")]
        pin_policy: PinPolicyArg,
        /// Touch policy.
        #[arg(long, value_enum, default_value = "default")]
        touch_policy: TouchPolicyArg,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Delete the key in a slot (YubiKey 5.7+), and its certificate.
    #[command(after_help = "Example:\n  tessera keys delete 9d --yes")]
    Delete {
        /// The slot.
        slot: Slot,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Print the card's attestation certificate for a key generated on it (PEM).
    #[command(after_help = "Example:\n  tessera keys attest 9a --out 9a.attestation.pem")]
    Attest {
        /// The slot.
        slot: Slot,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        card: CardArgs,
    },
}

/// `tessera certificates`.
#[derive(Debug, Subcommand)]
pub enum CertificatesCommand {
    /// Write a certificate (PEM or DER) into a slot's certificate object.
    #[command(after_help = "Example:\n  tessera certificates import 9a alice.pem")]
    Import {
        /// The slot.
        slot: Slot,
        /// The certificate file.
        file: PathBuf,
        /// Store it gzip-compressed (for certificates larger than the card's object limit).
        #[arg(long)]
        compress: bool,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Print a slot's certificate (PEM, or DER with --der).
    #[command(after_help = "Example:\n  tessera certificates export 9a --der --out alice.cer")]
    Export {
        /// The slot.
        slot: Slot,
        /// DER instead of PEM.
        #[arg(long)]
        der: bool,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        card: CardArgs,
    },
    /// Delete a slot's certificate (the key stays).
    #[command(after_help = "Example:\n  tessera certificates delete 9c --yes")]
    Delete {
        /// The slot.
        slot: Slot,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Make a certificate request (PKCS#10, PEM) for a slot's key, signed by the card.
    #[command(
        after_help = "Example:\n  tessera certificates request 9a --subject 'CN=Alice,O=Example' --out alice.csr"
    )]
    Request {
        /// The slot.
        slot: Slot,
        /// The subject, RFC 4514 (`CN=Alice,O=Example`).
        #[arg(long)]
        subject: String,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Make a self-signed certificate for a slot's key (signed by the card) and store it in the slot.
    #[command(after_help = "Example:\n  tessera certificates selfsign 9a --subject 'CN=Alice' --days 365")]
    Selfsign {
        /// The slot.
        slot: Slot,
        /// The subject, RFC 4514.
        #[arg(long)]
        subject: String,
        /// Validity in days from now.
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

/// `tessera pin`.
#[derive(Debug, Subcommand)]
pub enum PinCommand {
    /// Change the PIN (asks for the current and the new PIN).
    #[command(
        after_help = "Examples:\n  tessera pin change\n  printf '123456\\n654321\\n' | tessera pin change --pin-stdin --virtual card.json"
    )]
    Change {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Unblock the PIN with the PUK and set a new PIN (asks for the PUK, then the new PIN).
    #[command(after_help = "Example:\n  printf '12345678\\n123456\\n' | tessera pin unblock --pin-stdin")]
    Unblock {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Show the PIN and PUK tries left (spends none); with --set, change the counters (YubiKey: this also
    /// puts PIN and PUK back to their factory values).
    #[command(after_help = "Examples:\n  tessera pin retries\n  tessera pin retries --set 5 10 --yes")]
    Retries {
        /// New PIN and PUK try counts.
        #[arg(long, num_args = 2, value_names = ["PIN_TRIES", "PUK_TRIES"])]
        set: Option<Vec<u8>>,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

/// `tessera bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Run against the card in a reader through pcscd instead of a virtual card in this process.
    #[arg(long)]
    pub through_pcscd: bool,
    /// The reader (default: the only reader with a PIV card).
    #[arg(long, value_name = "NAME", requires = "through_pcscd")]
    pub reader: Option<String>,
    /// Put the bench's card state on the card first (RSA-2048 in 9A and 9D, P-256 in 9C and 9E, P-256
    /// in 82, RSA-2048 in 83, each with a certificate): the slots' keys are overwritten.
    #[arg(long, requires = "through_pcscd")]
    pub provision: bool,
    /// Simulated latency per APDU in the totals, in milliseconds (a USB token takes 5-50 ms).
    #[arg(long, value_name = "MS", default_value_t = 10.0)]
    pub latency: f64,
    /// Also write the figures as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// How many times each scenario that leaves the card as it found it runs (the times are medians).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// Show every call of every scenario.
    #[arg(long)]
    pub calls: bool,
    /// Do not ask before changing a card in a reader (S6 enrolls a key, S8 replaces a certificate).
    #[arg(long)]
    pub yes: bool,
    /// Hand the module the card's ATR without the extended-length announcement, so that it frames
    /// every command short, as on a card that announces no extended length.
    #[arg(long)]
    pub short_apdus: bool,
    /// S7's second process (the bench starts itself with this).
    #[arg(long, value_name = "JOB", hide = true)]
    pub second_process: Option<PathBuf>,
}

/// `tessera puk`.
#[derive(Debug, Subcommand)]
pub enum PukCommand {
    /// Change the PUK (asks for the current and the new PUK).
    #[command(after_help = "Example:\n  printf '12345678\\n87654321\\n' | tessera puk change --pin-stdin")]
    Change {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

/// Management-key algorithms.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MgmAlgorithm {
    /// Triple DES (the PIV default; what older tools speak).
    #[value(name = "3des")]
    Tdes,
    /// AES-128.
    Aes128,
    /// AES-192 (YubiKey 5.7's factory type).
    Aes192,
    /// AES-256.
    Aes256,
}

impl From<MgmAlgorithm> for ManagementAlgorithm {
    fn from(a: MgmAlgorithm) -> Self {
        match a {
            MgmAlgorithm::Tdes => Self::Tdes,
            MgmAlgorithm::Aes128 => Self::Aes128,
            MgmAlgorithm::Aes192 => Self::Aes192,
            MgmAlgorithm::Aes256 => Self::Aes256,
        }
    }
}

/// `tessera management-key`.
#[derive(Debug, Subcommand)]
pub enum ManagementKeyCommand {
    /// Set a new management key: given (asked for), or random with --generate.
    #[command(
        after_help = "Examples:\n  tessera management-key set --generate --protect\n  \
                             tessera management-key set --algorithm aes192 --ask-new-key"
    )]
    Set {
        /// Type of the new key (default: the current key's type).
        #[arg(long, value_enum)]
        algorithm: Option<MgmAlgorithm>,
        /// Make a random key (print it unless --protect keeps it on the card).
        #[arg(long, conflicts_with = "ask_new_key")]
        generate: bool,
        /// Ask for the new key (hex) at the prompt, or read it from standard input with --pin-stdin.
        #[arg(long)]
        ask_new_key: bool,
        /// Keep the new key PIN-protected on the card (Yubico convention: 5FC109, flag in 5FFF00).
        #[arg(long)]
        protect: bool,
        /// Require a touch for every management-key authentication.
        #[arg(long)]
        touch: bool,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Replace the management key with a random PIN-protected one (what the card module can then use
    /// with the user's PIN alone).
    #[command(after_help = "Example:\n  tessera management-key protect --algorithm aes192")]
    Protect {
        /// Type of the new key (default: the current key's type).
        #[arg(long, value_enum)]
        algorithm: Option<MgmAlgorithm>,
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

/// `tessera container-map`.
#[derive(Debug, Subcommand)]
pub enum ContainerMapCommand {
    /// Show the container map (5FFF10) as stored, and whether each record's slot holds a key.
    #[command(after_help = "Example:\n  tessera container-map show --virtual card.json")]
    Show {
        #[command(flatten)]
        card: CardArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the container map from the keys the card holds, by the card module's rules.
    #[command(after_help = "Example:\n  tessera container-map repair --yes")]
    Repair {
        #[command(flatten)]
        card: CardArgs,
        #[command(flatten)]
        admin: AdminArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

/// `tessera reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    pub card: CardArgs,
    /// Do not ask first.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `tessera check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Tessera's module linked in, on an in-process virtual card (always provisioned).
    #[arg(long, conflicts_with_all = ["module", "reader"])]
    pub builtin: bool,
    /// The card module to load (a .so/.dll exporting CardAcquireContext).
    #[arg(long, value_name = "PATH", requires = "reader")]
    pub module: Option<PathBuf>,
    /// The PC/SC reader with the card the module talks to.
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Put the card in the known state first (default PIN, PUK and 3DES management key assumed):
    /// overwrites the keys in the slots the suites use.
    #[arg(long)]
    pub provision: bool,
    /// Run only these suites (repeatable).
    #[arg(long = "suite", value_name = "NAME")]
    pub suites: Vec<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The virtual card bridge's --stats file (APDU counts per case over PC/SC).
    #[arg(long, value_name = "FILE")]
    pub card_stats: Option<PathBuf>,
    /// Seed of the built-in virtual card.
    #[arg(long, default_value_t = 4)]
    pub seed: u64,
}

/// `tessera virtual-card`.
#[derive(Debug, Subcommand)]
pub enum VirtualCardCommand {
    /// Create a new virtual card file (default PIN 123456, PUK 12345678, 3DES management key 010203…08).
    #[command(after_help = "Example:\n  tessera virtual-card create card.json --mgm-algorithm aes192")]
    Create {
        /// The card file.
        file: PathBuf,
        /// Serial number.
        #[arg(long)]
        serial: Option<u32>,
        /// Management-key type.
        #[arg(long, value_enum, default_value = "3des")]
        mgm_algorithm: MgmAlgorithm,
    },
    /// Attach a virtual card to pcscd through the vsmartcard vpcd driver, until interrupted.
    #[command(
        after_help = "Example:\n  tessera virtual-card serve --state card.json        # then: tessera info --reader 'Virtual PCD 00 00'"
    )]
    Serve {
        /// The card file (created when missing).
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// vpcd's address.
        #[arg(long, value_name = "HOST:PORT", default_value = tessera_virtual_card::bridge::DEFAULT_VPCD_ADDRESS)]
        vpcd: String,
        /// Rewrite FILE with the APDU and byte counters after every APDU.
        #[arg(long, value_name = "FILE")]
        stats: Option<PathBuf>,
        /// Append a trace of the APDUs (secrets redacted) to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
}

/// `tessera trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Keep the log in FILE (default: a temporary file, removed afterwards).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, default_value = "trace")]
    pub level: String,
    /// The command and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// `tessera register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The reader holding the card whose ATR is registered (default: the only reader with a PIV card).
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Remove the registration instead.
    #[arg(long)]
    pub unregister: bool,
    /// The card module's file name as installed.
    #[arg(long, value_name = "DLL", default_value = "tessera_minidriver.dll")]
    pub module_file: String,
}

/// `tessera completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
