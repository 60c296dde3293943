import type { VoiceResponse as Voice } from '@voxline/contract';
import { billedCharacters } from '@voxline/runninghub';
import { readItems } from '../input/read.js';
import { lineSchema } from '../input/schema.js';
import { formatMoney } from '../watch/cost.js';
import type { FollowResult } from '../watch/follow.js';

/** The characters upstream bills for a txt narration (code points of its trimmed lines). */
export async function characters(file: string): Promise<number> {
  // The voice id length does not matter to a speech line's schema.
  const schema = lineSchema({ voiceIdMinLength: 1, mode: 'speech' });
  let count = 0;
  for await (const item of readItems(file, 'txt', schema)) {
    if ('record' in item) count += billedCharacters(item.record.text);
  }
  return count;
}

/**
 * What the narration cost, from the API's cost fields (the voice's clone, the batch's lines),
 * beside what the same lines would have cost as one voice-clone call each (the voice's own
 * per-clone price, times the lines): the way voxline worked before voices.
 */
export function costComparison(voice: Voice, result: FollowResult, chars: number): string[] {
  if (!result.money) return [];
  const currency = result.money.currency;
  const money = (n: number) => formatMoney(n, currency);
  const voiceCost = voice.cost.actual ?? voice.cost.estimated;
  const lines = result.money.spent;
  const total = voiceCost + lines;
  const perClone = voice.clones > 0 ? voice.cost.estimated / voice.clones : 0;
  const perLine = perClone * result.total;
  const ratio = total > 0 ? perLine / total : Number.NaN;
  const rows: Array<[string, string]> = [
    [`voice clone (once, ${voice.clones} call${voice.clones === 1 ? '' : 's'})`, money(voiceCost)],
    [`${result.total} speech lines (${chars.toLocaleString('en-US')} characters)`, money(lines)],
    ['total', money(total)],
    [
      `one clone a line instead (${result.total} × ${money(perClone)}, --per-line-clone)`,
      `${money(perLine)}${Number.isFinite(ratio) ? `, ${ratio.toFixed(0)}× more` : ''}`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `cost, from the API's cost fields (what upstream billed where it said so, else voxline's estimate):`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
  ];
}
