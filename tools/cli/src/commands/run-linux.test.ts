/**
 * The default guest (Debian's stock 686 kernel and busybox) on plex86, end to end through the
 * `plex86` command in child processes: boot to a shell on the serial console, an FPU the kernel
 * reports and awk results equal to the host's, a virtio disk partitioned and formatted as ext2, the
 * CPU workload with results equal to the ones computed on the host (the same ones qemu-system-i386
 * gives, see tools/guest), then a second boot with the services as separate processes over a real
 * nats-server: the disk served by the storage service, the shell on the virtio console (hvc0);
 * and two VMs on one virtual Ethernet segment that ping each other.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildGuest,
  GUEST_PROMPT,
  referenceResults,
  runWorkload,
  type ConsoleProcess,
  type Guest,
} from '@plex86/guest';
import { fetchDebianPackage } from '@plex86/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BOOT_TIMEOUT_MS, ChildProcesses, shell } from '../guest-testing.js';

/** The default guest's command line without `quiet`, so the boot messages reach the console. */
const APPEND = 'console=ttyS0 cryptomgr.notests';
/** Computed by busybox awk with the x87: a harmonic sum, a division and a huge quotient. */
const AWK_PROGRAM = `BEGIN{s=0; for(i=1;i<=1000;i++) s+=1/i; printf "awk:%.17g %.17g %.6e\\n", s, 22/7*1e10, 1/3e-300}`;

const dir = mkdtempSync(join(tmpdir(), 'plex86-linux-'));
const disk = join(dir, 'disk.raw');
let guest: Guest;

beforeAll(async () => {
  guest = await buildGuest();
  writeFileSync(disk, new Uint8Array(0));
  truncateSync(disk, 32 << 20);
}, BOOT_TIMEOUT_MS);

afterAll(() => {
  children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const children = new ChildProcesses();
const plex86 = (args: string[]): ConsoleProcess => children.plex86(args);

/** What the host's own busybox (i386, run natively) prints for an awk program. */
async function hostAwk(program: string): Promise<string> {
  const root = await fetchDebianPackage('busybox-static', 'i386');
  return execFileSync(join(root, 'bin', 'busybox'), ['awk', program], { encoding: 'latin1' });
}

describe('the default Linux guest', () => {
  it(
    'boots to a shell on ttyS0, computes like the host, and formats a virtio disk as ext2',
    async () => {
      const vm = plex86([
        'run',
        ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', APPEND],
        ...['--disk', disk, '--stats'],
      ]);
      await vm.console.waitFor(GUEST_PROMPT, BOOT_TIMEOUT_MS, 'shell prompt on ttyS0');
      // Kernel messages on the console would mix with the commands' output.
      await shell(vm, 'dmesg -n 1');

      expect(await shell(vm, 'grep -c "^flags.* fpu " /proc/cpuinfo')).toBe('1\n');
      expect(await shell(vm, 'dmesg | grep -c "x86/fpu:"')).not.toBe('0\n');
      expect(await shell(vm, `awk '${AWK_PROGRAM}'`)).toBe(await hostAwk(AWK_PROGRAM));

      // One primary partition over the whole disk, ext2 on it, a file written and read back.
      await shell(vm, "printf 'o\\nn\\np\\n1\\n\\n\\nw\\n' | fdisk /dev/vda > /dev/null 2>&1");
      expect(await shell(vm, 'cat /sys/block/vda/vda1/size')).toMatch(/^\d{5}\n$/);
      expect(await shell(vm, 'mke2fs /dev/vda1 > /dev/null 2>&1 && echo formatted')).toBe('formatted\n');
      await shell(vm, 'mkdir -p /mnt && mount -t ext2 /dev/vda1 /mnt');
      await shell(vm, 'echo plex86-disk-$((6*7)) > /mnt/hello && seq 1 5000 > /mnt/numbers && sync');
      expect(await shell(vm, 'umount /mnt && mount -t ext2 /dev/vda1 /mnt && cat /mnt/hello')).toBe('plex86-disk-42\n');
      const sums = await shell(vm, 'md5sum /mnt/numbers; umount /mnt');
      expect(sums).toMatch(/^[0-9a-f]{32} {2}\/mnt\/numbers\n$/);

      const workload = await runWorkload(vm.console, { timeoutMs: BOOT_TIMEOUT_MS });
      expect(workload.results).toMatchObject(referenceResults());

      // Ctrl-A x quits, as in QEMU.
      vm.child.stdin?.write('\x01x');
      const end = await vm.exited;
      expect(end.code).toBe(0);
      expect(end.stderr).toMatch(/instructions\s+\d+/);
    },
    BOOT_TIMEOUT_MS * 2,
  );

  it(
    'boots again with the services as processes on NATS: the disk from the storage service, the shell on hvc0',
    async () => {
      const url = inject('natsUrl');
      const storage = plex86(['service', 'storage', '--nats', url, '--serve', `vm2/vda=${disk}`]);
      await storage.console.waitFor('serving', 30_000, 'the storage service');
      const serial = join(dir, 'ttyS0.log');
      const consoleService = plex86([
        'service',
        'console',
        ...['--nats', url, '--vm', 'vm2', '--console', 'ttyS0', '--backend', `file:${serial}`],
      ]);
      const vm = plex86([
        'run',
        ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', APPEND],
        ...['--nats', url, '--vm', 'vm2', '--disk', 'bus:vda', '--console', 'hvc0'],
      ]);
      // The guest starts a shell on hvc0 once its virtio console driver is loaded.
      await vm.console.waitFor(GUEST_PROMPT, BOOT_TIMEOUT_MS, 'shell prompt on hvc0');
      await shell(vm, 'dmesg -n 1');
      expect(await shell(vm, 'tty')).toBe('/dev/hvc0\n');
      expect(await shell(vm, 'mount -o ro -t ext2 /dev/vda1 /mnt && cat /mnt/hello')).toBe('plex86-disk-42\n');
      expect(await shell(vm, 'wc -l < /mnt/numbers')).toBe('5000\n');
      vm.child.stdin?.write('\x01x');
      expect((await vm.exited).code).toBe(0);
      consoleService.kill();
      storage.kill();
      expect(readFileSync(serial, 'latin1')).toContain('Linux version');
    },
    BOOT_TIMEOUT_MS * 2,
  );

  it(
    'runs two VMs on one Ethernet segment over NATS that ping each other',
    async () => {
      const url = inject('natsUrl');
      const net = plex86(['service', 'net', '--nats', url]);
      await net.console.waitFor('net service ready', 30_000, 'the net service');
      const boot = (vm: string) =>
        plex86([
          'run',
          ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', APPEND],
          ...['--nats', url, '--vm', vm, '--net', 'lan0'],
        ]);
      const a = boot('neta');
      const b = boot('netb');
      await Promise.all(
        [a, b].map((vm) => vm.console.waitFor(GUEST_PROMPT, BOOT_TIMEOUT_MS, 'shell prompt with a network interface')),
      );
      await shell(a, 'ip link set eth0 up && ip addr add 10.0.86.1/24 dev eth0');
      await shell(b, 'ip link set eth0 up && ip addr add 10.0.86.2/24 dev eth0');
      expect(await shell(b, 'ping -c 3 -W 5 10.0.86.1 | tail -2')).toMatch(/3 packets transmitted, 3 packets received/);
      expect(await shell(a, 'ping -c 2 -W 5 10.0.86.2 | tail -2')).toMatch(/2 packets transmitted, 2 packets received/);
      for (const vm of [a, b]) vm.child.stdin?.write('\x01x');
      expect((await a.exited).code).toBe(0);
      expect((await b.exited).code).toBe(0);
      net.kill();
    },
    BOOT_TIMEOUT_MS * 2,
  );

  it(
    'unpacks the kernel with its own decompressor when asked (--boot-decompress guest)',
    async () => {
      // About 2.4 billion instructions of in-guest xz decompression come before the first message.
      const vm = plex86([
        'run',
        ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', APPEND],
        ...['--boot-decompress', 'guest', '--max-instructions', '6000000000'],
      ]);
      await vm.console.waitFor(
        'Linux version 6.1',
        BOOT_TIMEOUT_MS,
        "the kernel's banner after in-guest decompression",
      );
      vm.kill();
    },
    BOOT_TIMEOUT_MS,
  );
});
