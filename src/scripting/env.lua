-- The environment scripts run in, as Redis 7.0 builds it (script_lua.c, eval.c): the `redis`
-- API, Redis's pcall, math.random on Redis's generator, the error handler that adds the
-- script's source and line, and globals that scripts can read but never change.
--
-- Runs once when the Lua state is created. `api` holds what the server provides: `dispatch`
-- (runs a command: set anew for every script run), `sha1hex`, `log`, `setresp`, `set_repl`,
-- `random`, `randomseed`, `register_function`.
local api = ...

local error, type, tostring, select, unpack, rawget, rawset, setmetatable, getmetatable, next =
    error, type, tostring, select, unpack, rawget, rawset, setmetatable, getmetatable, next
local raw_pcall = pcall
local dbg = debug
local G = _G
local dispatch_of = api

-- Frames of this file and of C functions are skipped when an error names its place: the
-- place is the user's line that called redis.call, error, or read a missing global.
local here = dbg.getinfo(1, 'S').source

-- The error table redis.call left in `api.pending_error` when it raised (a Rust function can
-- raise only a userdata), in place of that userdata.
local function take_pending(err)
    if type(err) == 'userdata' then
        local pending = rawget(api, 'pending_error')
        if pending then
            rawset(api, 'pending_error', nil)
            return pending
        end
    end
    return err
end

local function error_handler(err)
    err = take_pending(err)
    local level, info = 2, nil
    while true do
        info = dbg.getinfo(level, 'nSl')
        if info == nil or (info.what ~= 'C' and info.source ~= here) then
            break
        end
        level = level + 1
    end
    if type(err) ~= 'table' then
        err = { err = 'ERR ' .. tostring(err) }
    end
    if info then
        err['source'] = info.source
        err['line'] = info.currentline
    end
    return err
end

local redis = {}

-- Functions of the server, so that `return redis.call(...)` is no tail call that would take
-- the caller's line out of an error's place (as Redis's C functions are not).
redis.call = api.call
redis.pcall = api.pcall

-- An error table as Redis's luaPushErrorBuff makes it: "-CODE msg" keeps its code, a bare
-- message gets ERR.
local function error_table(text)
    if text:sub(1, 1) == '-' then
        local space = text:find(' ', 1, true)
        if space then
            text = text:sub(2, space - 1) .. ' ' .. text:sub(space + 1)
        else
            text = 'ERR ' .. text:sub(2)
        end
    else
        text = 'ERR ' .. text
    end
    text = text:gsub('[\r\n]+$', '')
    return { err = text }
end

function redis.error_reply(text)
    if type(text) ~= 'string' then
        return error_table('wrong number or type of arguments')
    end
    if text:sub(1, 1) ~= '-' then
        text = '-' .. text
    end
    return error_table(text)
end

function redis.status_reply(text)
    if type(text) ~= 'string' then
        return error_table('wrong number or type of arguments')
    end
    return { ok = text }
end

function redis.sha1hex(...)
    if select('#', ...) ~= 1 then
        error(error_table('wrong number of arguments'))
    end
    return api.sha1hex(tostring((...)))
end

function redis.log(...)
    local n = select('#', ...)
    if n < 2 then
        error(error_table('redis.log() requires two arguments or more.'))
    end
    local level = ...
    if type(level) ~= 'number' then
        error(error_table('First argument must be a number (log level).'))
    end
    if level < 0 or level > 3 then
        error(error_table('Invalid debug level.'))
    end
    local parts = {}
    for i = 2, n do
        local v = select(i, ...)
        if type(v) == 'string' or type(v) == 'number' then
            parts[#parts + 1] = tostring(v)
        end
    end
    api.log(level, table.concat(parts, ' '))
end

function redis.setresp(...)
    if select('#', ...) ~= 1 then
        error(error_table('redis.setresp() requires one argument.'))
    end
    local resp = tonumber((...))
    if resp ~= 2 and resp ~= 3 then
        error(error_table('RESP version must be 2 or 3.'))
    end
    dispatch_of.setresp(resp)
end

function redis.set_repl(...)
    if select('#', ...) ~= 1 then
        error(error_table('redis.set_repl() requires two arguments.'))
    end
    local flags = tonumber((...)) or 0
    if flags ~= 0 and flags ~= 1 and flags ~= 2 and flags ~= 3 then
        error(error_table('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'))
    end
    dispatch_of.set_repl(flags)
end

function redis.acl_check_cmd(...)
    local allowed, failed = api.acl_check(...)
    if failed then
        error(allowed)
    end
    return allowed
end

function redis.breakpoint()
    return false
end

function redis.debug()
end

redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
redis.REPL_NONE = 0
redis.REPL_AOF = 1
redis.REPL_SLAVE = 2
redis.REPL_REPLICA = 2
redis.REPL_ALL = 3
redis.REDIS_VERSION = api.version
redis.REDIS_VERSION_NUM = api.version_num

-- Redis's pcall: an error raised as a table (redis.call's) is returned as its message.
local function pack(...)
    return { n = select('#', ...), ... }
end
local function redis_pcall(f, ...)
    local r = pack(raw_pcall(f, ...))
    if not r[1] then
        local e = r[2]
        e = take_pending(e)
        if type(e) == 'userdata' then
            e = tostring(e):gsub('^runtime error: ', '')
        end
        if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then
            e = e.err
        end
        return false, e
    end
    return unpack(r, 1, r.n)
end

G.math.random = api.random
G.math.randomseed = api.randomseed

-- Read-only views: reading goes through to the table, writing fails as in Redis, whose Lua
-- marks these tables read-only.
local readonly = {}
-- An assignment names the user's line, as Redis's Lua does; setmetatable and rawset, C
-- functions there, name none.
local function readonly_error()
    error('Attempt to modify a readonly table', 2)
end
local function readonly_call_error()
    error('Attempt to modify a readonly table', 0)
end
local function readonly_view(t)
    local view = {}
    local meta = { __index = t, __newindex = readonly_error }
    meta.__metatable = setmetatable({}, { __index = meta, __newindex = readonly_error })
    setmetatable(view, meta)
    readonly[view] = true
    return view
end

G.redis = readonly_view(redis)
for _, name in ipairs({ 'string', 'math', 'table', 'coroutine', 'cjson', 'bit', 'struct', 'cmsgpack' }) do
    if rawget(G, name) then
        G[name] = readonly_view(G[name])
    end
end

G.setmetatable = function(t, m)
    if readonly[t] then
        readonly_call_error()
    end
    return setmetatable(t, m)
end
G.rawset = function(t, k, v)
    if readonly[t] then
        readonly_call_error()
    end
    return rawset(t, k, v)
end
G.pcall = redis_pcall
G.loadfile = nil
G.dofile = nil
G.print = nil
G.debug = nil
G.module = nil
G.require = nil
G.package = nil
-- Bytecode is refused, as Redis's Lua refuses it: a string.dump'ed function does not load.
local raw_loadstring = loadstring
G.loadstring = function(s, name)
    if type(s) == 'string' and s:byte(1) == 27 then
        return nil, 'binary code not allowed'
    end
    return raw_loadstring(s, name)
end
G.load = nil

-- The globals scripts see: everything above, read-only; a missing name is an error.
local env = {}
local env_meta = {
    __index = function(_, name)
        if name == '_G' then
            return env
        end
        local v = rawget(G, name)
        if v == nil then
            error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
        end
        return v
    end,
    __newindex = readonly_error,
}
env_meta.__metatable = setmetatable({}, { __index = env_meta, __newindex = readonly_error })
setmetatable(env, env_meta)
readonly[env] = true

-- What library code sees while FUNCTION LOAD runs it: only redis.register_function, the log
-- and the version, as in Redis; at run time its functions see the globals above.
local function missing_global(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
local load_redis = {
    register_function = function(...)
        local err = api.register_function(...)
        if err then
            error(err)
        end
    end,
    log = redis.log,
    LOG_DEBUG = 0,
    LOG_VERBOSE = 1,
    LOG_NOTICE = 2,
    LOG_WARNING = 3,
    REDIS_VERSION = api.version,
    REDIS_VERSION_NUM = api.version_num,
}
local load_view = {}
local load_meta = { __index = function(_, name)
    local v = rawget(load_redis, name)
    if v == nil then
        missing_global(nil, name)
    end
    return v
end, __newindex = readonly_error }
load_meta.__metatable = setmetatable({}, { __index = load_meta, __newindex = readonly_error })
setmetatable(load_view, load_meta)
readonly[load_view] = true

local loading = false
local function_env = {}
local function_meta = {
    __index = function(t, name)
        if loading then
            if name == 'redis' then
                return load_view
            end
            missing_global(t, name)
        end
        return env[name]
    end,
    __newindex = readonly_error,
}
function_meta.__metatable = setmetatable({}, { __index = function_meta, __newindex = readonly_error })
setmetatable(function_env, function_meta)
readonly[function_env] = true
local function set_loading(on)
    loading = on
end

-- Sets KEYS and ARGV for an EVAL run (the globals are read-only to scripts only).
local function set_args(keys, args)
    rawset(G, 'KEYS', keys)
    rawset(G, 'ARGV', args)
end

-- Runs `f` with the error handler; returns ok, result.
local function run(f, ...)
    return xpcall(f, error_handler, ...)
end

local function run_with_args(f, keys, args)
    return xpcall(function()
        return f(keys, args)
    end, error_handler)
end

return {
    env = env,
    function_env = function_env,
    set_loading = set_loading,
    set_args = set_args,
    run = run,
    run_with_args = run_with_args,
}
