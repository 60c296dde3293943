export { createTestDatabase, type TestDatabase } from './database.js';
export { freePort, listens } from './net.js';
export { createTestRedis, type TestRedis } from './redis.js';
export {
  type ClusterNodeView,
  startRedisCluster,
  type ThrowawayCluster,
} from './redis-cluster.js';
export { startRedisServer, type ThrowawayRedis } from './redis-server.js';
export { waitFor } from './wait.js';
