//! The base layer: helpers with no dependency on any other part of the crate (number
//! parsing, byte comparison, random numbers, glob matching, the log format, geohash math,
//! HyperLogLog values, Redis's listpack layout).

pub mod alloc;
pub mod cron;
pub mod geohash;
pub mod glob;
pub mod hll;
pub mod listpack;
pub mod logging;
pub mod util;
