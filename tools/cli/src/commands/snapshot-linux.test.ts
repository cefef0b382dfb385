/**
 * A persistent VM end to end, through the `plex86` command in child processes: the default Linux
 * guest boots to its shell on a real nats-server, writes a file, and is saved with `plex86 snapshot
 * save --stop` over the bus; `plex86 snapshot info` verifies the file; `plex86 snapshot restore`
 * continues the guest in a new process, where the file is still there, uptime went on, commands
 * run, and the virtio disk (reopened from the path in the snapshot) reads a sector the guest had
 * never read. A damaged copy and a changed disk are refused with a clear error.
 */

import {
  copyFileSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGuest, GUEST_PROMPT, type ConsoleProcess, type Guest } from '@plex86/guest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BOOT_TIMEOUT_MS, ChildProcesses, shell } from '../guest-testing.js';

const APPEND = 'console=ttyS0 cryptomgr.notests';
/** Written by the host at 1 MiB into the disk: the guest reads it only after the restore. */
const DISK_MARK = 'host-written-sector';

const dir = mkdtempSync(join(tmpdir(), 'plex86-snapshot-'));
const disk = join(dir, 'disk.raw');
const snapshot = join(dir, 'vm.snap');
let guest: Guest;

beforeAll(async () => {
  guest = await buildGuest();
  writeFileSync(disk, new Uint8Array(0));
  truncateSync(disk, 8 << 20);
  const fd = openSync(disk, 'r+');
  writeSync(fd, new TextEncoder().encode(DISK_MARK), 0, DISK_MARK.length, 1 << 20);
  closeSync(fd);
}, BOOT_TIMEOUT_MS);

afterAll(() => {
  children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const children = new ChildProcesses();
const plex86 = (args: string[]): ConsoleProcess => children.plex86(args);

describe('VM snapshots of the default Linux guest', () => {
  it(
    'saves a guest at its shell over the bus and continues it in another process',
    async () => {
      const url = inject('natsUrl');
      const vm = plex86([
        'run',
        ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', APPEND],
        ...['--nats', url, '--vm', 'snapvm', '--disk', disk],
      ]);
      await vm.console.waitFor(GUEST_PROMPT, BOOT_TIMEOUT_MS, 'shell prompt on ttyS0');
      await shell(vm, 'dmesg -n 1');
      await shell(vm, 'echo kept-$((6*7)) > /root/kept');
      const uptimeBefore = Number.parseInt(await shell(vm, 'cut -d. -f1 /proc/uptime'), 10);

      const save = plex86(['snapshot', 'save', '--nats', url, '--vm', 'snapvm', '--stop', snapshot]);
      const saved = await save.exited;
      expect(saved.code, saved.stderr).toBe(0);
      expect(save.console.output).toMatch(/checksums\s+ok/);
      const paused = /paused\s+([\d.]+) ms/.exec(save.console.output);
      expect(paused).not.toBeNull();
      // --stop ends the run once the file is written.
      const ended = await vm.exited;
      expect(ended.code).toBe(0);
      expect(ended.stderr).toMatch(/snapshot saved to .*vm\.snap; the VM stopped/);

      const info = plex86(['snapshot', 'info', snapshot]);
      const described = await info.exited;
      expect(described.code, described.stderr).toBe(0);
      expect(info.console.output).toMatch(/vm\s+snapvm/);
      expect(info.console.output).toMatch(/memory\s+128\.0 MiB/);
      expect(info.console.output).toMatch(
        /components\s+memory cpu fpu clock pit rtc kbc acpi com1 pci virtio-vda virtio-hvc0 pic/,
      );
      expect(info.console.output).toContain(`disk vda`);
      expect(info.console.output).toMatch(/checksums\s+ok/);

      // A flipped byte in the RAM section is found by its checksum; a changed disk is refused.
      const damaged = join(dir, 'damaged.snap');
      copyFileSync(snapshot, damaged);
      const size = statSync(damaged).size;
      const fd = openSync(damaged, 'r+');
      writeSync(fd, new Uint8Array([0x5a]), 0, 1, size - 5000);
      closeSync(fd);
      const bad = plex86(['snapshot', 'info', damaged]);
      const badEnd = await bad.exited;
      expect(badEnd.code).toBe(1);
      expect(badEnd.stderr).toMatch(/checksum mismatch in the RAM section/);

      const restoreStart = performance.now();
      const restored = plex86(['snapshot', 'restore', snapshot]);
      expect(await shell(restored, 'cat /root/kept')).toBe('kept-42\n');
      const restoreMs = performance.now() - restoreStart;
      expect(await shell(restored, 'echo $((6*7)) $(tty)')).toBe('42 /dev/ttyS0\n');
      const uptimeAfter = Number.parseInt(await shell(restored, 'cut -d. -f1 /proc/uptime'), 10);
      expect(uptimeAfter).toBeGreaterThanOrEqual(uptimeBefore);
      expect(uptimeAfter).toBeLessThan(uptimeBefore + 60);
      expect(
        await shell(restored, `dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c ${DISK_MARK.length}`),
      ).toBe(DISK_MARK);
      restored.child.stdin?.write('\x01x');
      expect((await restored.exited).code).toBe(0);
      console.info(
        `snapshot of the Linux guest: ${(size / (1 << 20)).toFixed(1)} MiB, guest held ${paused?.[1]} ms for the save, ` +
          `first command output ${(restoreMs / 1000).toFixed(1)} s after the restore started`,
      );

      // The guest read the disk, but a disk touched since the snapshot is refused.
      utimesSync(disk, new Date(), new Date(Date.now() + 5000));
      const refused = plex86(['snapshot', 'restore', snapshot]);
      const refusal = await refused.exited;
      expect(refusal.code).toBe(1);
      expect(refusal.stderr).toMatch(/disk vda: .*disk\.raw changed since the snapshot/);
    },
    BOOT_TIMEOUT_MS * 2,
  );
});
