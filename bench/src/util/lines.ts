/**
 * Narration lines for the benchmarks: deterministic (seeded), of realistic lengths, and unique
 * (a duplicate body would look like a duplicate submission to the simulator's accounting).
 */

// mulberry32, as the simulator uses: the same seed gives the same lines on every machine.
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the river ran cold under a pale sky while the old keeper counted lanterns and listened ' +
  'for boats that never came home before the winter storms closed every harbour on the coast'
).split(' ');

/** `count` lines whose lengths are uniform in [minChars, maxChars]. */
export function narrationLines(
  count: number,
  options: { seed?: number; minChars?: number; maxChars?: number; tag?: string } = {},
): string[] {
  const random = seeded(options.seed ?? 42);
  const minChars = options.minChars ?? 40;
  const maxChars = options.maxChars ?? 200;
  const tag = options.tag ?? 'Line';
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const target = minChars + Math.floor(random() * (maxChars - minChars + 1));
    let text = `${tag} ${i + 1}:`;
    while (text.length < target) text += ` ${WORDS[Math.floor(random() * WORDS.length)]}`;
    lines.push(`${text.slice(0, target - 1).trimEnd()}.`);
  }
  return lines;
}
