//! Redis 7 functions: libraries loaded with FUNCTION LOAD (`#!lua name=lib` and code that
//! calls `redis.register_function`), whose functions FCALL runs by name. The library code
//! runs once, at load, to register its functions; a library is replaced or deleted whole.

use super::{lua_message, ScriptFlags};
use bytes::Bytes;
use mlua::{Lua, RegistryKey, Table, Value, Variadic};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A registered function.
pub struct Function {
    pub key: RegistryKey,
    pub flags: ScriptFlags,
    pub description: Option<String>,
}

/// A loaded library: its code and its functions.
pub struct Library {
    pub code: Bytes,
    pub functions: BTreeMap<String, Function>,
}

/// How library code is run at load: its globals (which show only the load-time API while
/// loading), the switch between the two views, and the run wrapper with the error handler.
pub struct Loader {
    pub env: RegistryKey,
    pub set_loading: RegistryKey,
    pub run: RegistryKey,
}

/// Functions registered by the library code being loaded (`None` outside FUNCTION LOAD).
type Collector = Arc<Mutex<Option<Vec<(String, Function)>>>>;

/// All libraries, by name.
#[derive(Default)]
pub struct Libraries {
    pub libs: BTreeMap<String, Library>,
    collector: Collector,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Installs `api.register_function`, which collects what the library being loaded registers.
pub fn install(lua: &Lua, api: &Table, libraries: &Libraries) -> mlua::Result<()> {
    let collector = libraries.collector.clone();
    let register = lua.create_function(move |lua, args: Variadic<Value>| {
        let fail = |msg: &str| -> mlua::Result<Value> { Ok(Value::Table(super::convert::error_table(lua, msg)?)) };
        let mut guard = collector.lock();
        let Some(registered) = guard.as_mut() else {
            return fail("redis.register_function can only be called on FUNCTION LOAD command");
        };
        let (name, callback, flags, description) = match args.len() {
            1 => {
                let Value::Table(t) = &args[0] else {
                    return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
                };
                let (mut name, mut callback, mut flags, mut description) = (None, None, ScriptFlags::default(), None);
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    let Value::String(k) = k else {
                        return fail("named argument key given to redis.register_function is not a string");
                    };
                    match k.to_str().unwrap_or("").to_ascii_lowercase().as_str() {
                        "function_name" => match v {
                            Value::String(s) => name = Some(s.to_string_lossy().into_owned()),
                            _ => return fail("function_name argument given to redis.register_function must be a string"),
                        },
                        "description" => match v {
                            Value::String(s) => description = Some(s.to_string_lossy().into_owned()),
                            _ => return fail("description argument given to redis.register_function must be a string"),
                        },
                        "callback" => match v {
                            Value::Function(f) => callback = Some(f),
                            _ => return fail("callback argument given to redis.register_function must be a function"),
                        },
                        "flags" => {
                            let Value::Table(list) = v else {
                                return fail("flags argument to redis.register_function must be a table representing function flags");
                            };
                            for f in list.sequence_values::<Value>() {
                                match f? {
                                    Value::String(s) if flags.set(s.to_str().unwrap_or("")) => {}
                                    _ => return fail("unknown flag given"),
                                }
                            }
                        }
                        _ => return fail("unknown argument given to redis.register_function"),
                    }
                }
                let Some(name) = name else {
                    return fail("redis.register_function must get a function name argument");
                };
                let Some(callback) = callback else {
                    return fail("redis.register_function must get a callback argument");
                };
                (name, callback, flags, description)
            }
            2 => {
                let name = match &args[0] {
                    Value::String(s) => s.to_string_lossy().into_owned(),
                    Value::Integer(i) => i.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => return fail("first argument to redis.register_function must be a string"),
                };
                let Value::Function(f) = &args[1] else {
                    return fail("second argument to redis.register_function must be a function");
                };
                (name, f.clone(), ScriptFlags::default(), None)
            }
            _ => return fail("wrong number of arguments to redis.register_function"),
        };
        if !valid_name(&name) {
            return fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
        }
        if registered.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return fail("Function already exists in the library");
        }
        let key = lua.create_registry_value(callback)?;
        registered.push((name, Function { key, flags, description }));
        Ok(Value::Nil)
    })?;
    api.set("register_function", register)
}

impl Libraries {
    /// An empty set whose loads register through the same `redis.register_function` (FUNCTION
    /// RESTORE loads into one before it touches the live set).
    pub fn default_sharing(other: &Libraries) -> Libraries {
        Libraries { libs: BTreeMap::new(), collector: other.collector.clone() }
    }

    /// (libraries, functions, bytes of code).
    pub fn stats(&self) -> (usize, usize, usize) {
        let functions = self.libs.values().map(|l| l.functions.len()).sum();
        let code = self.libs.values().map(|l| l.code.len()).sum();
        (self.libs.len(), functions, code)
    }

    /// The function named `name` and its flags.
    pub fn function<'lua>(&self, lua: &'lua Lua, name: &str) -> Option<(mlua::Function<'lua>, ScriptFlags)> {
        // Function names are matched without regard to case, as in Redis.
        let f = self.libs.values().flat_map(|l| l.functions.iter()).find(|(n, _)| n.eq_ignore_ascii_case(name))?.1;
        Some((lua.registry_value(&f.key).ok()?, f.flags))
    }

    /// FUNCTION LOAD: the library's name, or Redis's error text.
    pub fn load(&mut self, lua: &Lua, loader: &Loader, code: &Bytes, replace: bool) -> Result<String, String> {
        let env: Table = lua.registry_value(&loader.env).map_err(|e| e.to_string())?;
        let run: mlua::Function = lua.registry_value(&loader.run).map_err(|e| e.to_string())?;
        let set_loading: mlua::Function = lua.registry_value(&loader.set_loading).map_err(|e| e.to_string())?;
        let (name, engine, body_at) = metadata(code)?;
        if !valid_name(&name) {
            return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        if !engine.eq_ignore_ascii_case("lua") {
            return Err(format!("ERR Engine '{engine}' not found"));
        }
        if self.libs.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let chunk = lua
            .load(&code[body_at..])
            .set_name("@user_function")
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(|e| format!("ERR Error compiling function: {}", lua_message(&e)))?;
        *self.collector.lock() = Some(Vec::new());
        let started = std::time::Instant::now();
        lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
            if started.elapsed() > std::time::Duration::from_millis(500) {
                return Err(mlua::Error::RuntimeError("FUNCTION LOAD timeout".into()));
            }
            Ok(())
        });
        let _ = set_loading.call::<_, ()>(true);
        let ran = run.call::<_, (bool, Value)>(chunk);
        let _ = set_loading.call::<_, ()>(false);
        lua.remove_hook();
        let registered = self.collector.lock().take().unwrap_or_default();
        let failure = match ran {
            Ok((true, _)) => None,
            Ok((false, Value::Table(t))) => Some(super::error_text(&t).0),
            Ok((false, other)) => Some(format!(
                "ERR {}",
                lua.coerce_string(other).ok().flatten().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
            )),
            Err(e) => Some(format!("ERR {}", lua_message(&e))),
        };
        if let Some(msg) = failure {
            for (_, f) in registered {
                let _ = lua.remove_registry_value(f.key);
            }
            return Err(format!("ERR Error registering functions: {msg}"));
        }
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        for (fname, _) in &registered {
            let taken = self
                .libs
                .iter()
                .any(|(lib, l)| *lib != name && l.functions.keys().any(|f| f.eq_ignore_ascii_case(fname)));
            if taken {
                let fname = fname.clone();
                for (_, f) in registered {
                    let _ = lua.remove_registry_value(f.key);
                }
                return Err(format!("ERR Function {fname} already exists"));
            }
        }
        if let Some(old) = self.libs.remove(&name) {
            for (_, f) in old.functions {
                let _ = lua.remove_registry_value(f.key);
            }
        }
        self.libs.insert(name.clone(), Library { code: code.clone(), functions: registered.into_iter().collect() });
        Ok(name)
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, lua: &Lua, name: &str) -> bool {
        match self.libs.remove(name) {
            Some(lib) => {
                for (_, f) in lib.functions {
                    let _ = lua.remove_registry_value(f.key);
                }
                true
            }
            None => false,
        }
    }

    /// FUNCTION FLUSH.
    pub fn flush(&mut self, lua: &Lua) {
        let names: Vec<String> = self.libs.keys().cloned().collect();
        for n in names {
            self.delete(lua, &n);
        }
    }
}

/// `#!<engine> name=<library>` on the first line: (name, engine, where the code starts).
pub fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = memchr::memchr(b'\n', code) else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_whitespace();
    let Some(first) = parts.next() else {
        return Err("ERR Invalid library metadata".into());
    };
    let engine = first[2..].to_string();
    let mut name = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err("ERR Invalid metadata value, name argument was given multiple times".into());
            }
            // The line is split as Redis's sdssplitargs splits it: a quoted value loses its quotes.
            let value = &part[5..];
            let unquoted = ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)));
            name = Some(unquoted.unwrap_or(value).to_string());
            continue;
        }
        return Err(format!("ERR Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    Ok((name, engine, end))
}
