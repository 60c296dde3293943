/** Test hooks written into the text: `[[sim:submit=1505]]`, `[[sim:task=2039]]`, ... */
export interface Markers {
  /** The submit itself fails with this code. */
  submitCode: string | null;
  /** The task is accepted and ends FAILED with this code. */
  taskCode: string | null;
  /** The task stays RUNNING for ever. */
  never: boolean;
  /** The task takes exactly this long instead of a drawn duration. */
  durationMs: number | null;
  /** The text without markers: what durations and the audio length follow. */
  text: string;
}

const MARKER = /\[\[sim:([a-z]+)(?:=([^\]]*))?\]\]/g;

export class MarkerError extends Error {}

export function parseMarkers(text: string): Markers {
  const out: Markers = { submitCode: null, taskCode: null, never: false, durationMs: null, text };
  for (const match of text.matchAll(MARKER)) {
    const [whole, name, value = ''] = match;
    const numeric = /^\d+$/.test(value);
    if (name === 'submit' && numeric) out.submitCode = value;
    else if (name === 'task' && numeric) out.taskCode = value;
    else if (name === 'never' && value === '') out.never = true;
    else if (name === 'duration' && numeric) out.durationMs = Number(value);
    // A typo in a marker would otherwise run a normal task and make a test pass for nothing.
    else throw new MarkerError(`unknown simulator marker ${whole}`);
  }
  out.text = text.replace(MARKER, '');
  return out;
}
