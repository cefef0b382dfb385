import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, type Guest } from './build.js';
import { CpioType, readCpio } from './cpio.js';

// Builds the default guest from Debian's packages (cached after the first run) and boots it under
// QEMU, the reference PC, to check that the initramfs reaches a shell with the virtio drivers loaded.
describe('the default guest', () => {
  let guest: Guest;

  beforeAll(async () => {
    guest = await buildGuest();
  }, 300_000);

  it('holds busybox init, the boot scripts and the virtio modules after their dependencies', () => {
    const entries = readCpio(gunzipSync(readFileSync(guest.initrd)));
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('init')?.type).toBe(CpioType.Symlink);
    expect(new TextDecoder().decode(byName.get('init')?.data)).toBe('bin/busybox');
    expect(byName.get('bin/busybox')?.data?.length).toBeGreaterThan(500_000);
    expect(byName.get('dev/console')?.type).toBe(CpioType.CharDevice);
    const order = new TextDecoder()
      .decode(byName.get('etc/modules')?.data)
      .trim()
      .split('\n')
      .map((p) => p.split('/').at(-1));
    for (const [dep, user] of [
      ['virtio_ring.ko', 'virtio_pci.ko'],
      ['virtio.ko', 'virtio_blk.ko'],
      ['jbd2.ko', 'ext4.ko'],
      ['net_failover.ko', 'virtio_net.ko'],
    ] as const) {
      expect(order.indexOf(dep), `${dep} is loaded`).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(dep), `${dep} before ${user}`).toBeLessThan(order.indexOf(user));
    }
    for (const path of order) expect(entries.some((e) => e.name.endsWith(`/${path}`))).toBe(true);
  });

  it('returns the cached guest on a second build', async () => {
    const lines: string[] = [];
    const again = await buildGuest({ onProgress: (l) => lines.push(l) });
    expect(again).toEqual(guest);
    expect(lines.at(-1)).toMatch(/is built/);
  }, 120_000);

  it('boots under qemu-system-i386 to a shell that sees the virtio disk and powers off', async () => {
    const qemu = 'qemu-system-i386';
    if (spawnSync(qemu, ['--version']).error) {
      throw new Error(`${qemu} is missing: install it with apt-get install qemu-system-x86`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'plex86-guest-'));
    try {
      const disk = join(dir, 'disk.raw');
      writeFileSync(disk, new Uint8Array(4 * 1024 * 1024));
      const output = await bootAndRun(qemu, guest, disk, 'echo answer=$((6*7)); ls /dev/vda; poweroff -f');
      expect(output).toContain('plex86 guest ready: Linux 6.');
      expect(output).toContain('answer=42');
      expect(output).toMatch(/\/dev\/vda/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

/** Boots the guest, types `command` once the guest is ready, and resolves with the console output at exit. */
function bootAndRun(qemu: string, guest: Guest, disk: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      qemu,
      [
        ...['-accel', 'tcg', '-cpu', 'pentium2', '-m', '256', '-nographic', '-no-reboot', '-nodefaults'],
        ...['-serial', 'stdio', '-kernel', guest.kernel, '-initrd', guest.initrd, '-append', 'console=ttyS0'],
        ...['-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-pci,drive=d0'],
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let output = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the guest did not finish in time; console so far:\n${output.slice(-3000)}`));
    }, 280_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('latin1');
      if (!typed && output.includes('plex86 guest ready')) {
        typed = true;
        // Let the shell start before typing.
        setTimeout(() => child.stdin.write(`${command}\n`), 1500);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}
