import { fileURLToPath } from 'node:url';

// This file compiles to bench/dist/paths.js: one level up is bench/, two is the repository.
export const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
/** Scratch space for logs, profiles and partial results; ignored by git. */
export const TMP_DIR = `${BENCH_DIR}.tmp`;

/** Preloaded into a worker process to count its Postgres and Redis round trips. */
export const PROBE = `${BENCH_DIR}dist/probe.js`;
