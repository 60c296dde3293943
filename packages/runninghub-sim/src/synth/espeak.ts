import { decodeWav, type Pcm } from '../wav.js';
import { espeakLanguage } from './language.js';
import { runProcess } from './process.js';
import type { SpeechRequest } from './request.js';
import type { Synthesizer } from './synthesizer.js';
import { toSsml } from './text.js';
import { type VoiceProfile, voiceProfile } from './voice.js';

export const ESPEAK_COMMAND = 'espeak-ng';
// espeak-ng's own bounds for -s (words per minute) and -p (pitch).
const MIN_WPM = 80;
const MAX_WPM = 450;
// -p is not in semitones; about two steps a semitone keeps -12..12 audible and in range.
const PITCH_STEPS_PER_SEMITONE = 2;

const clamp = (value: number, min: number, max: number) =>
  Math.min(max, Math.max(min, Math.round(value)));

/** The command line speaking `speech` in `profile`: the voice's own settings, shifted by the line's. */
export function espeakArgs(speech: SpeechRequest, profile: VoiceProfile): string[] {
  const language = espeakLanguage(speech.language, speech.text);
  return [
    '-m',
    '--stdin',
    '--stdout',
    '-v',
    `${language}+${profile.variant}`,
    '-s',
    String(clamp(profile.wpm * speech.speed, MIN_WPM, MAX_WPM)),
    '-p',
    String(clamp(profile.pitch + speech.pitch * PITCH_STEPS_PER_SEMITONE, 0, 99)),
    '-g',
    String(profile.wordGap),
  ];
}

/** eSpeak NG (Debian's `espeak-ng`), one process per line. */
export class EspeakSynthesizer implements Synthesizer {
  readonly name = 'espeak-ng' as const;
  readonly cacheable = true;

  async render(speech: SpeechRequest): Promise<Pcm> {
    const args = espeakArgs(speech, voiceProfile(speech.voice));
    return decodeWav(await runProcess(ESPEAK_COMMAND, args, toSsml(speech.text)));
  }
}
