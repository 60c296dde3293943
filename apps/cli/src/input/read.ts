import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { describeIssues, type FileLine, type lineSchema } from './schema.js';

/**
 * Narration files, read as streams so a 100,000-line file is never held in memory at once:
 *
 * - txt: a line of text per line; blank lines are skipped.
 * - csv: a header row with a `text` column, optionally `ref` and any field the line schema lets
 *   a line override (`model`, `speed`, `emotion`, …, or the voice fields of a per-line clone);
 *   empty cells leave the field unset.
 * - ndjson: a JSON object per line with `text`, optionally `ref` and overrides.
 *
 * Every item carries the 1-based line of the file it starts on, so a bad row is named by line.
 */

export const INPUT_FORMATS = ['txt', 'csv', 'ndjson'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export type InputItem =
  | { line: number; record: FileLine }
  /** `fatal`: the file cannot be read past this point (an unclosed CSV quote). */
  | { line: number; error: string; fatal?: boolean };

export type LineSchema = ReturnType<typeof lineSchema>;

export function formatOf(file: string, explicit?: string): InputFormat {
  if (explicit) {
    if (!(INPUT_FORMATS as readonly string[]).includes(explicit)) {
      throw new Error(`--format must be one of ${INPUT_FORMATS.join(', ')}`);
    }
    return explicit as InputFormat;
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  return 'txt';
}

function checked(schema: LineSchema, line: number, value: unknown): InputItem {
  const result = schema.safeParse(value);
  if (result.success) return { line, record: result.data };
  return { line, error: describeIssues(result.error, value).join('; ') };
}

const BOM = '\uFEFF';

async function* physicalLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  const lines = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const raw of lines) {
    n++;
    yield { line: n, text: n === 1 && raw.startsWith(BOM) ? raw.slice(1) : raw };
  }
}

async function* readTxt(file: string, schema: LineSchema): AsyncGenerator<InputItem> {
  for await (const { line, text } of physicalLines(file)) {
    const trimmed = text.trim();
    if (trimmed.length === 0) continue;
    yield checked(schema, line, { text: trimmed });
  }
}

async function* readNdjson(file: string, schema: LineSchema): AsyncGenerator<InputItem> {
  for await (const { line, text } of physicalLines(file)) {
    if (text.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line, error: `not valid JSON (${(error as Error).message})` };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, error: 'must be a JSON object with a "text" field' };
      continue;
    }
    const record = value as Record<string, unknown>;
    if (typeof record.text === 'string') record.text = record.text.trim();
    yield checked(schema, line, record);
  }
}

const BOOLEAN_CELLS: Record<string, boolean> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  '1': true,
  '0': false,
};
const NUMBER_CELL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const NUMBER_FIELDS = new Set(['accuracy', 'speed', 'volume', 'pitch']);
const BOOLEAN_FIELDS = new Set([
  'need_noise_reduction',
  'need_volume_normalization',
  'english_normalization',
]);
// A cell holds a list of pronunciation entries ("ASAP/As soon as possible") separated by `;`.
const LIST_SEPARATOR = ';';

/** A CSV cell as the JSON value the API expects; problems are reported, not guessed around. */
function cellValue(field: string, cell: string): { value: unknown } | { error: string } {
  if (NUMBER_FIELDS.has(field)) {
    return NUMBER_CELL.test(cell)
      ? { value: Number(cell) }
      : { error: `${field} must be a number` };
  }
  if (BOOLEAN_FIELDS.has(field)) {
    const value = BOOLEAN_CELLS[cell.toLowerCase()];
    return value === undefined ? { error: `${field} must be true or false` } : { value };
  }
  if (field === 'pronunciation_dict') {
    return {
      value: cell
        .split(LIST_SEPARATOR)
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    };
  }
  return { value: cell };
}

async function* readCsv(file: string, schema: LineSchema): AsyncGenerator<InputItem> {
  const parser = createReadStream(file).pipe(
    parse({
      bom: true,
      info: true,
      skip_empty_lines: true,
      // Rows of another length are reported with their line below, not thrown.
      relax_column_count: true,
    }),
  );
  let header: string[] | null = null;
  // csv-parse reports the line a record ends on; a record starts after the previous one
  // and any empty lines skipped in between (a quoted field may span lines).
  let previousEnd = 0;
  let previousEmpty = 0;
  try {
    for await (const item of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; empty_lines: number };
    }>) {
      const { record, info } = item;
      const line = previousEnd + 1 + (info.empty_lines - previousEmpty);
      previousEnd = info.lines;
      previousEmpty = info.empty_lines;

      if (header === null) {
        header = record.map((name) => name.trim().toLowerCase());
        const problems: string[] = [];
        const known = Object.keys(schema.shape);
        const unknown = header.filter((name) => !known.includes(name));
        if (unknown.length > 0) {
          problems.push(
            `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${known.join(', ')})`,
          );
        }
        const duplicates = header.filter((name, i) => header?.indexOf(name) !== i);
        if (duplicates.length > 0) problems.push(`duplicate column ${duplicates.join(', ')}`);
        if (!header.includes('text')) problems.push('the header has no "text" column');
        if (problems.length > 0) {
          yield { line, error: `header: ${problems.join('; ')}`, fatal: true };
          return;
        }
        continue;
      }

      // A row of nothing but empty cells is a blank line a spreadsheet exported.
      if (record.every((cell) => cell.trim().length === 0)) continue;
      if (record.length !== header.length) {
        yield {
          line,
          error: `has ${record.length} field${record.length === 1 ? '' : 's'}, the header has ${header.length}`,
        };
        continue;
      }
      const value: Record<string, unknown> = {};
      const problems: string[] = [];
      header.forEach((field, i) => {
        const cell = (record[i] ?? '').trim();
        if (cell.length === 0) {
          // An empty text is an error to report; an empty override just leaves it unset.
          if (field === 'text') value.text = '';
          return;
        }
        const converted = cellValue(field, cell);
        if ('error' in converted) problems.push(converted.error);
        else value[field] = converted.value;
      });
      const result = checked(schema, line, value);
      if (problems.length === 0) yield result;
      else {
        const rest = 'error' in result ? [result.error] : [];
        yield { line, error: [...problems, ...rest].join('; ') };
      }
    }
  } catch (error) {
    const { code, lines, message } = error as { code?: unknown; lines?: number; message?: string };
    // csv-parse's own errors (CSV_QUOTE_NOT_CLOSED, …) describe the file; others are bugs.
    if (typeof code !== 'string' || !code.startsWith('CSV_')) throw error;
    yield {
      line: typeof lines === 'number' ? lines : previousEnd + 1,
      error: `cannot parse the CSV: ${message ?? String(error)}`,
      fatal: true,
    };
    return;
  }
  if (header === null) yield { line: 1, error: 'the CSV has no header row', fatal: true };
}

/** The lines of a narration file, in order, each checked against `schema`. */
export function readItems(
  file: string,
  format: InputFormat,
  schema: LineSchema,
): AsyncGenerator<InputItem> {
  switch (format) {
    case 'txt':
      return readTxt(file, schema);
    case 'csv':
      return readCsv(file, schema);
    case 'ndjson':
      return readNdjson(file, schema);
  }
}
