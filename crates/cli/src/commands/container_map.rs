//! `tessera container-map show|repair`: the Yubico container map (5FFF10) that Windows' card modules
//! (Tessera's and Yubico's) use for container indices and names. `repair` rebuilds it from what the slots
//! hold with the card module's own rules ([`tessera_minidriver::card::rebuilt_map`]), keeping the
//! names of containers that stay, then bumps Tessera's freshness object (when the card has one) so that
//! every host's CSP cache sees the change: map first, freshness second.

use serde::Serialize;
use tessera_minidriver::card::{CardContext, FRESHNESS_OBJECT, Injected, rebuilt_map};
use tessera_piv::objects::{ContainerMap, ContainerRecord, tags};

use crate::admin;
use crate::args::ContainerMapCommand;
use crate::commands::info::slot_public_key;
use crate::commands::keys::open;
use crate::csp::key_spec_name;
use crate::errors::{CliError, CliResult, PivContext};
use crate::secrets::SecretInput;
use crate::style;

/// A record as shown.
#[derive(Debug, Serialize)]
struct RecordView {
    index: usize,
    name: String,
    slot: String,
    key_spec: String,
    key_bits: u16,
    valid: bool,
    default: bool,
    pin_id: u8,
    associated_ecdh: Option<u8>,
    slot_has_key: bool,
}

fn view(map: &ContainerMap, has_key: impl Fn(&ContainerRecord) -> bool) -> Vec<RecordView> {
    map.records
        .iter()
        .enumerate()
        .map(|(index, r)| RecordView {
            index,
            name: r.name.clone(),
            slot: r.slot.to_string(),
            key_spec: key_spec_name(u32::from(r.key_spec)).to_owned(),
            key_bits: r.key_size_bits,
            valid: r.flags & 0x01 != 0,
            default: r.flags & 0x02 != 0,
            pin_id: r.pin_id,
            associated_ecdh: (r.associated_ecdh_container != 0xFF).then_some(r.associated_ecdh_container),
            slot_has_key: has_key(r),
        })
        .collect()
}

fn table(records: &[RecordView]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.index.to_string(),
                r.name.clone(),
                r.slot.clone(),
                r.key_spec.clone(),
                r.key_bits.to_string(),
                match (r.valid, r.default) {
                    (true, true) => "valid, default".into(),
                    (true, false) => "valid".into(),
                    _ => "unused".into(),
                },
                r.pin_id.to_string(),
                r.associated_ecdh.map_or_else(String::new, |i| i.to_string()),
                if r.slot_has_key {
                    style::good("yes")
                } else {
                    style::bad("no key")
                },
            ]
        })
        .collect();
    style::table(
        &[
            "#",
            "name",
            "slot",
            "key spec",
            "bits",
            "flags",
            "PIN",
            "ECDH twin",
            "slot holds a key",
        ],
        &rows,
    )
}

/// Runs a `tessera container-map` command.
pub fn run(command: &ContainerMapCommand) -> CliResult<()> {
    match command {
        ContainerMapCommand::Show { card, json } => {
            let card = open(card)?;
            let mut session = card.session()?;
            let Some(bytes) = session.get_data(tags::YUBICO_CONTAINER_MAP).card()? else {
                if *json {
                    println!("null");
                } else {
                    println!(
                        "No container map (5FFF10) on the card: Tessera's card module uses its fixed layout \
                         (9A → 0, 9C → 1, 9D → 2, 9E → 3, retired 82… → 4…, ECDH twins at 24 + index)."
                    );
                }
                return Ok(());
            };
            let map = ContainerMap::try_from(bytes.as_slice())
                .map_err(|e| CliError::Card(format!("the container map 5FFF10 is unreadable: {e}")))?;
            let mut keys = std::collections::BTreeMap::new();
            for r in &map.records {
                if let std::collections::btree_map::Entry::Vacant(entry) = keys.entry(r.slot.0) {
                    entry.insert(slot_public_key(&mut session, r.slot)?.is_some());
                }
            }
            let records = view(&map, |r| keys.get(&r.slot.0).copied().unwrap_or(false));
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&records).map_err(|e| CliError::Failed(e.to_string()))?
                );
            } else {
                print!("{}", table(&records));
                if records.iter().any(|r| r.valid && !r.slot_has_key) {
                    println!(
                        "Some records name a slot without a key: `tessera container-map repair` rebuilds the map."
                    );
                }
            }
            Ok(())
        }
        ContainerMapCommand::Repair {
            card,
            admin: admin_args,
            secrets,
        } => {
            let card = open(card)?;
            let mut ctx = CardContext::acquire(
                Box::new(Injected(card.transport()?)),
                7,
                tessera_piv::SessionOptions::for_atr(card.atr()),
            )
            .map_err(|e| CliError::NoPiv(format!("the card module does not take the card: {e}")))?;
            let slots = ctx
                .all_slot_contents()
                .map_err(|e| CliError::Card(e.to_string()))?;
            let old = match ctx.stored_container_map() {
                Ok(map) => map,
                Err(e) => {
                    eprintln!(
                        "{}: the old map is unreadable and is replaced whole ({e})",
                        style::warn("note")
                    );
                    None
                }
            };
            let guid = ctx
                .identity()
                .map_err(|e| CliError::Card(e.to_string()))?
                .naming_guid;
            drop(ctx);
            let map = rebuilt_map(&slots, &guid, old.as_ref());
            let encoded = map
                .encode()
                .map_err(|e| CliError::Card(format!("the rebuilt map does not fit the card: {e}")))?;
            let records = view(&map, |_| true);
            println!("The rebuilt container map ({} records):", records.len());
            print!("{}", table(&records));
            if old.as_ref() == Some(&map) {
                println!("The card's map is already this one: nothing to write.");
                return Ok(());
            }
            admin::confirm(&card, admin_args.yes, "Write this container map")?;
            let mut session = card.session()?;
            let mut input = SecretInput::new(secrets.pin_stdin, secrets.pin.clone());
            admin::authenticate(&mut session, admin_args, &mut input)?;
            session.put_data(tags::YUBICO_CONTAINER_MAP, &encoded).card()?;
            let bumped = bump_freshness(&mut session)?;
            println!(
                "Wrote 5FFF10{}.",
                if bumped {
                    " and bumped the freshness object (cardcf), so CSP caches reread the containers"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

/// Adds one to the containers and files counters of Tessera's `cardcf` object when the card has it
/// (`CARD_CACHE_FILE_FORMAT`: version, PINs byte, containers and files as little-endian words).
fn bump_freshness(session: &mut crate::card::CardSession) -> CliResult<bool> {
    let Some(value) = session.get_data(FRESHNESS_OBJECT).ok().flatten() else {
        return Ok(false);
    };
    let Ok(mut cf) = <[u8; 6]>::try_from(value.as_slice()) else {
        return Ok(false);
    };
    let containers = u16::from_le_bytes([cf[2], cf[3]]).wrapping_add(1);
    let files = u16::from_le_bytes([cf[4], cf[5]]).wrapping_add(1);
    cf[2..4].copy_from_slice(&containers.to_le_bytes());
    cf[4..6].copy_from_slice(&files.to_le_bytes());
    session.put_data(FRESHNESS_OBJECT, &cf).card()?;
    Ok(true)
}
