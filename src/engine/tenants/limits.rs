//! Per-tenant limits: `maxmemory`, `maxkeys`, `reserve` and what to do at the limit.
//!
//! Limits come from `tenant NAME ...` configuration lines, flags and `TENANT SETLIMIT`;
//! tenants without their own limits take the `tenant-default-*` directives.

use crate::util::parse_memory;

/// What a write that would take a tenant over its own quota does.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum OnLimit {
    /// Evict the tenant's own keys by `maxmemory-policy` until the write fits.
    #[default]
    Evict,
    /// Refuse the write with `-OOM`.
    Reject,
}

impl OnLimit {
    pub fn name(self) -> &'static str {
        match self {
            OnLimit::Evict => "evict",
            OnLimit::Reject => "reject",
        }
    }
}

/// One tenant's limits; 0 means "none".
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Limits {
    pub maxmemory: u64,
    pub maxkeys: u64,
    pub reserve: u64,
    pub onlimit: OnLimit,
}

/// Limits set explicitly for a tenant; unset fields fall back to the defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct LimitOverrides {
    pub maxmemory: Option<u64>,
    pub maxkeys: Option<u64>,
    pub reserve: Option<u64>,
    pub onlimit: Option<OnLimit>,
}

impl LimitOverrides {
    pub fn resolve(&self, defaults: &Limits) -> Limits {
        Limits {
            maxmemory: self.maxmemory.unwrap_or(defaults.maxmemory),
            maxkeys: self.maxkeys.unwrap_or(defaults.maxkeys),
            reserve: self.reserve.unwrap_or(defaults.reserve),
            onlimit: self.onlimit.unwrap_or(defaults.onlimit),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == LimitOverrides::default()
    }
}

/// Parses `option value [option value ...]` (MAXMEMORY, MAXKEYS, RESERVE, ONLIMIT, any case)
/// onto `base`. Errors name the offending option.
pub fn parse_options<S: AsRef<[u8]>>(args: &[S], base: LimitOverrides) -> Result<LimitOverrides, String> {
    if args.is_empty() || !args.len().is_multiple_of(2) {
        return Err("ERR syntax error".into());
    }
    let mut out = base;
    for pair in args.chunks(2) {
        let opt = String::from_utf8_lossy(pair[0].as_ref()).to_ascii_lowercase();
        let val = String::from_utf8_lossy(pair[1].as_ref()).into_owned();
        match opt.as_str() {
            "maxmemory" => out.maxmemory = Some(size(&val, "maxmemory")?),
            "reserve" => out.reserve = Some(size(&val, "reserve")?),
            "maxkeys" => {
                out.maxkeys = Some(
                    val.parse::<u64>()
                        .map_err(|_| format!("ERR invalid maxkeys '{val}': must be a non-negative integer"))?,
                )
            }
            "onlimit" => {
                out.onlimit = Some(match val.to_ascii_lowercase().as_str() {
                    "evict" => OnLimit::Evict,
                    "reject" => OnLimit::Reject,
                    _ => return Err(format!("ERR invalid onlimit '{val}': must be 'evict' or 'reject'")),
                })
            }
            _ => return Err(format!("ERR unknown tenant limit option '{opt}'")),
        }
    }
    if let (Some(r), Some(m)) = (out.reserve, out.maxmemory) {
        if m > 0 && r > m {
            return Err("ERR reserve cannot be larger than maxmemory".into());
        }
    }
    Ok(out)
}

fn size(val: &str, what: &str) -> Result<u64, String> {
    parse_memory(val).ok_or_else(|| format!("ERR invalid {what} '{val}': must be a size like 1048576, 100mb or 1gb"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limits() {
        let o = parse_options(&["MAXMEMORY", "10mb", "maxkeys", "5", "ONLIMIT", "reject"], LimitOverrides::default())
            .unwrap();
        assert_eq!(o.maxmemory, Some(10 << 20));
        assert_eq!(o.maxkeys, Some(5));
        assert_eq!(o.onlimit, Some(OnLimit::Reject));
        assert!(parse_options(&["maxmemory", "10xb"], o).is_err());
        assert!(parse_options(&["maxmemory", "-1"], o).is_err());
        assert!(parse_options(&["bogus", "1"], o).is_err());
        assert!(parse_options(&["maxmemory"], o).is_err());
        assert!(parse_options(&["maxmemory", "1mb", "reserve", "2mb"], o).is_err());
    }
}
