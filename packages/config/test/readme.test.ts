import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../src/index.js';

describe('the README configuration table', () => {
  it('documents every variable the schema reads', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const missing = Object.keys(envSchema.shape).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
