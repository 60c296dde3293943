/** A seeded PRNG returning floats in [0, 1): the same seed replays the same run. */
export type Random = () => number;

// mulberry32: tiny, fast and well distributed enough for simulated durations and faults.
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Independent streams from one seed, so that e.g. turning a fault on does not shift the
 * durations every later task draws.
 */
export function stream(seed: number, name: string): Random {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return mulberry32(h);
}

/** exp(sigma * N(0, 1)): median 1, right-skewed like real service times. */
export function logNormalFactor(random: Random, sigma: number): number {
  if (sigma === 0) return 1;
  // Box-Muller; 1 - u keeps the logarithm away from 0.
  const u = 1 - random();
  const v = random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.exp(sigma * z);
}

/** A 32-bit seed from a string (task id), for per-task determinism. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
