/**
 * Narration lines for the benchmarks: deterministic (seeded), of realistic lengths, and unique
 * (a duplicate body would look like a duplicate submission to the simulator's accounting).
 */
import { mulberry32 } from '@voxline/runninghub-sim';

const WORDS = (
  'the river ran cold under a pale sky while the old keeper counted lanterns and listened ' +
  'for boats that never came home before the winter storms closed every harbour on the coast'
).split(' ');

/** `count` lines whose lengths are uniform in [minChars, maxChars]. */
export function narrationLines(
  count: number,
  options: { seed?: number; minChars?: number; maxChars?: number; tag?: string } = {},
): string[] {
  // The simulator's generator: the same seed gives the same lines on every machine.
  const random = mulberry32(options.seed ?? 42);
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
