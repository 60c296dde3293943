import { decodeWav, type Pcm, renderWav } from '../wav.js';
import type { SpeechRequest } from './request.js';
import type { Synthesizer } from './synthesizer.js';

/** The fallback: tone syllables as long as the text, per task, at the line's speed. */
export class ToneSynthesizer implements Synthesizer {
  readonly name = 'tone' as const;
  readonly cacheable = false;

  async render(speech: SpeechRequest, taskId: string): Promise<Pcm> {
    return decodeWav(renderWav(taskId, Array.from(speech.text).length, speech.speed));
  }
}
