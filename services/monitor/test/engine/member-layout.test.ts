// The layout of a page function's members (engine/member-layout.ts): loops of the members' graph as
// JavaScript loops, other jumps as breaks forward, and control that follows the graph exactly from
// any member it enters at.

import { describe, expect, it } from 'vitest';
import { DISPATCH, MemberLayout } from '../../src/engine/member-layout.js';

/**
 * Runs the layout of `successors` as a function entered at member `walk[0]` (named by the caller, or
 * found by the lookup when `byLookup`) whose members pass control to the next member of `walk` (each
 * one of the previous one's successors) and return after the last; returns the members in the order
 * they ran. Any other lookup throws.
 */
function follow(successors: readonly (readonly number[])[], walk: readonly number[], byLookup = false): number[] {
  const layout = new MemberLayout(successors);
  const member = (k: number): string => {
    const jumps = (successors[k] as readonly number[]).map((t) => `if (_t === ${t}) { ${layout.jump(k, t)} }`);
    return `ran.push(${k}); const _t = walk[ran.length]; if (_t === undefined) return ran; ${jumps.join(' else ')} throw new Error('no edge ${k} to ' + _t);\n`;
  };
  const lookup = (enter: (k: number) => string): string =>
    `if (looked) throw new Error('lookup'); looked = true; switch (walk[0]) {\n${successors.map((_, k) => `case ${k}: ${enter(k)}\n`).join('')}}\nthrow new Error('no member');\n`;
  const body = `let looked = false, _k = ${byLookup ? -1 : 'walk[0]'}; ${layout.code(member, lookup)}`;
  const run = new Function('walk', 'ran', body) as (walk: readonly number[], ran: number[]) => number[];
  return run(walk, []);
}

/** A random walk of `steps` members through `successors` from `from`, as far as edges go. */
function randomWalk(
  successors: readonly (readonly number[])[],
  from: number,
  steps: number,
  random: () => number,
): number[] {
  const walk = [from];
  for (let i = 0; i < steps; i++) {
    const out = successors[walk[walk.length - 1] as number] as readonly number[];
    if (out.length === 0) break;
    walk.push(out[Math.floor(random() * out.length)] as number);
  }
  return walk;
}

/** A small deterministic generator (xorshift32), so that a failure repeats. */
function generator(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

describe('member layout', () => {
  it('lays a straight line out as forward breaks, with no loop', () => {
    const layout = new MemberLayout([[1], [2], []]);
    expect(layout.loops()).toEqual([]);
    expect(layout.jump(0, 1)).toBe('break b0_1;');
    expect(layout.jump(0, 2)).toBe('break b0_2;');
    expect(follow([[1], [2], []], [0, 1, 2])).toEqual([0, 1, 2]);
  });

  it('nests an inner loop in an outer one, and jumps back to each header with continue', () => {
    // 0 -> 1 -> 2 -> 1 (inner loop), 2 -> 3 -> 0 (outer loop), 3 -> 4 (out).
    const successors = [[1], [2], [1, 3], [0, 4], []];
    const layout = new MemberLayout(successors);
    expect(layout.loops()).toEqual([
      [0, 1, 2, 3],
      [1, 2],
    ]);
    expect(layout.jump(3, 0)).toMatch(/^_k = 0; continue l\d+;$/);
    expect(layout.jump(2, 1)).toMatch(/^_k = 1; continue l\d+;$/);
    const loopOf = (jump: string): string | undefined => /continue (l\d+);/.exec(jump)?.[1];
    expect(loopOf(layout.jump(2, 1))).not.toBe(loopOf(layout.jump(3, 0)));
    expect(layout.jump(0, 1)).toMatch(/^_k = 1; break b\d+_1;$/);
    expect(layout.jump(2, 3)).toMatch(/^break b\d+_2;$/);
    expect(layout.jump(3, 4)).toBe('break b0_1;');
    expect(follow(successors, [0, 1, 2, 1, 2, 3, 0, 1, 2, 3, 4])).toEqual([0, 1, 2, 1, 2, 3, 0, 1, 2, 3, 4]);
  });

  it('makes the member of a loop that most jumps from outside enter its header', () => {
    // 0 -> 2 and 3 -> 2 enter the loop {1, 2} at 2.
    const layout = new MemberLayout([[2], [2], [1, 4], [2], []]);
    expect(layout.loops()).toEqual([[2, 1]]);
    expect(layout.jump(1, 2)).toMatch(/^_k = 2; continue l\d+;$/);
  });

  it('makes a member that jumps to itself a loop of its own', () => {
    const layout = new MemberLayout([[0, 1], []]);
    expect(layout.loops()).toEqual([[0]]);
    expect(layout.jump(0, 0)).toBe('_k = 0; continue l1;');
    expect(follow([[0, 1], []], [0, 0, 0, 1])).toEqual([0, 0, 0, 1]);
  });

  it('enters a loop at any of its members, also one with two entries', () => {
    // The cycle 1 <-> 2 is entered from 0 at both members.
    const successors = [[1, 2], [2, 3], [1], []];
    for (const walk of [
      [0, 2, 1, 2, 1, 3],
      [0, 1, 2, 1, 3],
      [2, 1, 3],
      [1, 3],
    ]) {
      expect(follow(successors, walk)).toEqual(walk);
    }
  });

  it('follows random walks through random graphs from every member, never by the lookup', () => {
    const random = generator(0x5eed);
    for (let graph = 0; graph < 200; graph++) {
      const count = 1 + Math.floor(random() * 12);
      const successors = Array.from({ length: count }, () => {
        const out = new Set<number>();
        const degree = Math.floor(random() * 3);
        for (let i = 0; i < degree; i++) out.add(Math.floor(random() * count));
        return [...out];
      });
      const layout = new MemberLayout(successors);
      for (let from = 0; from < count; from++) {
        // Every jump is a break forward or a continue of a loop around it.
        for (const to of successors[from] as number[]) expect(layout.jump(from, to)).not.toContain(DISPATCH);
        const walk = randomWalk(successors, from, 40, random);
        expect(follow(successors, walk), `graph ${JSON.stringify(successors)}`).toEqual(walk);
        expect(follow(successors, walk, true), `graph ${JSON.stringify(successors)}`).toEqual(walk);
      }
    }
  });
});
