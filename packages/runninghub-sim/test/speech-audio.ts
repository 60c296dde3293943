import type { Pcm } from '../src/wav.js';

/** Short-time energy and zero-crossing rate per 20 ms frame. */
export function frameStats(pcm: Pcm, frameMs = 20): { energy: number[]; zcr: number[] } {
  const size = Math.round((pcm.sampleRate * frameMs) / 1000);
  const energy: number[] = [];
  const zcr: number[] = [];
  for (let start = 0; start + size <= pcm.samples.length; start += size) {
    let sum = 0;
    let crossings = 0;
    for (let i = start; i < start + size; i++) {
      const s = pcm.samples[i] ?? 0;
      sum += (s / 32768) ** 2;
      if (i > start && (pcm.samples[i - 1] ?? 0) < 0 !== s < 0) crossings++;
    }
    energy.push(sum / size);
    zcr.push((crossings * 1000) / frameMs);
  }
  return { energy, zcr };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function coefficientOfVariation(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return mean === 0 ? 0 : Math.sqrt(variance) / mean;
}

// Fricatives (s, sh, f) are noise and cross zero thousands of times a second; voiced sounds
// cross at about their pitch and formants.
const FRICATIVE_MIN_ZCR = 2_500;

/** Over the frames that sound (louder than -30 dB under the loudest). */
export function speechMeasures(pcm: Pcm) {
  const { energy, zcr } = frameStats(pcm);
  const loudest = Math.max(...energy);
  const sounding = energy.flatMap((e, i) => (e > loudest / 1_000 ? [{ e, z: zcr[i] ?? 0 }] : []));
  const loud = sounding.map((f) => f.e);
  return {
    /** Loudness spread, dB between the 90th and the 10th percentile frame. */
    energySpreadDb: 10 * Math.log10(quantile(loud, 0.9) / Math.max(1e-12, quantile(loud, 0.1))),
    /** How much the crossing rate moves from frame to frame (standard deviation over mean). */
    zcrVariation: coefficientOfVariation(sounding.map((f) => f.z)),
    fricativeShare: sounding.filter((f) => f.z > FRICATIVE_MIN_ZCR).length / sounding.length,
  };
}

/**
 * Speech: loudness moving over a wide range (syllables, stops, pauses), and a crossing rate
 * that jumps between voiced sounds and fricatives. A tone's crossing rate is its pitch, a
 * narrow band with no fricative frame (measured: variation 0.26-0.30 against speech's
 * 0.5-1.5 across the voice variants); steady noise varies in neither.
 */
export function isSpeechLike(pcm: Pcm): boolean {
  const m = speechMeasures(pcm);
  return m.energySpreadDb > 10 && m.zcrVariation > 0.4 && m.fricativeShare > 0.05;
}
