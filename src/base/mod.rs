//! The base layer: helpers with no dependency on any other part of the crate (number
//! parsing, byte comparison, random numbers, glob matching, the log format, geohash math,
//! HyperLogLog values).

pub mod alloc;
pub mod cron;
pub mod geohash;
pub mod glob;
pub mod hll;
pub mod logging;
pub mod util;
