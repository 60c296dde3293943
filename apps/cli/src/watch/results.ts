import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CloneResponse as Clone } from '@voxline/contract';
import type { ApiClient } from '../api/client.js';

export const RESULT_COLUMNS = [
  'ref',
  'line',
  'status',
  'audio_url',
  'error_code',
  'error_message',
  'clone_id',
  'batch_id',
  'kind',
  'voice_id',
  'cost_estimated',
  'cost_actual',
  'currency',
] as const;

/** RFC 4180 quoting: only when a field needs it. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export interface ResultSource {
  id: string;
  /** The file line of each line of the batch, in order; absent: the line's place in the batch. */
  fileLines?: number[] | undefined;
}

export interface ResultsSummary {
  file: string;
  rows: number;
}

/**
 * Writes one row per line (`GET /v1/batches/:id/clones`, paged, in line order) to `out`. The
 * file appears whole or not at all: rows go to a temporary file renamed at the end.
 */
export async function writeResults(
  client: ApiClient,
  sources: ResultSource[],
  out: string,
): Promise<ResultsSummary> {
  const file = resolve(out);
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  const stream = createWriteStream(partial, { encoding: 'utf8' });
  const write = async (line: string) => {
    if (!stream.write(`${line}\n`)) await once(stream, 'drain');
  };
  let rows = 0;
  try {
    await write(RESULT_COLUMNS.join(','));
    for (const source of sources) {
      let position = 0;
      let cursor: string | null = null;
      do {
        const page = await client.listBatchClones(source.id, cursor);
        for (const clone of page.data) {
          const line = source.fileLines ? source.fileLines[position] : position + 1;
          await write(row(clone, line ?? null, source.id));
          position++;
          rows++;
        }
        cursor = page.next_cursor;
      } while (cursor);
    }
    stream.end();
    await once(stream, 'finish');
    await rename(partial, file);
  } catch (error) {
    stream.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  return { file, rows };
}

function row(clone: Clone, line: number | null, batchId: string): string {
  return [
    clone.ref,
    line,
    clone.status,
    clone.audio?.url,
    clone.error?.code,
    clone.error?.message,
    clone.id,
    clone.batch_id ?? batchId,
    clone.kind,
    clone.voice_id,
    clone.cost.estimated,
    clone.cost.actual,
    clone.cost.currency,
  ]
    .map(csvField)
    .join(',');
}
