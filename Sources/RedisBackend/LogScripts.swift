/// The Lua scripts of ``RedisEventLog``. Each runs atomically in Redis, so several nodes may run any of
/// them at once. `KEYS[1]` is the log's key namespace (`rg:{<channel prefix>}:`); every key the scripts
/// touch starts with it, so they share one hash slot.
///
/// Layout under the namespace:
/// - `meta` (hash): `base`, the epoch's first position (`TIME` in ms × 1000 + 1, taken when the hash is
///   created, so a log recreated after data loss starts above every older position) and `head`.
/// - `c:<company>` (stream): the company's events, entry id `<position>-0`, fields `w` (the bus encoding
///   with position 0), `i` (event id) and one `s` per data subject.
/// - `log` (stream): every position in log order, field `c` (company), for node catch-up and full reads.
/// - `id:<company>` (hash): event id → position, for `event_id` cursors.
/// - `expiry` (sorted set): position scored by its expiry in ms (retention).
/// - `subj:<len>:<company><subject>` (set of positions) and `subjco:<subject>` (set of companies): erasure.
/// - `forgotten` (hash): `<len>:<company><subject>` (company empty for all) → when it was forgotten.
/// - `watermarks` (hash): company → the newest position retention removed before all kept events.
/// - `idem:<len>:<company><key>` (hash `c`, `i`, `p`): idempotency, expiring after the window.
///
/// Lua numbers are doubles: positions (below 2^53) are exact, and every number written back to Redis
/// goes through `num`, because Redis would otherwise format large ones with an exponent.
enum LogScripts {
    static let prelude = #"""
        local ns = KEYS[1]
        local function num(n) return string.format('%d', n) end
        local function lp(s) return #s .. ':' .. s end
        local meta = ns .. 'meta'
        local log = ns .. 'log'
        local expiry = ns .. 'expiry'
        local forgotten = ns .. 'forgotten'
        local watermarks = ns .. 'watermarks'
        local function company_stream(c) return ns .. 'c:' .. c end
        local function ids(c) return ns .. 'id:' .. c end
        local function subject_positions(c, s) return ns .. 'subj:' .. lp(c) .. s end
        local function subject_companies(s) return ns .. 'subjco:' .. s end
        local function ensure_meta()
            local found = redis.call('HMGET', meta, 'head', 'base')
            if found[1] then return tonumber(found[1]), tonumber(found[2]) end
            local t = redis.call('TIME')
            local base = (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) * 1000 + 1
            redis.call('HSET', meta, 'base', num(base), 'head', num(base - 1))
            return base - 1, base
        end
        local function remove_event(c, p)
            local id = p .. '-0'
            local stream = company_stream(c)
            local entry = redis.call('XRANGE', stream, id, id)[1]
            if not entry then return 0 end
            local fields = entry[2]
            for j = 1, #fields, 2 do
                if fields[j] == 'i' then redis.call('HDEL', ids(c), fields[j + 1])
                elseif fields[j] == 's' then redis.call('SREM', subject_positions(c, fields[j + 1]), p) end
            end
            redis.call('XDEL', stream, id)
            redis.call('XDEL', log, id)
            redis.call('ZREM', expiry, p)
            return 1
        end

        """#

    /// Appends events: per event the forgotten-subject check, the idempotency check, the position, the
    /// stores and the `PUBLISH` to every node, all in one atomic step.
    /// ARGV: now ms, dedup window ms, Redis channel prefix, floor (the highest position the calling node has
    /// seen: the head is raised to it, so positions are never given out twice after Redis lost its newest
    /// writes), count, then per event: bus encoding (position 0),
    /// event id, event type, company, has subject (0/1), subject, retention days, created ms, idempotency
    /// key, count of other subjects, the other subjects.
    /// Returns per event `{'a', position}`, `{'d', event id, position}` or `{'f'}`.
    static let append = RedisScript(
        name: "append",
        source: prelude + #"""
            local now, window, prefix, floor, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
            local head = ensure_meta()
            if floor > head then
                redis.call('HSET', meta, 'head', ARGV[4])
                head = floor
            end
            local out = {}
            local i = 6
            for _ = 1, n do
                local wire, id, kind, company = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
                local subjects = {}
                if ARGV[i + 4] == '1' then subjects[1] = ARGV[i + 5] end
                local retention, created, key, others = tonumber(ARGV[i + 6]), tonumber(ARGV[i + 7]), ARGV[i + 8], tonumber(ARGV[i + 9])
                for j = 1, others do subjects[#subjects + 1] = ARGV[i + 9 + j] end
                i = i + 10 + others
                local refused = false
                for _, s in ipairs(subjects) do
                    if redis.call('HEXISTS', forgotten, lp(company) .. s) == 1 or redis.call('HEXISTS', forgotten, lp('') .. s) == 1 then
                        refused = true
                        break
                    end
                end
                if refused then
                    out[#out + 1] = {'f'}
                else
                    local idem = ns .. 'idem:' .. lp(company) .. key
                    local seen = redis.call('HMGET', idem, 'c', 'i', 'p')
                    if seen[1] and tonumber(seen[1]) >= now - window then
                        out[#out + 1] = {'d', seen[2], seen[3]}
                    else
                        head = redis.call('HINCRBY', meta, 'head', 1)
                        local p = num(head)
                        local fields = {'w', wire, 'i', id}
                        for _, s in ipairs(subjects) do
                            fields[#fields + 1] = 's'
                            fields[#fields + 1] = s
                        end
                        redis.call('XADD', company_stream(company), p .. '-0', unpack(fields))
                        redis.call('XADD', log, p .. '-0', 'c', company)
                        redis.call('HSET', ids(company), id, p)
                        redis.call('ZADD', expiry, num(created + retention * 86400000), p)
                        for _, s in ipairs(subjects) do
                            redis.call('SADD', subject_positions(company, s), p)
                            redis.call('SADD', subject_companies(s), company)
                        end
                        redis.call('HSET', idem, 'c', ARGV[1], 'i', id, 'p', p)
                        redis.call('PEXPIRE', idem, num(window + 3600000))
                        redis.call('PUBLISH', prefix .. '.' .. kind, p .. ':' .. wire)
                        out[#out + 1] = {'a', p}
                    end
                end
            end
            return out
            """#
    )

    /// Reads up to ARGV[3] events after position ARGV[1], of company ARGV[2] (all when empty), and the head,
    /// from one snapshot. Returns `{head, position, encoding, position, encoding, ...}`.
    static let read = RedisScript(
        name: "read",
        source: prelude + #"""
            local after, company, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
            local head = ensure_meta()
            local out = {num(head)}
            local function add(entry)
                local fields = entry[2]
                for j = 1, #fields, 2 do
                    if fields[j] == 'w' then
                        out[#out + 1] = entry[1]
                        out[#out + 1] = fields[j + 1]
                        return
                    end
                end
            end
            if company ~= '' then
                for _, entry in ipairs(redis.call('XRANGE', company_stream(company), '(' .. after .. '-0', '+', 'COUNT', limit)) do add(entry) end
            else
                for _, entry in ipairs(redis.call('XRANGE', log, '(' .. after .. '-0', '+', 'COUNT', limit)) do
                    local full = redis.call('XRANGE', company_stream(entry[2][2]), entry[1], entry[1])[1]
                    if full then add(full) end
                end
            end
            return out
            """#
    )

    /// The head, creating the epoch when there is none. Returns `{head, base}` as decimal strings.
    static let head = RedisScript(
        name: "head",
        source: prelude + #"""
            local head, base = ensure_meta()
            return {num(head), num(base)}
            """#
    )

    /// Resolves a cursor of company ARGV[3]: ARGV[1] `p` (a position, ARGV[2]) or `i` (an event id).
    /// Returns `{'a', position}` or `{'x'}` (expired).
    static let resolve = RedisScript(
        name: "resolve",
        source: prelude + #"""
            local head, base = ensure_meta()
            local company = ARGV[3]
            local mark = tonumber(redis.call('HGET', watermarks, company) or '0')
            if ARGV[1] == 'p' then
                local p = tonumber(ARGV[2])
                if p < mark then return {'x'} end
                if p ~= 0 and (p < base - 1 or p > head) then return {'x'} end
                return {'a', ARGV[2]}
            end
            local p = redis.call('HGET', ids(company), ARGV[2])
            if not p or tonumber(p) < mark then return {'x'} end
            return {'a', p}
            """#
    )

    /// Forgets subject ARGV[1] in company ARGV[2] (every company when empty) at ARGV[3] ms and removes up to
    /// ARGV[4] of its events. Returns `{purged, already (0/1), more (0/1), company, ...}` (the companies that
    /// lost events); the caller calls again while `more` is 1.
    static let forget = RedisScript(
        name: "forget",
        source: prelude + #"""
            local subject, scope, budget = ARGV[1], ARGV[2], tonumber(ARGV[4])
            local already = redis.call('HSETNX', forgotten, lp(scope) .. subject, ARGV[3]) == 0
            local companies
            if scope ~= '' then companies = {scope} else companies = redis.call('SMEMBERS', subject_companies(subject)) end
            table.sort(companies)
            local purged, touched, more = 0, {}, 0
            for _, c in ipairs(companies) do
                local key = subject_positions(c, subject)
                local removed = 0
                while budget > 0 do
                    local batch = redis.call('SPOP', key, math.min(budget, 500))
                    if #batch == 0 then break end
                    for _, p in ipairs(batch) do removed = removed + remove_event(c, p) end
                    budget = budget - #batch
                end
                if removed > 0 then touched[#touched + 1] = c end
                purged = purged + removed
                if redis.call('SCARD', key) == 0 then
                    redis.call('DEL', key)
                    redis.call('SREM', subject_companies(subject), c)
                else
                    more = 1
                    break
                end
            end
            local out = {purged, already and 1 or 0, more}
            for _, c in ipairs(touched) do out[#out + 1] = c end
            return out
            """#
    )

    /// Removes up to ARGV[2] events whose expiry is at or before ARGV[1] ms, oldest expiry first, and moves
    /// each company's retention watermark. Returns how many were removed.
    static let purge = RedisScript(
        name: "purge",
        source: prelude + #"""
            local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
            local removed, count = {}, 0
            for _, p in ipairs(due) do
                local entry = redis.call('XRANGE', log, p .. '-0', p .. '-0')[1]
                if entry then
                    local c = entry[2][2]
                    count = count + remove_event(c, p)
                    removed[c] = removed[c] or {}
                    table.insert(removed[c], tonumber(p))
                else
                    redis.call('ZREM', expiry, p)
                end
            end
            for c, positions in pairs(removed) do
                local first = redis.call('XRANGE', company_stream(c), '-', '+', 'COUNT', 1)[1]
                local kept = first and tonumber(string.match(first[1], '^(%d+)')) or math.huge
                local start = nil
                for _, p in ipairs(positions) do
                    if p < kept and (not start or p > start) then start = p end
                end
                if start and start > tonumber(redis.call('HGET', watermarks, c) or '0') then
                    redis.call('HSET', watermarks, c, num(start))
                end
            end
            return count
            """#
    )

    static let all = [append, read, head, resolve, forget, purge]
}
