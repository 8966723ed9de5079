//! The module's cryptography around the card's raw operations: hashes, RSA encodings, ECDSA format
//! conversion and the ECDH key derivation functions. Pure functions; the card is reached elsewhere.

pub mod ecdsa;
pub mod hash;
pub mod kdf;
pub mod padding;
