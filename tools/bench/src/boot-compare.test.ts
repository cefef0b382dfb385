import { describe, expect, it } from 'vitest';
import { WORKLOAD_KEYS, type WorkloadKey } from '@plex86/guest';
import type { StatsFigures } from '@plex86/monitor';
import { comparisonRows, compareReport, engineRows, median, type RunTimes } from './boot-compare.js';

/** A run whose every step took `step` seconds. */
function run(boot: number, workload: number, step: number, extra: Partial<RunTimes> = {}): RunTimes {
  const steps = Object.fromEntries(WORKLOAD_KEYS.map((k) => [k, step])) as Record<WorkloadKey, number>;
  return { bootSeconds: boot, workloadSeconds: workload, steps, ...extra };
}

const table = (rows: readonly (readonly string[])[]) => rows.map((r) => r.join(' | '));

describe('the comparison of two builds', () => {
  it('gives mean seconds, the ratio of the means and the median and range of the per-round ratios', () => {
    const rows = comparisonRows([
      { mine: run(10, 20, 1), theirs: run(11, 22, 1.5) },
      { mine: run(12, 20, 1), theirs: run(12, 24, 1.5) },
    ]);
    expect(rows[0]).toEqual(['measure', 'this s', 'other s', 'other/this', 'median', 'per round']);
    expect(rows[1]).toEqual(['boot', '11.00', '11.50', '1.045x', '1.050x', '1.000-1.100']);
    expect(rows[2]).toEqual(['workload', '20.00', '23.00', '1.150x', '1.150x', '1.100-1.200']);
    expect(rows[3]?.slice(1)).toEqual(['1.00', '1.50', '1.500x', '1.500x', '1.500-1.500']);
    expect(rows).toHaveLength(2 + 1 + WORKLOAD_KEYS.length);
  });

  it('keeps the median of the per-round ratios where one slow run moves the ratio of the means', () => {
    // The third round's run of the other build was hit by a slowdown of the machine: the means say
    // 1.267x; the rounds 1.000x, 1.000x, 2.000x and 1.068x, whose median is 1.034x.
    const rows = comparisonRows([
      { mine: run(10, 20, 1), theirs: run(10, 20, 1) },
      { mine: run(10, 20, 1), theirs: run(10, 20, 1) },
      { mine: run(10, 20, 1), theirs: run(10, 40, 1) },
      { mine: run(10, 20, 1), theirs: run(10, 21.36, 1) },
    ]);
    expect(rows[2]).toEqual(['workload', '20.00', '25.34', '1.267x', '1.034x', '1.000-2.000']);
    expect(median([3, 1, 2])).toBe(2);
    expect(() => median([])).toThrow(RangeError);
  });

  it('leaves out rounds where either build failed or gave wrong results, and says so', () => {
    const rounds = [
      { mine: run(10, 20, 1), theirs: run(20, 40, 2) },
      { mine: run(10, 20, 1), theirs: { error: 'boot timed out\nconsole: ...' } },
      { mine: run(10, 20, 1, { wrong: 'md5=0 (expected 1)' }), theirs: run(10, 20, 1) },
    ];
    expect(comparisonRows(rounds)[1]).toEqual(['boot', '10.00', '20.00', '2.000x', '2.000x', '2.000-2.000']);
    const lines: string[] = [];
    compareReport(rounds, 'a.mjs', 'b.mjs', table, (l) => lines.push(l));
    expect(lines).toContain('round 2: other build failed: boot timed out');
    expect(lines).toContain('round 3: this build gave wrong results: md5=0 (expected 1)');
    expect(lines.some((l) => l.startsWith('1 of 3 rounds'))).toBe(true);
  });

  it("gives each build's engine figures per step as means over the rounds that have them", () => {
    /** Every step with `handoffs` million hand-offs, a tenth of them relinks, and 90 % in page functions. */
    const engine = (handoffs: number): Partial<RunTimes> => {
      const f: StatsFigures = {
        instructions: 100e6,
        pageFunctionInstructions: 90e6,
        handoffs: handoffs * 1e6,
        relinks: handoffs * 1e5,
        chainedBlocks: 2e6,
      };
      return { stepEngine: Object.fromEntries(WORKLOAD_KEYS.map((k) => [k, f])) as Record<WorkloadKey, StatsFigures> };
    };
    const rounds = [
      { mine: run(10, 20, 1, engine(4)), theirs: run(10, 20, 1, engine(10)) },
      { mine: run(10, 20, 1, engine(6)), theirs: run(10, 20, 1, engine(10)) },
      // A build without the figures (an older CLI) leaves its round out of these means.
      { mine: run(10, 20, 1, engine(100)), theirs: run(10, 20, 1) },
    ];
    const rows = engineRows(rounds) as string[][];
    expect(rows[0]?.[0]).toBe('step');
    expect(rows[1]?.slice(1)).toEqual(['5.00', '10.00', '0.50', '1.00', '2.00', '2.00', '90.0 %', '90.0 %']);
    expect(rows).toHaveLength(1 + WORKLOAD_KEYS.length);
    expect(engineRows([{ mine: run(10, 20, 1), theirs: run(10, 20, 1) }])).toBeUndefined();
    const lines: string[] = [];
    compareReport(rounds, 'a', 'b', table, (l) => lines.push(l));
    expect(lines).toContain(
      "where each build's engine ran each step, means over the rounds (this build, then the other)",
    );
  });

  it('gives no ratio for steps that take milliseconds, and nothing when no round is usable', () => {
    const rows = comparisonRows([{ mine: run(10, 20, 0.004), theirs: run(10, 20, 0.02) }]);
    expect(rows[3]?.slice(3)).toEqual(['n/a', 'n/a', 'n/a']);
    const lines: string[] = [];
    compareReport([{ mine: { error: 'x' }, theirs: run(1, 1, 1) }], 'a', 'b', table, (l) => lines.push(l));
    expect(lines.at(-1)).toMatch(/nothing to compare/);
  });
});
