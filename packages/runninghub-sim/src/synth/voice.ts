import { createHash } from 'node:crypto';

/** How one voice sounds in eSpeak NG: a variant (timbre) and its own pitch, pace and gaps. */
export interface VoiceProfile {
  variant: string;
  /** espeak-ng -p, 0..99. */
  pitch: number;
  /** espeak-ng -s, words per minute. */
  wpm: number;
  /** espeak-ng -g, extra pause between words in 10 ms units. */
  wordGap: number;
}

// Variants that sound like a person reading (the robots, whispers and monsters are left out),
// male and female alternating so neighbouring hashes differ in kind, not only in pitch.
const VARIANTS = [
  'm1',
  'f1',
  'm2',
  'f2',
  'm3',
  'f3',
  'm4',
  'f4',
  'm5',
  'f5',
  'm6',
  'Annie',
  'm7',
  'Alicia',
  'm8',
  'belinda',
  'Andy',
  'linda',
  'edward',
  'steph',
  'quincy',
  'grandma',
  'rob',
  'aunty',
  'travis',
  'victor',
  'grandpa',
  'Michael',
] as const;

/** The same voice always maps to the same profile; different voices almost never collide. */
export function voiceProfile(voice: string): VoiceProfile {
  const digest = createHash('sha256').update(voice).digest();
  return {
    variant: VARIANTS[digest.readUInt32BE(0) % VARIANTS.length] ?? 'm1',
    pitch: 35 + (digest.readUInt8(4) % 31),
    wpm: 150 + (digest.readUInt8(5) % 41),
    wordGap: digest.readUInt8(6) % 2,
  };
}
