import { setTimeout as sleep } from 'node:timers/promises';
import type { VoiceResponse as Voice } from '@voxline/contract';
import { type ApiClient, ApiError } from '../api/client.js';
import { formatDuration } from '../output.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPIN_MS = 100;

/**
 * Polls `GET /v1/voices/:id` until the voice is `ready` or `failed`, with a spinner on a
 * terminal (a line per status change elsewhere, nothing with `quiet`). An API that cannot be
 * reached for a moment is waited out; a 4xx ends the wait.
 */
export async function waitForVoice(
  client: ApiClient,
  voice: Voice,
  options: { intervalMs: number; signal: AbortSignal; quiet: boolean },
): Promise<Voice> {
  const tty = process.stderr.isTTY && !options.quiet;
  const started = Date.now();
  let current = voice;
  let problem = '';
  let frame = 0;
  const draw = () => {
    frame = (frame + 1) % FRAMES.length;
    process.stderr.write(
      `\r\x1b[2K${FRAMES[frame]} voice ${current.id}: ${current.status} (${formatDuration(Date.now() - started)})${problem}`,
    );
  };
  const spinner = tty ? setInterval(draw, SPIN_MS) : null;
  let said = '';
  const say = () => {
    if (tty || options.quiet || said === current.status) return;
    said = current.status;
    process.stderr.write(`voice ${current.id}: ${current.status}\n`);
  };
  try {
    say();
    while (current.status === 'cloning') {
      await sleep(options.intervalMs, undefined, { signal: options.signal });
      try {
        current = await client.getVoice(current.id, options.signal);
        problem = '';
      } catch (error) {
        if (options.signal.aborted) throw error;
        if (!(error instanceof ApiError) || (error.status > 0 && error.status < 500)) throw error;
        problem = ` [${error.code}: retrying]`;
      }
      say();
    }
  } finally {
    if (spinner) {
      clearInterval(spinner);
      process.stderr.write('\r\x1b[2K');
    }
  }
  return current;
}
