import type { Random } from './prng.js';

/**
 * RunningHub's answers are not one fixed shape: usage fields are left out or null, numbers come
 * as JSON numbers or as strings, `usage` itself may be null, codes may be numbers, fields are
 * added, and a result may carry only `outputUrl` (runninghub-contract.md, query). With
 * `shapeVariety` p > 0 the simulator re-dresses each v2 answer it gives: every such detail takes
 * one of its other forms with probability p, drawn from the seeded `shapes` stream, so a seed
 * replays the same answers for the same requests. What an answer means never changes.
 */
export function varyShape(
  body: Record<string, unknown>,
  random: Random,
  p: number,
): Record<string, unknown> {
  const chance = () => random() < p;
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)] as T;
  const out: Record<string, unknown> = { ...body };

  if (chance()) {
    // A code as a JSON number; a fine answer's empty code left out.
    if (out.errorCode === '') delete out.errorCode;
    else if (typeof out.errorCode === 'string') out.errorCode = Number(out.errorCode);
  }
  if (chance() && out.errorMessage === '') out.errorMessage = pick([null, undefined]);
  if (chance()) delete out.clientId;
  if (chance()) delete out.promptTips;
  if (chance() && !('failedReason' in out)) out.failedReason = pick([{}, null]);
  if (chance() && typeof out.failedReason === 'object' && out.failedReason !== null) {
    const reason = out.failedReason as Record<string, unknown>;
    if (Object.keys(reason).length > 0) out.failedReason = JSON.stringify(reason);
  }
  if (chance()) out.traceId = Math.floor(random() * 2 ** 32).toString(16);
  if (chance()) out.progress = pick([100, '100', null]);

  if (out.usage && typeof out.usage === 'object') {
    out.usage = chance() ? null : varyUsage(out.usage as Record<string, unknown>, chance, pick);
  } else if (chance()) {
    out.usage = null;
  }
  if (Array.isArray(out.results)) {
    out.results = out.results.map((result: Record<string, unknown>) =>
      varyResult(result, chance, pick),
    );
  }
  return dropUndefined(out);
}

type Chance = () => boolean;
type Pick = <T>(options: readonly T[]) => T;

function varyUsage(usage: Record<string, unknown>, chance: Chance, pick: Pick) {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(usage)) {
    if (!chance()) {
      out[field] = value;
      continue;
    }
    const form = pick(['number', 'null', 'absent'] as const);
    if (form === 'null') out[field] = null;
    else if (form === 'number' && typeof value === 'string' && value !== '') {
      out[field] = Number(value);
    }
  }
  if (chance()) out.consumeDuration = pick(['0', 0, null]);
  return out;
}

function varyResult(result: Record<string, unknown>, chance: Chance, pick: Pick) {
  const out: Record<string, unknown> = { ...result };
  if (chance() && typeof out.url === 'string') {
    // Only outputUrl (the contract's fallback), or both; url itself null or empty.
    out.outputUrl = out.url;
    out.url = pick([undefined, null, '', out.url]);
  }
  if (chance() && typeof out.outputType === 'string') {
    out.outputType = pick([undefined, null, '', out.outputType.toUpperCase()]);
  }
  if (chance()) out.text = pick([undefined, '']);
  if (chance()) out.nodeId = pick(['4', 4]);
  if (chance()) out.fileSize = pick([1024, '1024']);
  return dropUndefined(out);
}

/** Leaves a field out rather than sending it as undefined (JSON.stringify would drop it anyway). */
function dropUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
