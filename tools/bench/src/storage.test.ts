import { describe, expect, it } from 'vitest';
import { storageBenchmark } from './storage.js';

describe('storage benchmark', () => {
  it('measures every transport and workload and prints one row per cell', async () => {
    const lines: string[] = [];
    await storageBenchmark.run(['--', '--ops4k', '24', '--ops1m', '4', '--depth', '4', '--format', 'all'], (l) =>
      lines.push(l),
    );
    const rows = lines.filter((l) => /^(image|in-process|nats)\s/.test(l)).map((r) => r.split(/\s{2,}/));
    const workloads = ['1 MiB seq write', '1 MiB seq read', '4 KiB rand write', '4 KiB rand read'];
    const expected = ['image', 'in-process', 'nats'].flatMap((t) =>
      ['qcow2', 'raw'].flatMap((f) => workloads.map((w) => [t, f, w])),
    );
    expect(rows.map((r) => r.slice(0, 3))).toEqual(expected);
    for (const row of rows) {
      const figures = row.slice(3);
      expect(figures).toHaveLength(3);
      for (const f of figures) expect(Number(f)).toBeGreaterThan(0);
    }
  }, 60_000);

  it('prints its usage for --help and refuses bad arguments', async () => {
    const lines: string[] = [];
    await storageBenchmark.run(['--help'], (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/--ops4k N/);
    await expect(storageBenchmark.run(['--depth', '0'], () => undefined)).rejects.toThrow(/positive integer/);
    await expect(storageBenchmark.run(['--format', 'vmdk'], () => undefined)).rejects.toThrow(/qcow2, raw or all/);
  });
});
