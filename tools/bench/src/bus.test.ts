import { describe, expect, it } from 'vitest';
import { busBenchmark } from './bus.js';

describe('bus benchmark', () => {
  it('measures both transports and both payload sizes and prints one table row per cell', async () => {
    const lines: string[] = [];
    await busBenchmark.run(['--', '--requests', '40', '--warmup', '5', '--outstanding', '4'], (l) => lines.push(l));
    const rows = lines.filter((l) => /^(in-process|nats)\s/.test(l));
    expect(rows.map((r) => r.split(/\s{2,}/).slice(0, 2))).toEqual([
      ['in-process', '64 B'],
      ['in-process', '4 KiB'],
      ['nats', '64 B'],
      ['nats', '4 KiB'],
    ]);
    for (const row of rows) {
      const figures = row.split(/\s{2,}/).slice(2);
      expect(figures).toHaveLength(5);
      for (const f of figures) expect(f).toMatch(/^\d+(\.\d+)?[kM]?$/);
    }
  }, 30_000);

  it('prints its usage for --help and refuses bad arguments', async () => {
    const lines: string[] = [];
    await busBenchmark.run(['--help'], (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/--outstanding N/);
    await expect(busBenchmark.run(['--requests', '0'], () => undefined)).rejects.toThrow(/positive integer/);
    await expect(busBenchmark.run(['--transport', 'carrier-pigeon'], () => undefined)).rejects.toThrow(
      /in-process, nats or all/,
    );
  });
});
