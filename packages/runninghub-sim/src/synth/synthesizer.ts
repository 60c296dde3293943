import type { Pcm } from '../wav.js';
import type { SpeechRequest } from './request.js';

export type SynthName = 'espeak-ng' | 'tone';

/** What turns a line into PCM. The simulator holds exactly one, chosen at start. */
export interface Synthesizer {
  readonly name: SynthName;
  /**
   * Whether the audio follows from the request alone (so it can be cached by the request):
   * speech does; the tone differs per task, as it always has.
   */
  readonly cacheable: boolean;
  render(speech: SpeechRequest, taskId: string): Promise<Pcm>;
}
