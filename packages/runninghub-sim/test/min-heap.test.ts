import { describe, expect, it } from 'vitest';
import { MinHeap } from '../src/min-heap.js';
import { mulberry32 } from '../src/prng.js';

describe('MinHeap', () => {
  it('pops in order, ties in the order pushed, through pushes between pops', () => {
    const random = mulberry32(3);
    const heap = new MinHeap<{ at: number; seq: number }>(
      (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq),
    );
    const popped: { at: number; seq: number }[] = [];
    const pushed: { at: number; seq: number }[] = [];
    for (let seq = 0; seq < 2_000; seq++) {
      const item = { at: Math.floor(random() * 100), seq };
      heap.push(item);
      pushed.push(item);
      if (random() < 0.3) popped.push(heap.pop() as { at: number; seq: number });
    }
    while (heap.size > 0) popped.push(heap.pop() as { at: number; seq: number });
    expect(popped).toHaveLength(pushed.length);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
    // Everything popped after the last push comes out sorted.
    const tail = popped.slice(-500);
    const sorted = [...tail].sort((a, b) => a.at - b.at || a.seq - b.seq);
    expect(tail).toEqual(sorted);
    expect(new Set(popped).size).toBe(pushed.length);
  });

  it('clears', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [5, 1, 3]) heap.push(n);
    expect(heap.peek()).toBe(1);
    heap.clear();
    expect(heap.size).toBe(0);
    heap.push(2);
    expect(heap.pop()).toBe(2);
  });
});
