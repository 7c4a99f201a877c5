//! `tenantcache [config-file | -] [--directive value ...]`, like `redis-server`; Dragonfly's
//! flags (`--logtostderr`, `--cache_mode=true`, ...) work too (see `cmdline`).

use tenantcache::cmdline::{self, Request};
use tenantcache::logging;

#[global_allocator]
static GLOBAL: tenantcache::base::alloc::Mimalloc = tenantcache::base::alloc::Mimalloc;

const USAGE: &str = "Usage: tenantcache [/path/to/tenantcache.conf] [--port 6379] [--<directive> value ...]
       tenantcache - (read the configuration from standard input)
       tenantcache --version
       tenantcache --help

Any directive of tenantcache.conf or redis.conf may be given as a flag; flags override the
file. Dragonfly's flags are accepted too: --flag=value, --flag, --noflag, --flagfile=path and
DFLY_<flag> environment variables.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("DFLY_")).collect();
    let invocation = match cmdline::parse(&args, &env) {
        Ok(Request::Help) => {
            println!("{USAGE}");
            return;
        }
        Ok(Request::Version) => {
            println!("tenantcache v={} redis_version={}", tenantcache::VERSION, tenantcache::REDIS_VERSION);
            return;
        }
        Ok(Request::Run(invocation)) => invocation,
        Err(e) => {
            eprintln!("\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n{e}\n\n{USAGE}", tenantcache::REDIS_VERSION);
            std::process::exit(1);
        }
    };
    let stdin_text = invocation.read_stdin.then(|| {
        use std::io::Read;
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("Fatal error, can't read the configuration from standard input: {e}");
            std::process::exit(1);
        }
        text
    });
    let config = match tenantcache::config::Config::load_all(
        invocation.config_file.as_deref(),
        stdin_text.as_deref(),
        &invocation.overrides,
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = logging::init(config.get("loglevel"), config.get("logfile")) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    tracing::warn!("oO0OoO0OoO0Oo tenantcache is starting oO0OoO0OoO0Oo");
    tracing::warn!(
        "tenantcache version={}, redis_version={}, bits={}, pid={}, just started",
        tenantcache::VERSION,
        tenantcache::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    if invocation.config_file.is_none() && stdin_text.is_none() {
        tracing::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use \
             tenantcache /path/to/tenantcache.conf"
        );
    } else {
        tracing::warn!("Configuration loaded");
    }
    for warning in invocation.warnings.iter().chain(config.warnings().iter()) {
        tracing::warn!("WARNING: {warning}");
    }
    if config.get_bool("heap-huge-pages") {
        // The heap in huge pages, everything else without (the big slot arrays ask for small
        // pages themselves): `disable-thp` then keeps no other huge pages to turn off, and
        // turning them off for the process would turn off the heap's too.
        tenantcache::base::alloc::use_huge_pages_for_heap();
    } else if config.get_bool("disable-thp") {
        disable_transparent_huge_pages();
    }
    let threads = config.get_u64("io-threads").max(1) as usize;
    // The multi-threaded scheduler even for one thread: a script running past
    // busy-reply-threshold hands its worker to another thread so that other clients get
    // -BUSY and SCRIPT KILL is heard (see tenantcache::scripting).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(tenantcache::server::run(config)) {
        tracing::warn!("{e}");
        std::process::exit(1);
    }
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
}

/// Turns transparent huge pages off for this process, as Redis does with `disable-thp yes`:
/// the first write to a huge page makes the kernel clear all 2 MiB of it while the server
/// waits, milliseconds at a time, as the heap grows.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
        tracing::warn!("WARNING: could not disable transparent huge pages: {}", std::io::Error::last_os_error());
    }
}
