import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import { type DeadLetter, deadLetters } from '../schema/dead-letters.js';

export async function insertDeadLetter(
  db: Executor,
  row: Omit<typeof deadLetters.$inferInsert, 'id'>,
): Promise<DeadLetter> {
  const [inserted] = await db
    .insert(deadLetters)
    .values({ id: newId(), ...row })
    .returning();
  if (!inserted) throw new Error('dead letter insert returned nothing');
  return inserted;
}
