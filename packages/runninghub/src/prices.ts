import { z } from 'zod';
import type { SpeechModel } from './speech.js';

/** What voxline pays upstream, in CNY: a voice-clone call, and speech per 1,000 characters. */
export interface PriceList {
  currency: 'CNY';
  voiceClonePerCall: number;
  speechPer1kChars: Record<SpeechModel, number>;
}

// RunningHub's public price list, 2026-04-29 (contract, "Price").
export const PUBLIC_PRICES: PriceList = {
  currency: 'CNY',
  voiceClonePerCall: 3.12,
  speechPer1kChars: {
    'speech-02-hd': 0.31,
    'speech-02-turbo': 0.19,
    'speech-2.6-hd': 0.62,
    'speech-2.8-hd': 0.62,
    'speech-2.6-turbo': 0.37,
    'speech-2.8-turbo': 0.37,
  },
};

/** Overrides of the public list, as RUNNINGHUB_PRICES holds them: endpoint name → price. */
export const priceOverridesSchema = z
  .object({
    'voice-clone': z.number().min(0).optional(),
    'speech-02-hd': z.number().min(0).optional(),
    'speech-02-turbo': z.number().min(0).optional(),
    'speech-2.6-hd': z.number().min(0).optional(),
    'speech-2.6-turbo': z.number().min(0).optional(),
    'speech-2.8-hd': z.number().min(0).optional(),
    'speech-2.8-turbo': z.number().min(0).optional(),
  })
  .strict();
export type PriceOverrides = z.infer<typeof priceOverridesSchema>;

export function priceList(overrides: PriceOverrides = {}): PriceList {
  const { 'voice-clone': clone, ...speech } = overrides;
  return {
    currency: 'CNY',
    voiceClonePerCall: clone ?? PUBLIC_PRICES.voiceClonePerCall,
    speechPer1kChars: { ...PUBLIC_PRICES.speechPer1kChars, ...speech },
  };
}

/**
 * Characters as upstream bills them: Unicode code points, so an emoji or a CJK character
 * outside the BMP counts once, not as two UTF-16 units.
 */
export function billedCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

// Sums of many small prices stay exact to this many decimals (a 1-character line at 0.19
// per 1,000 costs 0.00019).
const PRICE_DECIMALS = 6;

export function roundPrice(value: number): number {
  const factor = 10 ** PRICE_DECIMALS;
  return Math.round(value * factor) / factor;
}

/** What one task is expected to cost, before it runs. */
export function estimateTaskCost(
  prices: PriceList,
  task: { kind: 'voice_clone' } | { kind: 'speech'; model: SpeechModel; text: string },
): number {
  if (task.kind === 'voice_clone') return prices.voiceClonePerCall;
  return roundPrice((prices.speechPer1kChars[task.model] * billedCharacters(task.text)) / 1_000);
}

/** `usage.consumeMoney` as a number: null when upstream sent nothing readable. */
export function actualCost(consumeMoney: string | null | undefined): number | null {
  if (consumeMoney === null || consumeMoney === undefined || consumeMoney.trim() === '')
    return null;
  const value = Number(consumeMoney);
  return Number.isFinite(value) && value >= 0 ? value : null;
}
