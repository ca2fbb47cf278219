/// The GCRA script of ``RedisRateLimitStore``: the same algorithm as `GCRA` in GatewayModel, in whole
/// microseconds instead of nanoseconds, with every value scaled by `limit` so rates such as 3 per second
/// stay exact. Lua numbers are doubles; every product stays below 2^53 (`burst × period` is at most
/// 10^6 × 3.6 × 10^9 µs), and divisions are corrected to exact integer quotients.
enum RateLimitScripts {
    /// ARGV: now in µs (empty: Redis `TIME`, one clock for every node), extra lifetime of a state in ms (0 on
    /// Redis' clock: a state expires when it has drained; a manual clock needs more), count, then per check: key suffix,
    /// limit, period µs, burst, shadow (0/1). All checks are decided first; the states are written only
    /// when no non-shadow check refused. Returns per check `{allowed, exceeded, remaining, retry µs, reset µs}`.
    static let acquire = RedisScript(
        name: "gcra",
        source: #"""
            local ns = KEYS[1]
            local function num(n) return string.format('%d', n) end
            local function divmod(a, b)
                local q = math.floor(a / b)
                local r = a - q * b
                if r < 0 then q, r = q - 1, r + b elseif r >= b then q, r = q + 1, r - b end
                return q, r
            end
            local function ceildiv(a, b)
                if a <= 0 then return 0 end
                local q, r = divmod(a, b)
                if r > 0 then q = q + 1 end
                return q
            end
            local now
            if ARGV[1] ~= '' then
                now = tonumber(ARGV[1])
            else
                local t = redis.call('TIME')
                now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            end
            local slack = tonumber(ARGV[2])
            local n = tonumber(ARGV[3])
            local out, writes, refused = {}, {}, false
            for c = 1, n do
                local base = 4 + (c - 1) * 5
                local key = ns .. 'rl:' .. ARGV[base]
                local limit, period, burst, shadow = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]), ARGV[base + 4] == '1'
                local capacity = burst * period
                local current = 0
                local state = redis.call('GET', key)
                if state then
                    local tat, fraction = string.match(state, '^(%d+):(%d+)$')
                    tat, fraction = tonumber(tat), tonumber(fraction)
                    if tat and tat >= now then
                        local ahead = tat - now
                        if ahead > ceildiv(capacity, limit) + 1 then current = capacity else current = math.min(ahead * limit + fraction, capacity) end
                    end
                end
                local needed = current + period
                if needed > capacity then
                    out[c] = {shadow and 1 or 0, 1, math.floor((capacity - current) / period), ceildiv(needed - capacity, limit), ceildiv(current, limit)}
                    if not shadow then refused = true end
                else
                    local q, r = divmod(needed, limit)
                    local reset = ceildiv(needed, limit)
                    writes[#writes + 1] = {key, num(now + q) .. ':' .. num(r), num(math.floor(reset / 1000) + 1 + slack)}
                    out[c] = {1, 0, math.floor((capacity - needed) / period), 0, reset}
                end
            end
            if not refused then
                for _, w in ipairs(writes) do redis.call('SET', w[1], w[2], 'PX', w[3]) end
            end
            return out
            """#
    )
}
