/**
 * MiniMax's interjections (speech-2.8: `(laughs)`, `(sighs)`, `(breath)`, ...) are sounds, not
 * words: each becomes something eSpeak NG can voice, or a pause. Any other parenthesis is
 * ordinary text and is read as such.
 */
const INTERJECTIONS: Record<string, string | null> = {
  laughs: 'ha ha ha',
  chuckle: 'heh heh',
  coughs: 'ahem',
  'clear-throat': 'ahem',
  groans: 'ugh',
  emm: 'um',
  humming: 'hmm',
  sneezes: 'achoo',
  // Breathing sounds and the like: eSpeak NG has no voice for them, a short pause stands in.
  breath: null,
  pant: null,
  inhale: null,
  exhale: null,
  gasps: null,
  sniffs: null,
  sighs: null,
  snorts: null,
  burps: null,
  'lip-smacking': null,
  hissing: null,
};

const INTERJECTION = new RegExp(`\\((${Object.keys(INTERJECTIONS).join('|')})\\)`, 'gi');
const PAUSE = '<break time="350ms"/>';

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The line as SSML for `espeak-ng -m`: escaped, interjections voiced or paused. */
export function toSsml(text: string): string {
  const body = escapeXml(text).replace(INTERJECTION, (_whole, name: string) => {
    const sound = INTERJECTIONS[name.toLowerCase()];
    return sound ? `${PAUSE}${sound}${PAUSE}` : PAUSE;
  });
  return `<speak>${body}</speak>`;
}
