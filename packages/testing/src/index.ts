export { createTestDatabase, type TestDatabase } from './database.js';
export { freePort, listens } from './net.js';
export {
  assertBuilt,
  ENTRY_POINTS,
  type Exit,
  httpOk,
  NodeProcess,
  type NodeProcessOptions,
  startApi,
  startWorker,
  stopAll,
} from './process.js';
export { type Received, Receiver, type Reply, verifiesWith } from './receiver.js';
export { createTestRedis, type TestRedis } from './redis.js';
export {
  type ClusterNodeView,
  startRedisCluster,
  type ThrowawayCluster,
} from './redis-cluster.js';
export { startRedisServer, ThrowawayRedis } from './redis-server.js';
export { waitFor } from './wait.js';
