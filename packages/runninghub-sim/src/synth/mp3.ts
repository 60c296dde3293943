import { encodeWav, type Pcm } from '../wav.js';
import { runProcess } from './process.js';

export const LAME_COMMAND = 'lame';

/** MP3 by Debian's `lame`: mono, 64 kbit/s, ample for speech. */
export function encodeMp3(pcm: Pcm): Promise<Buffer> {
  return runProcess(LAME_COMMAND, ['--quiet', '-m', 'm', '-b', '64', '-', '-'], encodeWav(pcm));
}
