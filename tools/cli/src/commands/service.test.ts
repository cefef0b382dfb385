import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

const PLEX86 = new URL('../../bin/plex86.mjs', import.meta.url).pathname;

describe('plex86 service', () => {
  it('runs the storage service as its own process, found by discovery, stopped by SIGTERM', async () => {
    const url = inject('natsUrl');
    const images = mkdtempSync(join(tmpdir(), 'plex86-service-'));
    const child = spawn(process.execPath, [PLEX86, 'service', 'storage', '--nats', url, '--images', images], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let listed = '';
      for (let i = 0; i < 100 && !listed.includes('plex-storage'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        const io = captureIo();
        await main(['services', '--nats', url], io);
        listed = io.stdout();
      }
      expect(listed, `service output:\n${log}`).toMatch(/plex-storage \d+\.\d+\.\d+/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(images, { recursive: true, force: true });
    }
  }, 60_000);

  it('names an unknown service', async () => {
    const io = captureIo();
    expect(await main(['service', 'teleporter'], io)).toBe(2);
    expect(io.stderr()).toContain('no service named "teleporter"');
  });
});
