// KEYS[1] = lease set; ARGV = member, now, lease expiry, limit, force.
// Expired leases belong to jobs that vanished (or whose worker died and never came back):
// they are reclaimed before counting. A member already holding a slot just renews it.
// One key, so it runs on any Redis Cluster shard.
export const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
if ARGV[5] == '1' or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
`;
