import { readFileSync } from 'node:fs';

/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by self time: where the process spent
 * its CPU, by package and by function. Idle time is left out of the shares.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled wall time of the process, ms. */
  totalMs: number;
  /** Time in (idle), ms. */
  idleMs: number;
  byCategory: Array<{ category: string; ms: number; share: number }>;
  topFunctions: Array<{ fn: string; where: string; category: string; ms: number; share: number }>;
}

export function categoryOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8: garbage collection';
    if (functionName === '(program)') return 'V8/native (program)';
    if (functionName === '(idle)') return '(idle)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm) return pnpm[1] as string;
  const app = /\/apps\/([^/]+)\/dist\//.exec(url);
  if (app) return `voxline apps/${app[1]}`;
  const pkg = /\/packages\/([^/]+)\/dist\//.exec(url);
  if (pkg) return `@voxline/${pkg[1]}`;
  if (url.startsWith('node:')) return 'node core';
  return 'other';
}

function shortWhere(url: string, line: number): string {
  const trimmed = url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    .replace(/.*\/(apps|packages)\//, '$1/');
  return trimmed ? `${trimmed}:${line + 1}` : '';
}

export function summariseProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the time *of* sample i is the next delta.
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = timeDeltas[i + 1] ?? 0;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; category: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const category = categoryOf(url, functionName);
    totalUs += us;
    if (category === '(idle)') {
      idleUs += us;
      continue;
    }
    categories.set(category, (categories.get(category) ?? 0) + us);
    const where = shortWhere(url, lineNumber);
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? {
      fn: functionName || '(anonymous)',
      where,
      category,
      us: 0,
    };
    entry.us += us;
    functions.set(key, entry);
  }
  const busyUs = totalUs - idleUs || 1;
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    byCategory: [...categories]
      .map(([category, us]) => ({ category, ms: us / 1000, share: us / busyUs }))
      .sort((a, b) => b.ms - a.ms),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        fn: f.fn,
        where: f.where,
        category: f.category,
        ms: f.us / 1000,
        share: f.us / busyUs,
      })),
  };
}
