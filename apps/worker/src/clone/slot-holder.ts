import type { CloneJob } from '@voxline/db';

/** A slot belongs to one run of a job: a redriven job's new run never inherits an old lease. */
export function slotHolder(job: Pick<CloneJob, 'id' | 'run'>): string {
  return `${job.id}:${job.run}`;
}
