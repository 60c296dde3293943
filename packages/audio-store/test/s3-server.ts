import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';

// s3rver's built-in account: it checks every signature (headers and presigned queries) against it.
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** `METHOD /path?query` of every request so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

interface KoaContext {
  path: string;
  mountPath?: string;
  state: { vhost?: boolean };
}

/**
 * s3rver checks SigV4 against `/bucket` for bucket-level requests (ListObjectsV2,
 * DeleteObjects), where AWS, and the v3 SDK, sign the path as sent: `/bucket/`. Run just before
 * its router, this makes it compute `/bucket/` for those (through its virtual-host branch, which
 * appends `mountPath`), so signatures are still checked, not waved through.
 */
function signBucketPathsAsSent(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
  if (!ctx.state.vhost && /^\/[^/]+\/$/.test(ctx.path)) {
    ctx.state.vhost = true;
    ctx.mountPath = '/';
  }
  return next();
}

/** A real S3-protocol server (s3rver) on loopback, its objects in a temp folder. */
export async function startS3Server(bucket = 'voxline-audio'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'voxline-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const requests: string[] = [];
  server.middleware.unshift((ctx: KoaContext & { method: string; querystring: string }, next) => {
    requests.push(`${ctx.method} ${ctx.path}${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    return next();
  });
  server.middleware.splice(server.middleware.length - 1, 0, signBucketPathsAsSent);
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    requests,
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
