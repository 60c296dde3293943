/**
 * Node's flags for every worker process, whoever starts it (the image, compose, `pnpm
 * start:worker`, the CLI's stack, the tests and the bench).
 *
 * A worker holds about 50 MB; what it allocates around that is short-lived (downloads, rows,
 * queries). Given no memory limit to size itself by (a container's, or this flag), V8 on a large
 * machine lets such a heap grow to four times what it holds before it collects: a worker storing
 * 400 files a second reached 290 MB. A limit of 512 MB makes V8 grow the heap less between
 * collections (the worker then peaks near 185 MB, at about a quarter less throughput) and is
 * still ten times what a worker holds. The static launchers (Dockerfile, docker-compose.yml,
 * package.json) spell it out; a test holds them to this list.
 */
export const WORKER_NODE_ARGS: readonly string[] = ['--max-old-space-size=512'];
