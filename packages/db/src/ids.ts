import { v7 } from 'uuid';

/** Time-ordered UUIDs (v7): ids sort by creation, so an id is also a pagination cursor. */
export function newId(): string {
  return v7();
}
