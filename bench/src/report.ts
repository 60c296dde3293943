import { max, median, min } from './util/stats.js';

/**
 * One measured figure: a value per run, and the baseline measured in the same runs. The ratio
 * is median ÷ baseline median unless the figure gives its own per-run ratios.
 */
export interface Figure {
  name: string;
  unit: string;
  samples: number[];
  /** Digits after the point; chosen by magnitude when omitted. */
  decimals?: number;
  /**
   * How the figure is computed from others in the table, when it is not measured on its own
   * (a rate from a time, a share of a computed limit): the table says so, so that a derived
   * figure never reads as a second measurement.
   */
  derived?: string;
  baseline?: { name: string; samples: number[]; derived?: string };
  ratio?: { label: string; samples?: number[] };
}

export interface Section {
  id: string;
  title: string;
  /** Markdown: what was measured and how. */
  method: string;
  figures: Figure[];
  /** Markdown blocks after the table: breakdowns, findings, explanations. */
  notes: string[];
  /** One-line figures for the summary at the top of results.md. */
  headline?: string[];
}

/** "1.23 s (min 1.1, max 1.4)" */
export function spread(samples: number[], unit: string, decimals?: number): string {
  return `${fmt(median(samples), decimals)} ${unit} (min ${fmt(min(samples), decimals)}, max ${fmt(max(samples), decimals)})`;
}

export function fmt(value: number, decimals?: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const d = decimals ?? (abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

const withUnit = (value: string, unit: string) => (unit ? `${value} ${unit}` : value);

export function ratioOf(figure: Figure): number {
  if (figure.ratio?.samples) return median(figure.ratio.samples);
  if (!figure.baseline) return Number.NaN;
  return median(figure.samples) / median(figure.baseline.samples);
}

export function renderTable(figures: Figure[]): string {
  const rows = [
    '| Figure | Runs | Median | Min | Max | Baseline (same runs): median [min–max] | Ratio (derived) |',
    '|---|---:|---:|---:|---:|---|---|',
  ];
  for (const f of figures) {
    const v = (x: number) => withUnit(fmt(x, f.decimals), f.unit);
    const baseline = f.baseline
      ? `${f.baseline.name}${f.baseline.derived ? ` (derived: ${f.baseline.derived})` : ''}: ${v(median(f.baseline.samples))} [${fmt(min(f.baseline.samples), f.decimals)}–${fmt(max(f.baseline.samples), f.decimals)}]`
      : '—';
    const ratio = ratioOf(f);
    const ratioText = Number.isFinite(ratio)
      ? `${fmt(ratio, ratio >= 10 ? 1 : 2)}${f.ratio ? ` ${f.ratio.label}` : '×'}`
      : '—';
    rows.push(
      `| ${f.name}${f.derived ? ` (derived: ${f.derived})` : ''} | ${f.samples.length} | ${v(median(f.samples))} | ${fmt(min(f.samples), f.decimals)} | ${fmt(max(f.samples), f.decimals)} | ${baseline} | ${ratioText} |`,
    );
  }
  return rows.join('\n');
}

export function renderSection(section: Section): string {
  return [
    `## ${section.title}`,
    '',
    section.method.trim(),
    '',
    renderTable(section.figures),
    '',
    ...section.notes.flatMap((note) => [note.trim(), '']),
  ].join('\n');
}

/** A small markdown table from rows of cells. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(String).join(' | ')} |`),
  ].join('\n');
}

export const MB = 1024 * 1024;
