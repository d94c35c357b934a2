//! A session's writer: takes the screen's latest frame, encodes its difference from the
//! last frame sent, and hands the bytes to the SSH connection. While the client is slow
//! (its window full, `Handle::data` waiting) new frames only replace the latest one, so
//! frames are skipped, memory stays at two frames, and nobody else waits.

use super::output::{Encoder, SETUP};
use super::screen::DeliveryCounters;
use bytes::Bytes;
use ratatui::buffer::Buffer;
use russh::server::Handle;
use russh::ChannelId;
use std::sync::Arc;
use tokio::sync::watch;

/// Runs until the screen's sink is gone (after its last frame is sent) or the
/// connection is.
pub(super) async fn run(
    handle: Handle,
    channel: ChannelId,
    mut frames: watch::Receiver<Option<Arc<Buffer>>>,
    no_color: bool,
    counters: Arc<DeliveryCounters>,
) {
    if handle
        .data(channel, Bytes::from_static(SETUP))
        .await
        .is_err()
    {
        return;
    }
    let mut encoder = Encoder::new(no_color);
    while frames.changed().await.is_ok() {
        let Some(frame) = frames.borrow_and_update().clone() else {
            continue;
        };
        let bytes = match encoder.frame(&frame) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("console frame could not be encoded: {e}");
                return;
            }
        };
        if bytes.is_empty() {
            continue;
        }
        let n = bytes.len();
        if handle.data(channel, bytes).await.is_err() {
            return;
        }
        counters.add(n);
    }
}
