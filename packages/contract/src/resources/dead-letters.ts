import type { DeadLetterRow } from './rows.js';

export function deadLetterResource(letter: DeadLetterRow) {
  return {
    id: letter.id,
    object: 'dead_letter' as const,
    clone_id: letter.cloneJobId,
    batch_id: letter.batchId,
    source_queue: letter.sourceQueue,
    bull_job_id: letter.bullJobId,
    run: letter.run,
    attempts: letter.attempts,
    error: { code: letter.errorCode, message: letter.errorMessage },
    last_response: letter.lastResponse ?? null,
    created_at: letter.createdAt.toISOString(),
    redriven_at: letter.redrivenAt?.toISOString() ?? null,
  };
}
