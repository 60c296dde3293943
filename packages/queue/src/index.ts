export * from './callbacks.js';
export * from './catalog.js';
export {
  createRedis,
  type RedisClient,
  type RedisRole,
  type RedisTarget,
  redisTarget,
  waitForRedis,
} from './connection.js';
export * from './fair/index.js';
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
export * from './voices/index.js';
