//! `tenantcache [config-file] [--directive value ...]`, like `redis-server`.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

const USAGE: &str = "Usage: tenantcache [/path/to/tenantcache.conf] [--port 6379] [--<directive> value ...]
       tenantcache --version
       tenantcache --help

Any directive of tenantcache.conf may be given as a flag; flags override the file.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("tenantcache v={} redis_version={}", tenantcache::VERSION, tenantcache::REDIS_VERSION);
        return;
    }
    let (file, overrides) = match parse_args(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            std::process::exit(1);
        }
    };
    let config = match tenantcache::config::Config::load(file.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("*** FATAL CONFIG ERROR *** {e}");
            std::process::exit(1);
        }
    };
    tenantcache::logging::init(config.get("loglevel"));
    let threads = config.get_u64("io-threads").max(1) as usize;
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    }
    .expect("tokio runtime");
    if let Err(e) = runtime.block_on(tenantcache::server::run(config)) {
        eprintln!("fatal: {e}");
        std::process::exit(1);
    }
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
}

/// `--name value...` overrides from the command line, in order.
type Overrides = Vec<(String, Vec<String>)>;

/// Splits the command line into an optional config file and its overrides.
fn parse_args(args: &[String]) -> Result<(Option<String>, Overrides), String> {
    let mut file = None;
    let mut overrides: Overrides = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if let Some(name) = a.strip_prefix("--") {
            overrides.push((name.to_string(), Vec::new()));
        } else if let Some(last) = overrides.last_mut() {
            last.1.push(a.clone());
        } else if i == 0 {
            file = Some(a.clone());
        } else {
            return Err(format!("unexpected argument '{a}'"));
        }
    }
    Ok((file, overrides))
}
