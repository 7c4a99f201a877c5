//! The wire protocol: requests in (RESP multibulk or inline), replies out (RESP2 or RESP3).
//!
//! Handlers never see bytes of the protocol: they receive parsed arguments and write
//! replies through [`ReplyBuf`], which knows which protocol version the client speaks.

mod reply;
mod request;

pub use reply::{format_double, ReplyBuf};
pub use request::{peek_requests, split_inline_args, ProtocolError, RequestLimits, RequestParser};
