export { createTestDatabase, type TestDatabase } from './database.js';
export { createTestRedis, type TestRedis } from './redis.js';
export { freePort, startRedisServer, type ThrowawayRedis } from './redis-server.js';
export { listens } from './services.js';
export { waitFor } from './wait.js';
