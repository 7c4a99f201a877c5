//! Tags: keys carry tags, and one command deletes every key carrying a tag.
//!
//! The index itself ([`TagIndex`]) lives in each tenant's table, so tags are scoped by tenant;
//! the TAG.* commands are in `commands::tags`.

mod index;

pub use index::{TagIndex, TagName};
