//! Tenant commands: TENANT SETLIMIT|GETLIMIT|INFO|LIST|FLUSH|OF|RESETSTATS, and the `tenant`
//! lines of the configuration file.

use super::CommandSpec;
use crate::config::Config;
use crate::server::Shared;

pub static COMMANDS: &[CommandSpec] = &[];

/// Applies a `tenant NAME option value ...` configuration line.
pub fn apply_config_line(_shared: &Shared, line: &[String]) -> Result<(), String> {
    Err(format!("tenant limits are not supported yet: 'tenant {}'", line.join(" ")))
}

/// Mirrors a tenant-related directive into the keyspace (no-op for other directives).
pub fn apply_setting(_shared: &Shared, _config: &Config, _name: &str) {}
