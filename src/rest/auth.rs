//! REST credentials: the `http-token NAME TOKEN [tenant T] [readonly]` lines, finding the
//! token a request carries, and what a token may run.
//!
//! A token is the whole credential of a REST call (there is no `AUTH` over REST). Three
//! kinds exist:
//!
//! * a full token runs what a client of the main port could run, minus the commands that
//!   change or rely on connection state (see [`connection_state_command`]): each REST call
//!   is on its own, as in Upstash;
//! * a `readonly` token runs only commands that neither write, administer, publish nor run a
//!   script that could write (`EVAL_RO`/`FCALL_RO` are fine);
//! * a `tenant T` token touches only keys whose tenant (by `tenant-key-pattern`) is `T`:
//!   every key argument the command table names must resolve to `T`, channels of
//!   `PUBLISH`/`SUBSCRIBE` are resolved as keys are, `SCAN` and `KEYS` run with their
//!   replies filtered to the tenant's keys, and every other command without keys is refused
//!   unless it is on a short list of harmless ones ([`TENANT_KEYLESS_ALLOWED`]) or is
//!   `TENANT INFO|GETLIMIT` of its own tenant. Scripts are
//!   refused (a script can reach any key whatever it declares), as are `SORT ... BY|GET`
//!   (patterns that read other keys), admin commands and pattern subscriptions.
//!
//! The checks run with the keyspace lock held, just before the command, so the tenant
//! patterns they read are the ones the command runs under.

use crate::commands::{flags, CommandSpec};
use crate::tenants::TenantRegistry;
use bytes::Bytes;

/// One configured token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Shown in logs and CLIENT LIST (`name=rest:NAME`), never the secret.
    pub name: String,
    pub secret: String,
    /// The only tenant whose keys it may touch (`None`: every tenant).
    pub tenant: Option<String>,
    pub readonly: bool,
}

/// Shortest secret accepted: a token is a password, and a short one is guessed.
const MIN_SECRET_LEN: usize = 16;

impl Token {
    /// Parses the arguments of an `http-token` line.
    pub fn parse(args: &[String]) -> Result<Token, String> {
        const USAGE: &str = "expected: http-token NAME TOKEN [tenant TENANT] [readonly]";
        let [name, secret, rest @ ..] = args else {
            return Err(USAGE.into());
        };
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!("http-token '{name}': the token must be at least {MIN_SECRET_LEN} characters"));
        }
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("http-token '{name}': the token must be printable ASCII without spaces"));
        }
        let mut token = Token { name: name.clone(), secret: secret.clone(), tenant: None, readonly: false };
        let mut i = 0;
        while i < rest.len() {
            match rest[i].to_ascii_lowercase().as_str() {
                "tenant" if i + 1 < rest.len() && token.tenant.is_none() => {
                    token.tenant = Some(rest[i + 1].clone());
                    i += 2;
                }
                "readonly" if !token.readonly => {
                    token.readonly = true;
                    i += 1;
                }
                _ => return Err(USAGE.into()),
            }
        }
        Ok(token)
    }
}

/// The configured tokens.
#[derive(Debug, Default)]
pub struct Tokens(Vec<Token>);

impl Tokens {
    /// Parses the `http-token` lines; two tokens may not share a name or a secret.
    pub fn from_lines(lines: &[Vec<String>]) -> Result<Tokens, String> {
        let mut tokens: Vec<Token> = Vec::new();
        for line in lines {
            let token = Token::parse(line)?;
            if tokens.iter().any(|t| t.name == token.name || t.secret == token.secret) {
                return Err(format!(
                    "http-token '{}': a token of that name or secret is already configured",
                    token.name
                ));
            }
            tokens.push(token);
        }
        Ok(Tokens(tokens))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The token whose secret is `given`. Every secret is compared, each in time independent
    /// of where it differs, so the answer's timing tells nothing about the secrets.
    pub fn find(&self, given: &[u8]) -> Option<&Token> {
        let mut found = None;
        for token in &self.0 {
            if crate::util::same_secret(given, token.secret.as_bytes()) && found.is_none() {
                found = Some(token);
            }
        }
        found
    }
}

/// Commands without keys a tenant token may run: they read nothing of other tenants.
pub const TENANT_KEYLESS_ALLOWED: &[&str] = &["ping", "echo", "time", "command", "lolwut"];

/// Commands that change or rely on the state of a connection, refused over REST for every
/// token: a REST call stands alone (SELECT, AUTH or CLIENT REPLY would leak into the next
/// call on a kept-alive connection and not into one on another connection). `/multi-exec`
/// is the transaction of REST; `SUBSCRIBE` is served as an event stream of its own.
/// (Blocking commands block only as a call of their own; see `crate::rest`.)
pub fn connection_state_command(spec: &CommandSpec) -> bool {
    let name = if spec.parent.is_empty() || spec.parent == spec.name { spec.name } else { spec.parent };
    matches!(
        name,
        "select"
            | "auth"
            | "hello"
            | "multi"
            | "exec"
            | "discard"
            | "watch"
            | "unwatch"
            | "monitor"
            | "reset"
            | "quit"
            | "sync"
            | "psync"
            | "replconf"
            | "subscribe"
            | "psubscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "sunsubscribe"
    ) || (spec.parent == "client" && matches!(spec.name, "reply" | "tracking" | "caching" | "setname" | "no-evict"))
}

/// How a tenant token's `SCAN`/`KEYS` reply must be filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confine {
    /// The reply goes out as it is.
    None,
    /// `KEYS`: an array of keys.
    KeysReply,
    /// `SCAN`: `[cursor, [keys]]`.
    ScanReply,
}

/// What a token may do with one command line: `Ok` with how to confine its reply, or the
/// error text of the refusal. `subscribing` is set for the SUBSCRIBE of an event stream.
pub fn check(
    token: &Token,
    spec: &'static CommandSpec,
    args: &[Bytes],
    tenants: &TenantRegistry,
    subscribing: bool,
) -> Result<Confine, String> {
    let full = spec.full_name();
    if !subscribing && connection_state_command(spec) {
        return Err(format!(
            "ERR '{}' is not available over the REST API (each call stands alone; use /multi-exec for transactions)",
            full.to_ascii_uppercase()
        ));
    }
    if token.readonly && !read_only_command(spec) {
        return Err(format!("NOPERM this token is read-only and may not run the '{full}' command"));
    }
    let Some(tenant) = token.tenant.as_deref() else {
        return Ok(Confine::None);
    };
    let refuse = || format!("NOPERM this token is bound to tenant '{tenant}' and may not run the '{full}' command");
    if spec.flags & (flags::ADMIN | flags::RUNS_SCRIPT) != 0 || matches!(spec.parent, "script" | "function") {
        return Err(refuse());
    }
    let own = |key: &[u8]| tenants.tenant_name(key) == tenant.as_bytes();
    let foreign_key = || format!("NOPERM this token may only access keys of tenant '{tenant}'");
    match spec.name {
        "publish" | "spublish" => {
            return if own(&args[1]) { Ok(Confine::None) } else { Err(foreign_key()) };
        }
        "subscribe" | "ssubscribe" if subscribing => {
            return if args[1..].iter().all(|c| own(c)) { Ok(Confine::None) } else { Err(foreign_key()) };
        }
        // Its own tenant's statistics and limits, by name.
        "info" | "getlimit" if spec.parent == "tenant" => {
            return if args[2] == tenant.as_bytes() { Ok(Confine::None) } else { Err(refuse()) };
        }
        "keys" => return Ok(Confine::KeysReply),
        "scan" => return Ok(Confine::ScanReply),
        "sort" | "sort_ro"
            if args[2..].iter().any(|a| a.eq_ignore_ascii_case(b"by") || a.eq_ignore_ascii_case(b"get")) =>
        {
            return Err(format!("NOPERM this token is bound to tenant '{tenant}': SORT with BY or GET is refused"));
        }
        _ => {}
    }
    if !spec.has_keys() {
        return if TENANT_KEYLESS_ALLOWED.contains(&spec.name) && spec.parent.is_empty() || spec.parent == "command" {
            Ok(Confine::None)
        } else {
            Err(refuse())
        };
    }
    let positions = spec.key_positions(args);
    if positions.iter().all(|&p| args.get(p).is_some_and(|k| own(k))) {
        Ok(Confine::None)
    } else {
        Err(foreign_key())
    }
}

/// Whether a readonly token may run the command: no write, admin or publish, and scripts
/// only in their read-only forms.
fn read_only_command(spec: &CommandSpec) -> bool {
    if spec.name == "pfcount" {
        // Marked may-replicate only because it caches its estimate in the value.
        return true;
    }
    if spec.flags & (flags::WRITE | flags::ADMIN | flags::MAY_REPLICATE) != 0 {
        return false;
    }
    if spec.flags & flags::RUNS_SCRIPT != 0 {
        return spec.name.ends_with("_ro");
    }
    match spec.parent {
        "script" => spec.name == "exists",
        "function" => matches!(spec.name, "list" | "stats" | "dump"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn token_lines() {
        let t = Token::parse(&words("app 0123456789abcdef0123 tenant acme readonly")).unwrap();
        assert_eq!(t.tenant.as_deref(), Some("acme"));
        assert!(t.readonly);
        assert!(Token::parse(&words("app short")).is_err());
        assert!(Token::parse(&words("app 0123456789abcdef0123 tenant")).is_err());
        assert!(Token::parse(&words("app 0123456789abcdef0123 bogus")).is_err());
        let dup = vec![words("a 0123456789abcdef0123"), words("b 0123456789abcdef0123")];
        assert!(Tokens::from_lines(&dup).is_err());
        let tokens = Tokens::from_lines(&[words("a 0123456789abcdef0123"), words("b 0123456789abcdef9999")]).unwrap();
        assert_eq!(tokens.find(b"0123456789abcdef9999").unwrap().name, "b");
        assert!(tokens.find(b"0123456789abcdef999").is_none());
        assert!(tokens.find(b"").is_none());
    }
}
