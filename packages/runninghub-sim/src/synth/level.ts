import type { Pcm } from '../wav.js';

// -1 dBFS: normalised audio peaks just below full scale, as loudness tools leave it.
const NORMALISED_PEAK = 32767 * 10 ** (-1 / 20);

/**
 * need_volume_normalization, then the speech `volume` as a plain gain. Loud settings clip, as
 * they would in any 16-bit output.
 */
export function applyLevel(pcm: Pcm, options: { normalize: boolean; volume: number }): Pcm {
  let gain = options.volume;
  if (options.normalize) {
    let peak = 0;
    for (const s of pcm.samples) peak = Math.max(peak, Math.abs(s));
    if (peak > 0) gain *= NORMALISED_PEAK / peak;
  }
  if (gain === 1) return pcm;
  const samples = new Int16Array(pcm.samples.length);
  for (let i = 0; i < samples.length; i++) {
    samples[i] = Math.max(-32768, Math.min(32767, Math.round((pcm.samples[i] ?? 0) * gain)));
  }
  return { sampleRate: pcm.sampleRate, samples };
}
