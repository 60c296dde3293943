import { LuaScript } from './lua.js';

/*
 * Start-time fair queuing over tenants. Each backlogged tenant sits in `tenants` scored by its
 * start tag; a free slot goes to the lowest (O(log tenants)), to that tenant's first line (one
 * ZRANGEBYLEX), and the grant charges it: finish = start + cost / weight, its next start tag is
 * that finish, and the virtual time moves up to the granted start. A tenant that joins (its list
 * was empty) starts at max(virtual time, its last finish): it cannot bank the time it was away,
 * nor skip the charge of its last grant by leaving and coming back. Only backlogged tenants are
 * ordered, so an idle share is used by whoever waits.
 *
 * A grant takes the slot (a lease) for the line in the same script that picks it. Whoever ran
 * the script then promotes the parked job; if it dies first, the job still runs at the end of
 * its safety delay and finds its lease, and a lease nobody uses expires.
 *
 * Numbers are written with %.17g: Lua's tostring keeps 14 digits, which would drift the tags.
 */
const PRELUDE = `
local leases, waiting, jobs, tenants, finish, weights, clock =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local SEP = string.char(0)
local AFTER = string.char(1)

local function fmt(x) return string.format('%.17g', x) end

local function split(member)
  local out, from = {}, 1
  while true do
    local at = string.find(member, SEP, from, true)
    if not at then
      out[#out + 1] = string.sub(member, from)
      return out
    end
    out[#out + 1] = string.sub(member, from, at - 1)
    from = at + 1
  end
end

local function head(tenant)
  return redis.call('ZRANGEBYLEX', waiting, '[' .. tenant .. SEP, '(' .. tenant .. AFTER,
    'LIMIT', 0, 1)[1]
end

local function vtime() return tonumber(redis.call('GET', clock) or '0') end

local function reclaim(now) redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) end

-- Removes a line from the waiting list; a tenant left with none leaves the ordering.
local function drop(tenant, member, id)
  redis.call('ZREM', waiting, member)
  redis.call('HDEL', jobs, id)
  if not head(tenant) then redis.call('ZREM', tenants, tenant) end
end

-- Registers a line unless it is already waiting or already holds a slot; 1 when added. A line
-- already waiting takes the new member: its cost is the latest estimate (lines that waited
-- since before the first estimate of their kind carry the default until they ask again, or the
-- reconciler's rebuild re-registers them).
local function enqueue(tenant, id, holder, member, weight)
  redis.call('HSET', weights, tenant, weight)
  local old = redis.call('HGET', jobs, id)
  if old then
    if old ~= member and split(old)[1] == tenant then
      redis.call('ZREM', waiting, old)
      redis.call('ZADD', waiting, 0, member)
      redis.call('HSET', jobs, id, member)
    end
    return 0
  end
  if redis.call('ZSCORE', leases, holder) then return 0 end
  redis.call('HSET', jobs, id, member)
  redis.call('ZADD', waiting, 0, member)
  if not redis.call('ZSCORE', tenants, tenant) then
    local last = tonumber(redis.call('HGET', finish, tenant) or '0')
    redis.call('ZADD', tenants, fmt(math.max(vtime(), last)), tenant)
  end
  return 1
end

-- Grants one slot to the next line by start tag; nil when nobody waits. A line whose holder
-- already has a slot (it got one another way) leaves the list uncharged.
local function pick(expiry)
  while true do
    local top = redis.call('ZRANGE', tenants, 0, 0, 'WITHSCORES')
    local tenant = top[1]
    if not tenant then return nil end
    local member = head(tenant)
    if not member then
      redis.call('ZREM', tenants, tenant)
    else
      local f = split(member)
      local id, holder = f[4], f[5]
      redis.call('ZREM', waiting, member)
      redis.call('HDEL', jobs, id)
      if not redis.call('ZSCORE', leases, holder) then
        local start = tonumber(top[2])
        local weight = tonumber(redis.call('HGET', weights, tenant) or '1')
        local tag = start + tonumber(f[6]) / weight
        redis.call('HSET', finish, tenant, fmt(tag))
        if start > vtime() then redis.call('SET', clock, fmt(start)) end
        if head(tenant) then
          redis.call('ZADD', tenants, fmt(tag), tenant)
        else
          redis.call('ZREM', tenants, tenant)
        end
        redis.call('ZADD', leases, expiry, holder)
        return { id, holder, tenant, expiry }
      end
      if not head(tenant) then redis.call('ZREM', tenants, tenant) end
    end
  end
end

-- Fills every free slot; appends job id, holder, tenant, lease expiry of each grant to out.
local function fill(limit, expiry, out)
  while redis.call('ZCARD', leases) < limit do
    local grant = pick(expiry)
    if not grant then break end
    for i = 1, 4 do out[#out + 1] = grant[i] end
  end
  return out
end
`;

const script = (body: string) => new LuaScript(`${PRELUDE}\n${body}`);

/**
 * An active job asks for a slot. ARGV: now, lease expiry, grant expiry, limit, then the waiter
 * (tenant, job id, holder, member, weight). A holder that has a slot renews it (a promoted job
 * finds the lease its grant took). Otherwise the line is registered and free slots are filled
 * in fair order; it gets one only if it is next. Returns { granted, grants of others... }.
 */
export const ACQUIRE = script(`
local now, expiry, grantExpiry, limit = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local tenant, id, holder, member, weight = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
reclaim(now)
if redis.call('ZSCORE', leases, holder) then
  redis.call('ZADD', leases, expiry, holder)
  return { 1 }
end
enqueue(tenant, id, holder, member, weight)
local grants = fill(limit, grantExpiry, {})
local out = { 0 }
for i = 1, #grants, 4 do
  if grants[i] == id then
    redis.call('ZADD', leases, expiry, holder)
    out[1] = 1
  else
    for j = i, i + 3 do out[#out + 1] = grants[j] end
  end
end
return out
`);

/**
 * The job is parked (delayed) now. ARGV: now, grant expiry, limit, then the waiter. A grant made
 * while it was on its way to park could not promote it: found here (its holder has a slot and
 * it waits no more), it comes back as the first grant, for its own promotion. Otherwise it is
 * registered if missing. Then free slots are filled. Returns the grants.
 */
export const PARKED = script(`
local now, grantExpiry, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local tenant, id, holder, member, weight = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
reclaim(now)
local out = {}
local own = redis.call('ZSCORE', leases, holder)
if own and redis.call('HEXISTS', jobs, id) == 0 then
  out = { id, holder, tenant, own }
else
  enqueue(tenant, id, holder, member, weight)
end
return fill(limit, grantExpiry, out)
`);

/**
 * A slot may be free: frees ARGV[4]'s lease when given, reclaims expired ones, and fills every
 * free slot. ARGV: now, grant expiry, limit, holder or '', expected expiry or ''. With an
 * expected expiry (a grant nobody can use, handOver) the lease is freed only if it is still
 * that grant's, never renewed by a job that took it up meanwhile. Returns the grants.
 */
export const RELEASE = script(`
local holder, expected = ARGV[4], ARGV[5]
if holder ~= '' then
  local score = redis.call('ZSCORE', leases, holder)
  if score and (expected == '' or tonumber(score) == tonumber(expected)) then
    redis.call('ZREM', leases, holder)
  end
end
reclaim(tonumber(ARGV[1]))
return fill(tonumber(ARGV[3]), ARGV[2], {})
`);

/** A line leaves the waiting list (canceled). ARGV: job id. Returns 1 if it was waiting. */
export const REMOVE = script(`
local member = redis.call('HGET', jobs, ARGV[1])
if not member then return 0 end
drop(split(member)[1], member, ARGV[1])
return 1
`);

/**
 * Registers many lines at once (the reconciler's rebuild from Postgres). ARGV: now, then five
 * per waiter. Lines already waiting or holding a slot are left as they are. Returns how many
 * were added.
 */
export const ENQUEUE_MANY = script(`
reclaim(tonumber(ARGV[1]))
local added = 0
for i = 2, #ARGV, 5 do
  added = added + enqueue(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end
return added
`);

/**
 * Renews (ARGV[4] = 'renew': only a live lease) or holds (ARGV[4] = 'hold': whatever the count)
 * a slot. ARGV: now, holder, expiry, mode. Returns 1 when the holder has the slot.
 */
export const LEASE = script(`
reclaim(tonumber(ARGV[1]))
if ARGV[4] == 'hold' or redis.call('ZSCORE', leases, ARGV[2]) then
  redis.call('ZADD', leases, ARGV[3], ARGV[2])
  return 1
end
return 0
`);
