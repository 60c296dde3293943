import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { renderWav } from '@voxline/runninghub-sim';

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Incompressible bytes, so nothing on the way can make a wrong copy look right. */
export function noise(bytes: number): Buffer {
  return randomBytes(bytes);
}

/** Yields `bytes` in chunks of at most 64 KiB, as a network body would. */
export function chunked(bytes: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536);
    })(),
  );
}

/** The bytes a store's get returned, failing the test when it returned nothing. */
export async function readObject(object: { body: Readable } | null): Promise<Buffer> {
  if (!object) throw new Error('the store holds nothing under that key');
  return readAll(object.body);
}

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The simulator's 16 kHz mono WAV: `textLength` characters last textLength * 60 ms. */
export function wav(textLength: number): Buffer {
  return renderWav('audio-store-test', textLength);
}

/** Encodes a WAV to MP3 with Debian's lame, as the simulator does (CI installs it). */
export function mp3(wavBytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('lame', ['--quiet', '-m', 'm', '-b', '64', '-', '-']);
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', (error) =>
      reject(new Error(`lame could not run (apt-get install lame): ${error.message}`)),
    );
    child.once('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`lame exited with ${code}`)),
    );
    child.stdin.end(wavBytes);
  });
}
