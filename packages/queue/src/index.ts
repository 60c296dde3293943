export * from './catalog.js';
export { createRedis, type RedisRole, waitForRedis } from './connection.js';
export { checkRedisReadiness, type RedisReadiness } from './readiness.js';
export {
  closeQueues,
  createQueues,
  type EnqueueItem,
  enqueue,
  parsePayload,
  type Queues,
} from './registry.js';
export * from './slots/index.js';
