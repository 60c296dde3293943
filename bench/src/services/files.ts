import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderWav } from '@voxline/runninghub-sim';

export interface ResultFiles {
  /** What the simulator hands out as the base of its result links (its `publicUrl`). */
  url: string;
  /** Files served. */
  served(): number;
  close(): Promise<void>;
}

// Distinct files in the pool, of lengths spread over the lines' 40-200 characters.
const POOL = 64;

/**
 * A file server for the simulator's result links, serving from memory a pool of the
 * simulator's own tone WAVs (rendered once, as long as 40-200 characters of text), picked by
 * the task id in the path. The simulator renders each file on every download, in the bench
 * process, which caps a copy of thousands of results at its own rate rather than the client's;
 * served from memory, the source is not what is measured.
 */
export async function startResultFiles(): Promise<ResultFiles> {
  const pool = Array.from({ length: POOL }, (_, i) =>
    renderWav(`pool-${i}`, 40 + Math.round((160 * i) / (POOL - 1))),
  );
  let served = 0;
  const server: Server = createServer((req, res) => {
    const taskId = /^\/files\/(\d+)\.wav(?:\?|$)/.exec(req.url ?? '')?.[1];
    if (req.method !== 'GET' || !taskId) {
      res.writeHead(404).end();
      return;
    }
    const pick = createHash('sha256').update(taskId).digest().readUInt32BE(0) % POOL;
    const bytes = pool[pick] as Buffer;
    served++;
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': bytes.length });
    res.end(bytes);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
