/**
 * The report of `plex86 bench boot --against CLI`: two builds of plex86 booted and run in turns,
 * round after round, and the seconds of each compared. A machine whose speed drifts by 10-20 % over
 * minutes hides a change of a few percent between two single runs; runs in turns, each build first
 * in every other round, see the same drift, and the spread of the per-round ratios says how far the
 * mean can be trusted. The median of the per-round ratios stands apart from a round that a slowdown
 * of the machine hit in one build's run only, which moves the ratio of the means.
 */

import { WORKLOAD_KEYS, WORKLOAD_STEPS, type WorkloadKey } from '@plex86/guest';
import type { StatsFigures } from '@plex86/monitor';

/** What one run of a build measured (boot.ts Outcome). */
export interface RunTimes {
  readonly bootSeconds?: number;
  readonly workloadSeconds?: number;
  readonly steps?: Readonly<Record<WorkloadKey, number>>;
  /** Where the engine ran each step (boot.ts PassFigures). */
  readonly stepEngine?: Readonly<Record<WorkloadKey, StatsFigures>>;
  readonly error?: string;
  readonly wrong?: string;
}

/** One round: a run of this build and one of the other. */
export interface ComparedRound {
  readonly mine: RunTimes;
  readonly theirs: RunTimes;
}

/** Steps that take a few milliseconds on either side are timer noise, not a ratio. */
const NOISE_SECONDS = 0.01;

interface Measure {
  readonly name: string;
  readonly of: (run: RunTimes) => number | undefined;
}

const MEASURES: readonly Measure[] = [
  { name: 'boot', of: (run) => run.bootSeconds },
  { name: 'workload', of: (run) => run.workloadSeconds },
  ...WORKLOAD_KEYS.map((key): Measure => ({ name: WORKLOAD_STEPS[key], of: (run) => run.steps?.[key] })),
];

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The middle value, or the mean of the two middle values of an even count. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('the median of no values');
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >>> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A row per measure: the mean seconds of each build, their ratio, and the median and the range of the
 * per-round ratios.
 */
export function comparisonRows(rounds: readonly ComparedRound[]): string[][] {
  const usable = rounds.filter((r) => ok(r.mine) && ok(r.theirs));
  const rows = [['measure', 'this s', 'other s', 'other/this', 'median', 'per round']];
  for (const m of MEASURES) {
    const pairs = usable.flatMap((r) => {
      const mine = m.of(r.mine);
      const theirs = m.of(r.theirs);
      return mine === undefined || theirs === undefined ? [] : [[mine, theirs] as const];
    });
    if (pairs.length === 0) continue;
    const mineMean = mean(pairs.map(([a]) => a));
    const theirsMean = mean(pairs.map(([, b]) => b));
    const noise = mineMean < NOISE_SECONDS || theirsMean < NOISE_SECONDS;
    const ratios = pairs.map(([a, b]) => b / a);
    rows.push([
      m.name,
      mineMean.toFixed(2),
      theirsMean.toFixed(2),
      noise ? 'n/a' : `${(theirsMean / mineMean).toFixed(3)}x`,
      noise ? 'n/a' : `${median(ratios).toFixed(3)}x`,
      noise ? 'n/a' : `${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`,
    ]);
  }
  return rows;
}

/**
 * A row per step: where each build's engine ran it, as means over the rounds where both builds gave
 * the figures: hand-offs between page functions, those that looked the next one up and blocks
 * interpreted one after another (millions), and the share of the instructions run in page functions.
 * What a change did to them tells whether it did what it was meant to, whatever the seconds say.
 */
export function engineRows(rounds: readonly ComparedRound[]): string[][] | undefined {
  const usable = rounds.filter(
    (r) => ok(r.mine) && ok(r.theirs) && r.mine.stepEngine !== undefined && r.theirs.stepEngine !== undefined,
  );
  if (usable.length === 0) return undefined;
  const rows = [['step', 'hand-offs M', 'other', 'relinks M', 'other', 'chained M', 'other', 'in page fns', 'other']];
  const meanOf = (side: 'mine' | 'theirs', key: WorkloadKey, figure: (f: StatsFigures) => number) =>
    mean(usable.map((r) => figure((r[side].stepEngine as Record<WorkloadKey, StatsFigures>)[key])));
  const both = (key: WorkloadKey, figure: (f: StatsFigures) => number, digits: number, unit = '') =>
    (['mine', 'theirs'] as const).map((side) => `${meanOf(side, key, figure).toFixed(digits)}${unit}`);
  const share = (f: StatsFigures) => (f.instructions > 0 ? (100 * f.pageFunctionInstructions) / f.instructions : 0);
  for (const key of WORKLOAD_KEYS) {
    rows.push([
      WORKLOAD_STEPS[key],
      ...both(key, (f) => f.handoffs / 1e6, 2),
      ...both(key, (f) => f.relinks / 1e6, 2),
      ...both(key, (f) => f.chainedBlocks / 1e6, 2),
      ...both(key, share, 1, ' %'),
    ]);
  }
  return rows;
}

function ok(run: RunTimes): boolean {
  return run.error === undefined && run.wrong === undefined && run.bootSeconds !== undefined;
}

/** Prints the comparison; `table` lays out the rows as the other reports of plex86 bench boot do. */
export function compareReport(
  rounds: readonly ComparedRound[],
  mine: string,
  theirs: string,
  table: (rows: readonly (readonly string[])[]) => string[],
  print: (line: string) => void,
): void {
  print('');
  print(`this build:  ${mine}`);
  print(`other build: ${theirs}`);
  rounds.forEach((r, i) => {
    for (const [side, run] of [
      ['this build', r.mine],
      ['other build', r.theirs],
    ] as const) {
      if (run.error !== undefined) print(`round ${i + 1}: ${side} failed: ${run.error.split('\n')[0] ?? ''}`);
      else if (run.wrong !== undefined) print(`round ${i + 1}: ${side} gave wrong results: ${run.wrong}`);
    }
  });
  const usable = rounds.filter((r) => ok(r.mine) && ok(r.theirs)).length;
  if (usable === 0) {
    print('no round where both builds booted and gave the right results: nothing to compare');
    return;
  }
  print(
    `${usable} of ${rounds.length} rounds, the builds in turns; mean seconds, and the other build's ` +
      'time over this one (above 1: this build is faster): of the means, and per round (median, range)',
  );
  for (const line of table(comparisonRows(rounds))) print(line);
  const engine = engineRows(rounds);
  if (engine === undefined) return;
  print('');
  print("where each build's engine ran each step, means over the rounds (this build, then the other)");
  for (const line of table(engine)) print(line);
}
