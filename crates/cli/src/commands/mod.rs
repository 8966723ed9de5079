//! One module per command.

pub mod certificates;
pub mod check;
pub mod container_map;
pub mod demo;
pub mod info;
pub mod keys;
pub mod management_key;
pub mod pins;
pub mod register;
pub mod reset;
pub mod trace;
pub mod virtual_card;
