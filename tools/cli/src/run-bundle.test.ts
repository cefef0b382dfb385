import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pruneBundles } from '../bin/run-bundle.mjs';

describe('the bundle cache of plex86 run', () => {
  it('keeps the bundle of every checkout that is still there and removes the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plex86-bundles-'));
    const hourAgo = new Date(Date.now() - 3_600_000);
    const file = (name: string, text: string, old = false): void => {
      writeFileSync(join(dir, name), text);
      if (old) utimesSync(join(dir, name), hourAgo, hourAgo);
    };
    const manifest = (root: string | undefined, bundle: string): string => JSON.stringify({ root, bundle, inputs: {} });
    try {
      for (const name of ['cli-a.mjs', 'cli-b.mjs', 'cli-c.mjs', 'cli-d.mjs']) file(name, '', true);
      // Named by no manifest, but just made: another process may be about to name it.
      file('cli-e.mjs', '');
      // Two checkouts that are there, one that is gone, the single manifest of earlier versions
      // (no checkout), and a torn one.
      file('cli-1.json', manifest(dir, 'cli-a.mjs'));
      file('cli-2.json', manifest(tmpdir(), 'cli-b.mjs'));
      file('cli-3.json', manifest(join(dir, 'gone'), 'cli-c.mjs'));
      file('cli.json', manifest(undefined, 'cli-d.mjs'));
      file('cli-4.json', '{"root": ');
      pruneBundles(dir);
      expect(readdirSync(dir).sort()).toEqual(['cli-1.json', 'cli-2.json', 'cli-a.mjs', 'cli-b.mjs', 'cli-e.mjs']);
      // Without the grace period the unnamed young bundle goes too.
      pruneBundles(dir, 0);
      expect(readdirSync(dir).sort()).toEqual(['cli-1.json', 'cli-2.json', 'cli-a.mjs', 'cli-b.mjs']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
