import { InvalidArgumentError } from 'commander';
import type { GlobalOptions } from '../context.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('must be a positive number');
  }
  return n;
}

/** ` --api URL` when the command was pointed somewhere explicitly, for follow-up hints. */
export function apiFlag(globals: GlobalOptions): string {
  return globals.api ? ` --api ${globals.api}` : '';
}

export function uuidList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
