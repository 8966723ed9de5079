//! The vpcd bridge: attaches a [`VirtualCard`] to a pcscd that runs the vsmartcard `vpcd` reader driver.
//!
//! vpcd listens on a TCP port and the card connects to it as a client. Each message is a 2-byte
//! big-endian length and a payload; a 1-byte payload is a control code (00 power off, 01 power on,
//! 02 reset, 04 get ATR, which the card answers with its ATR), anything longer is a command APDU that
//! the card answers with its response APDU.
//!
//! [`serve`] connects (retrying), answers until the connection drops, then reconnects, so the card
//! survives a restart of pcscd. It polls a shutdown flag (set by a signal handler) between reads, using
//! socket read timeouts, and returns when it is set.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::card::VirtualCard;
use crate::error::VirtualCardError;

/// Pause between connection attempts.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(200);
/// How often a blocked read looks at the shutdown flag.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What the bridge tells its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeEvent {
    /// Connected to vpcd at this address.
    Connected(String),
    /// The connection ended (vpcd or pcscd went away); the bridge will reconnect.
    Disconnected(String),
    /// An APDU was executed; its answer goes to vpcd once the event handler returns.
    Apdu,
}

enum Incoming {
    Message(Vec<u8>),
    Shutdown,
}

/// Reads exactly `buf.len()` bytes, looking at `shutdown` whenever the socket times out.
/// `Ok(false)` means shutdown was requested.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], shutdown: &AtomicBool) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        if shutdown.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let Some(rest) = buf.get_mut(filled..) else { break };
        match stream.read(rest) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn read_message(stream: &mut TcpStream, shutdown: &AtomicBool) -> std::io::Result<Incoming> {
    let mut len = [0u8; 2];
    if !read_full(stream, &mut len, shutdown)? {
        return Ok(Incoming::Shutdown);
    }
    // vpcd writes the length and the payload separately; with Nagle on its side the payload waits for
    // our ACK of the length, which Linux delays by up to 40 ms. Acknowledge at once (the flag is not
    // sticky, so it is set again for every message).
    quick_ack(stream);
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    if !read_full(stream, &mut payload, shutdown)? {
        return Ok(Incoming::Shutdown);
    }
    Ok(Incoming::Message(payload))
}

#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    // Best effort: a failure only costs speed.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_stream: &TcpStream) {}

fn send_message(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| std::io::Error::from(ErrorKind::InvalidData))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// Waits `total`, waking early when `shutdown` is set.
fn pause(total: Duration, shutdown: &AtomicBool) {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while waited < total && !shutdown.load(Ordering::SeqCst) {
        std::thread::sleep(step);
        waited += step;
    }
}

/// Serves `card` to vpcd at `address` until `shutdown` is set. Connection failures are not errors: the
/// bridge retries every [`RETRY_INTERVAL`].
pub fn serve(
    card: &mut VirtualCard,
    address: &str,
    shutdown: &AtomicBool,
    mut on_event: impl FnMut(&BridgeEvent, &VirtualCard),
) -> Result<(), VirtualCardError> {
    while !shutdown.load(Ordering::SeqCst) {
        let mut stream = match TcpStream::connect(address) {
            Ok(s) => s,
            Err(_) => {
                pause(RETRY_INTERVAL, shutdown);
                continue;
            }
        };
        stream.set_read_timeout(Some(POLL_INTERVAL))?;
        stream.set_nodelay(true)?;
        quick_ack(&stream);
        card.power_cycle();
        on_event(&BridgeEvent::Connected(address.to_string()), card);
        match serve_connection(card, &mut stream, shutdown, &mut on_event) {
            Ok(()) => return Ok(()),
            Err(e) => {
                card.power_cycle();
                on_event(&BridgeEvent::Disconnected(e.to_string()), card);
                pause(RETRY_INTERVAL, shutdown);
            }
        }
    }
    Ok(())
}

/// Answers messages until shutdown (`Ok`) or until the connection fails (`Err`).
fn serve_connection(
    card: &mut VirtualCard,
    stream: &mut TcpStream,
    shutdown: &AtomicBool,
    on_event: &mut impl FnMut(&BridgeEvent, &VirtualCard),
) -> std::io::Result<()> {
    loop {
        let message = match read_message(stream, shutdown)? {
            Incoming::Shutdown => return Ok(()),
            Incoming::Message(m) => m,
        };
        match message.as_slice() {
            [] => return Err(ErrorKind::InvalidData.into()),
            [0x00] | [0x01] | [0x02] => card.power_cycle(),
            [0x04] => send_message(stream, card.atr())?,
            [_] => {} // unknown control code: nothing to answer
            apdu => {
                let response = card.process_apdu(apdu);
                // Observers (the stats file) see the APDU before the host sees its answer, so a reader
                // of the counters right after a response never misses it.
                on_event(&BridgeEvent::Apdu, card);
                send_message(stream, &response)?;
            }
        }
    }
}
