//! The command line, as `redis-server` and Dragonfly take it.
//!
//! Redis's forms: `tenantcache [config-file | -] [--directive value ...] [-]`; the first
//! argument names a config file unless it starts with `-`, a lone `-` first or last reads a
//! configuration from standard input, and every `--name` opens a directive whose values are
//! the arguments up to the next `--name` (`--save ""`, `--bind 127.0.0.1 ::1`).
//!
//! Dragonfly's (gflags) forms on top: `--flag=value`, booleans as `--flag`, `--flag=true|false`
//! and `--noflag`, `--flagfile=path`, `DFLY_<flag>` environment variables (and
//! `DFLY_PASSWORD`), dashes and underscores alike. Dragonfly flags with a tenantcache
//! equivalent are translated into its directive (`--cache_mode` → `maxmemory-policy
//! allkeys-lru`, `--dbnum` → `databases`, `--logtostderr` → `logfile /dev/stderr`, ...); the
//! rest are accepted with one warning each. A name known to neither is left for the
//! configuration to reject with Redis's "Bad directive" error.

pub mod dragonfly;

use crate::config::{directive, Kind};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Run(Invocation),
    Help,
    Version,
}

/// A server to run: where its configuration comes from, in the order it applies.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The configuration file (first argument).
    pub config_file: Option<String>,
    /// Whether a configuration is read from standard input after the file (`-`).
    pub read_stdin: bool,
    /// Directives to apply after the file, in order: environment first, then the command line.
    pub overrides: Vec<(String, Vec<String>)>,
    /// One line per Dragonfly flag that was accepted but has no effect here.
    pub warnings: Vec<String>,
}

/// Program names a container's `command:` may start with; skipped when no such file exists,
/// so that `redis-server --appendonly yes` and `dragonfly --logtostderr` work unchanged.
const PROGRAM_NAMES: &[&str] = &["redis-server", "dragonfly", "tenantcache"];

/// One `--name [values]` as given.
#[derive(Debug, Clone)]
struct RawOption {
    name: String,
    args: Vec<String>,
    /// Given as `--name=value` (gflags syntax, never Redis's).
    with_equals: bool,
}

/// Parses the arguments (without the program name) and the `DFLY_*` environment variables.
pub fn parse(args: &[String], env: &[(String, String)]) -> Result<Request, String> {
    let mut args: &[String] = args;
    while let Some(first) = args.first() {
        if PROGRAM_NAMES.contains(&first.as_str()) && !std::path::Path::new(first).exists() {
            args = &args[1..];
        } else {
            break;
        }
    }
    let mut invocation = Invocation::default();
    let mut rest = args;
    match args.first().map(String::as_str) {
        Some("-h") | Some("--help") | Some("--helpfull") | Some("-help") => return Ok(Request::Help),
        Some("-v") | Some("--version") | Some("-version") => return Ok(Request::Version),
        Some("-") => {
            invocation.read_stdin = true;
            rest = &args[1..];
        }
        Some(a) if !a.starts_with('-') => {
            invocation.config_file = Some(a.to_string());
            rest = &args[1..];
        }
        _ => {}
    }

    let mut options: Vec<RawOption> = env_options(env);
    // Values attach to the last command-line option, never to an environment variable's.
    let mut option_started = false;
    for (i, a) in rest.iter().enumerate() {
        if a == "-" && i == rest.len() - 1 {
            invocation.read_stdin = true;
        } else if let Some(body) = a.strip_prefix("--").filter(|b| !b.is_empty()) {
            match body {
                "help" | "helpfull" => return Ok(Request::Help),
                "version" => return Ok(Request::Version),
                _ => {}
            }
            let option = match body.split_once('=') {
                Some((name, value)) => RawOption { name: name.into(), args: vec![value.into()], with_equals: true },
                None => RawOption { name: body.into(), args: Vec::new(), with_equals: false },
            };
            option_started = true;
            if underscored(&option.name) == "flagfile" {
                let path = option.args.first().cloned().unwrap_or_default();
                options.extend(flagfile_options(&path)?);
            } else {
                options.push(option);
            }
        } else if let Some(option) = single_dash_flag(a) {
            // gflags also takes `-flag value` (Dragonfly's README: `-dbnum 1`).
            option_started = true;
            options.push(option);
        } else if let Some(last) = options.last_mut().filter(|_| option_started) {
            last.args.push(a.clone());
        } else {
            return Err(format!("unexpected argument '{a}'"));
        }
    }

    let mut warned: Vec<String> = Vec::new();
    for option in options {
        translate(option, &mut invocation.overrides, &mut warned)?;
    }
    invocation.warnings = warned
        .into_iter()
        .map(|flag| format!("Dragonfly flag --{flag} is accepted and has no effect in this server"))
        .collect();
    Ok(Request::Run(invocation))
}

/// `-flag`, `-flag=value`: a Dragonfly flag with gflags' single dash. Only Dragonfly's names
/// count, so values such as `-2` or `-::*` stay values.
fn single_dash_flag(arg: &str) -> Option<RawOption> {
    let body = arg.strip_prefix('-').filter(|b| !b.starts_with('-'))?;
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    let flag = underscored(name);
    let known = dragonfly::lookup(&flag).is_some()
        || flag.strip_prefix("no").is_some_and(|p| dragonfly::lookup(p) == Some(true));
    known.then(|| RawOption {
        name: name.to_string(),
        args: value.map(|v| vec![v.to_string()]).unwrap_or_default(),
        with_equals: value.is_some(),
    })
}

/// `DFLY_<flag>=value` variables, as Dragonfly reads them; `DFLY_PASSWORD` is `requirepass`.
fn env_options(env: &[(String, String)]) -> Vec<RawOption> {
    let mut out = Vec::new();
    for (key, value) in env {
        let Some(flag) = key.strip_prefix("DFLY_") else { continue };
        let name = if flag == "PASSWORD" { "requirepass".to_string() } else { flag.to_string() };
        if dragonfly::lookup(&underscored(&name)).is_some() || directive(&dashed(&name)).is_some() {
            out.push(RawOption { name, args: vec![value.clone()], with_equals: true });
        }
    }
    out
}

/// A gflags flag file: one `--flag=value` (or `--flag value`) per line, `#` comments.
fn flagfile_options(path: &str) -> Result<Vec<RawOption>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read flag file '{path}': {e}"))?;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let body = line.trim_start_matches('-');
        let option = match body.split_once('=') {
            Some((name, value)) => RawOption { name: name.trim().into(), args: vec![value.into()], with_equals: true },
            None => match body.split_once(char::is_whitespace) {
                Some((name, value)) => {
                    RawOption { name: name.into(), args: vec![value.trim().into()], with_equals: false }
                }
                None => RawOption { name: body.into(), args: Vec::new(), with_equals: false },
            },
        };
        out.push(option);
    }
    Ok(out)
}

fn underscored(name: &str) -> String {
    name.replace('-', "_")
}

fn dashed(name: &str) -> String {
    name.replace('_', "-")
}

/// gflags' boolean spellings; `None` if `value` is not one.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "on" => Some(true),
        "false" | "f" | "no" | "n" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// Dragonfly's byte sizes (`2G`, `2GB`, `2GiB`, `512mb`): every unit is a power of 1024.
fn dragonfly_bytes(value: &str) -> Option<u64> {
    let lower = value.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let n: f64 = num.parse().ok()?;
    let shift = match unit.trim() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    let bytes = n * (1u64 << shift) as f64;
    (bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// Turns one option into directives (or a warning), Dragonfly's meaning first.
fn translate(option: RawOption, out: &mut Vec<(String, Vec<String>)>, warned: &mut Vec<String>) -> Result<(), String> {
    let flag = underscored(&option.name);
    let value = option.args.join(" ");
    let mut set = |name: &str, value: String| out.push((name.to_string(), vec![value]));
    let flag_true = || parse_bool(if option.args.is_empty() { "true" } else { &value });
    match flag.as_str() {
        "cache_mode" => {
            // Dragonfly's cache mode evicts by recency at maxmemory.
            if flag_true().ok_or_else(|| bad_bool(&option))? {
                set("maxmemory-policy", "allkeys-lru".into());
            }
            return Ok(());
        }
        "dbnum" => {
            set("databases", value);
            return Ok(());
        }
        "proactor_threads" => {
            // 0 is Dragonfly's "choose automatically": keep the default.
            if value.trim() != "0" {
                set("io-threads", value);
            }
            return Ok(());
        }
        "logtostderr" | "alsologtostderr" => {
            if flag_true().ok_or_else(|| bad_bool(&option))? {
                set("logfile", "/dev/stderr".into());
            }
            return Ok(());
        }
        "logtostdout" => {
            if flag_true().ok_or_else(|| bad_bool(&option))? {
                set("logfile", "".into());
            }
            return Ok(());
        }
        "v" => {
            let level: i64 = value.trim().parse().map_err(|_| format!("--v: '{value}' is not a number"))?;
            match level {
                ..=0 => {}
                1 => set("loglevel", "verbose".into()),
                _ => set("loglevel", "debug".into()),
            }
            return Ok(());
        }
        "minloglevel" => {
            let level: i64 = value.trim().parse().map_err(|_| format!("--minloglevel: '{value}' is not a number"))?;
            if level >= 1 {
                set("loglevel", "warning".into());
            }
            return Ok(());
        }
        "max_bulk_len" => {
            let bytes = dragonfly_bytes(&value).ok_or_else(|| format!("--max_bulk_len: '{value}' is not a size"))?;
            set("proto-max-bulk-len", bytes.min(crate::config::MAX_BULK_LEN).to_string());
            return Ok(());
        }
        "cluster_mode" => {
            return match value.trim() {
                "" => Ok(()),
                // Emulated cluster mode only adds CLUSTER replies for a single node (BullMQ's
                // recommended Dragonfly line has it); standalone clients work without it.
                "emulated" => {
                    if !warned.contains(&flag) {
                        warned.push(flag);
                    }
                    Ok(())
                }
                _ => Err(format!(
                    "--cluster_mode={value}: cluster mode is not supported; this server is a single node \
                     (drop the flag and connect in standalone mode)"
                )),
            };
        }
        // Requests for what this server does anyway.
        "version_check" | "tls" | "admin_nopass" | "tcp_nodelay"
            if option.args.is_empty() || parse_bool(&value).is_some() =>
        {
            let on = flag_true().unwrap_or(true);
            let already = match flag.as_str() {
                "version_check" | "tls" | "admin_nopass" => !on,
                _ => on, // tcp_nodelay: always set
            };
            if !already && !warned.contains(&flag) {
                warned.push(flag);
            }
            return Ok(());
        }
        "memcached_port" | "admin_port" if value.trim() == "0" => return Ok(()),
        "port" if value.trim() == "-1" => {
            // Dragonfly's "any free port" is 0 here.
            set("port", "0".into());
            return Ok(());
        }
        "bind" if value.trim().is_empty() => {
            // Dragonfly's empty bind means every interface.
            set("bind", "* -::*".into());
            return Ok(());
        }
        "dbfilename" if option.with_equals && !value.contains('.') => {
            // Dragonfly names the file without its extension and adds `.rdb`.
            set("dbfilename", format!("{value}.rdb"));
            return Ok(());
        }
        "maxmemory" if option.with_equals => {
            // `--maxmemory=2G` is Dragonfly's syntax, and Dragonfly's units are binary.
            let bytes = dragonfly_bytes(&value).ok_or_else(|| format!("--maxmemory: '{value}' is not a size"))?;
            set("maxmemory", bytes.to_string());
            return Ok(());
        }
        _ => {}
    }

    // A directive of this server or of redis.conf, in either spelling.
    let name = dashed(&option.name);
    if let Some(dir) = directive(&name) {
        let args = match dir.kind {
            Kind::Bool if option.args.is_empty() => vec!["yes".to_string()],
            Kind::Bool => match parse_bool(&value) {
                Some(b) => vec![if b { "yes" } else { "no" }.to_string()],
                None => option.args,
            },
            _ => option.args,
        };
        out.push((dir.name.to_string(), args));
        return Ok(());
    }
    if let Some(is_bool) = dragonfly::lookup(&flag) {
        if is_bool && option.args.len() == 1 && parse_bool(&value).is_none() {
            return Err(bad_bool(&option));
        }
        if !warned.contains(&flag) {
            warned.push(flag);
        }
        return Ok(());
    }
    // `--noflag`: a boolean (Dragonfly's or a yes/no directive) switched off.
    if let Some(positive) = flag.strip_prefix("no").filter(|_| option.args.is_empty()) {
        if let Some(dir) = directive(&dashed(positive)).filter(|d| matches!(d.kind, Kind::Bool)) {
            out.push((dir.name.to_string(), vec!["no".into()]));
            return Ok(());
        }
        if dragonfly::lookup(positive) == Some(true) {
            return translate(
                RawOption { name: positive.to_string(), args: vec!["false".into()], with_equals: true },
                out,
                warned,
            );
        }
    }
    // Unknown everywhere: the configuration rejects it with Redis's error.
    out.push((option.name, option.args));
    Ok(())
}

fn bad_bool(option: &RawOption) -> String {
    format!("--{}: '{}' is not a boolean (true or false)", option.name, option.args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Invocation {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args, &[]).unwrap() {
            Request::Run(inv) => inv,
            other => panic!("{other:?}"),
        }
    }

    fn pairs(inv: &Invocation) -> Vec<(String, String)> {
        inv.overrides.iter().map(|(n, a)| (n.clone(), a.join(" "))).collect()
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn redis_forms() {
        let inv = run(&["/etc/redis.conf", "--port", "7000", "--save", "", "--bind", "127.0.0.1", "::1"]);
        assert_eq!(inv.config_file.as_deref(), Some("/etc/redis.conf"));
        assert_eq!(pairs(&inv), vec![p("port", "7000"), p("save", ""), p("bind", "127.0.0.1 ::1")]);
        assert!(run(&["-"]).read_stdin);
        assert!(run(&["--port", "1", "-"]).read_stdin);
        assert_eq!(pairs(&run(&["--list-max-listpack-size", "-2"])), vec![p("list-max-listpack-size", "-2")]);
        assert_eq!(pairs(&run(&["redis-server", "--appendonly", "yes"])), vec![p("appendonly", "yes")]);
        assert_eq!(pairs(&run(&["--bind", "*", "-::*"])), vec![p("bind", "* -::*")]);
        assert_eq!(
            pairs(&run(&["-dbnum", "1", "-cache_mode"])),
            vec![p("databases", "1"), p("maxmemory-policy", "allkeys-lru")]
        );
    }

    #[test]
    fn gflags_forms() {
        let inv = run(&[
            "--logtostderr",
            "--port=7001",
            "--cache_mode=true",
            "--dbnum",
            "4",
            "--maxmemory=2G",
            "--proactor_threads=2",
            "--v=1",
            "--nolatency_tracking",
        ]);
        assert_eq!(
            pairs(&inv),
            vec![
                p("logfile", "/dev/stderr"),
                p("port", "7001"),
                p("maxmemory-policy", "allkeys-lru"),
                p("databases", "4"),
                p("maxmemory", "2147483648"),
                p("io-threads", "2"),
                p("loglevel", "verbose"),
                p("latency-tracking", "no"),
            ]
        );
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        assert_eq!(pairs(&run(&["--cache_mode=false", "--nologtostderr"])), vec![]);
        assert_eq!(pairs(&run(&["--max_memory_policy=x"])), vec![p("max_memory_policy", "x")]);
        assert_eq!(pairs(&run(&["--maxmemory-policy=allkeys-lfu"])), vec![p("maxmemory-policy", "allkeys-lfu")]);
        assert_eq!(pairs(&run(&["--maxmemory", "2gb"])), vec![p("maxmemory", "2gb")]);
        assert_eq!(pairs(&run(&["--maxmemory=2GiB"])), vec![p("maxmemory", "2147483648")]);
    }

    #[test]
    fn inert_flags_warn_once() {
        let inv = run(&["--num_shards=4", "--num-shards", "8", "--keys_output_limit=100", "--version_check=false"]);
        assert!(inv.overrides.is_empty());
        assert_eq!(inv.warnings.len(), 2, "{:?}", inv.warnings);
        assert!(inv.warnings[0].contains("--num_shards") && inv.warnings[0].contains("no effect"));
        assert!(parse(&["--cluster_mode=yes".to_string()], &[]).is_err());
        assert_eq!(run(&["--cluster_mode=emulated"]).warnings.len(), 1);
        assert!(parse(&["--cache_mode=maybe".to_string()], &[]).is_err());
    }

    #[test]
    fn environment_then_command_line() {
        let env = vec![
            ("DFLY_PASSWORD".to_string(), "pw".to_string()),
            ("DFLY_maxmemory".to_string(), "1gb".to_string()),
            ("DFLY_UNRELATED_THING".to_string(), "x".to_string()),
        ];
        let Request::Run(inv) = parse(&["--port".to_string(), "1".to_string()], &env).unwrap() else { panic!() };
        assert_eq!(pairs(&inv), vec![p("requirepass", "pw"), p("maxmemory", "1073741824"), p("port", "1")]);
    }

    #[test]
    fn sizes() {
        assert_eq!(dragonfly_bytes("2G"), Some(2 << 30));
        assert_eq!(dragonfly_bytes("512mb"), Some(512 << 20));
        assert_eq!(dragonfly_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(dragonfly_bytes("12"), Some(12));
        assert_eq!(dragonfly_bytes("x"), None);
    }
}
