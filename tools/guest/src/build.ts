import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { debianCacheDir, debianPackageDepends, fetchDebianPackage } from '@plex86/testing';
import { CpioType, writeCpio, type CpioEntry } from './cpio.js';
import { HVC0_SHELL, INITTAB, PROFILE, rcS } from './init-files.js';
import { moduleLoadOrder, type KernelModule } from './modules.js';

/** Modules the default guest loads at boot: the virtio HAL drivers and ext4 (which also mounts ext2). */
export const GUEST_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'ext4', 'crc32c_generic'];

export interface GuestBuildOptions {
  /** Where built guests are kept; default `<user cache>/plex86/guest`. */
  readonly cacheDir?: string;
  /** Rebuild even when a built guest is in the cache. */
  readonly force?: boolean;
  /** Called with a line for each step of a long build. */
  readonly onProgress?: (line: string) => void;
}

/** A built guest: what `plex86 run --kernel … --initrd …` boots. */
export interface Guest {
  readonly release: string;
  /** The kernel's bzImage. */
  readonly kernel: string;
  /** The gzip-compressed newc initramfs. */
  readonly initrd: string;
  /** Kernel command line the guest is meant to boot with. */
  readonly cmdline: string;
  readonly modules: readonly string[];
}

/**
 * The guest's command line. `cryptomgr.notests` skips the kernel's boot-time self-tests of its
 * crypto algorithms: their big-number arithmetic (RSA and Diffie-Hellman vectors) is about three
 * billion instructions, most of the boot, and tests the kernel rather than the machine.
 */
export const DEFAULT_CMDLINE = 'console=ttyS0 quiet cryptomgr.notests';

export function guestCacheDir(): string {
  return join(debianCacheDir(), '..', 'guest');
}

/** Builds the default guest from Debian's i386 packages, or returns the one already in the cache. */
export async function buildGuest(options: GuestBuildOptions = {}): Promise<Guest> {
  const progress = options.onProgress ?? (() => undefined);
  const cacheDir = options.cacheDir ?? guestCacheDir();

  progress('resolving linux-image-686 for i386');
  const kernelPackage = (await debianPackageDepends('linux-image-686', 'i386')).find((d) =>
    /^linux-image-\d.*-686$/.test(d),
  );
  if (!kernelPackage) throw new Error('linux-image-686:i386 depends on no versioned kernel package');
  progress(`fetching ${kernelPackage}:i386 and busybox-static:i386 (about 55 MB the first time)`);
  const [kernelRoot, busyboxRoot] = await Promise.all([
    fetchDebianPackage(kernelPackage, 'i386'),
    fetchDebianPackage('busybox-static', 'i386'),
  ]);

  const releases = readdirSync(join(kernelRoot, 'lib', 'modules'));
  const release = releases[0];
  if (releases.length !== 1 || release === undefined) {
    throw new Error(`expected one kernel release in ${kernelPackage}, found: ${releases.join(', ') || 'none'}`);
  }
  const kernelFile = join(kernelRoot, 'boot', `vmlinuz-${release}`);
  const busyboxFile = join(busyboxRoot, 'bin', 'busybox');
  for (const file of [kernelFile, busyboxFile]) if (!existsSync(file)) throw new Error(`missing ${file}`);

  const moduleDir = join(kernelRoot, 'lib', 'modules', release);
  const modules = moduleLoadOrder(moduleDir, GUEST_MODULES);
  const busybox = readFileSync(busyboxFile);
  const key = createHash('sha256')
    .update(release)
    .update(busybox)
    .update(INITTAB + rcS(release) + HVC0_SHELL + PROFILE)
    .update(modules.map((m) => m.path).join('\n'))
    .digest('hex')
    .slice(0, 12);
  const dir = join(cacheDir, `${release}-${key}`);
  const guest: Guest = {
    release,
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    cmdline: DEFAULT_CMDLINE,
    modules: modules.map((m) => m.name),
  };
  if (!options.force && existsSync(join(dir, 'guest.json'))) {
    progress(`guest ${release} is built: ${dir}`);
    return guest;
  }

  progress(`building the initramfs: busybox and ${modules.length} modules (${guest.modules.join(', ')})`);
  const archive = writeCpio(initramfsEntries(release, busybox, moduleDir, modules));
  const initrd = gzipSync(archive, { level: 9 });

  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'vmlinuz'), await readFile(kernelFile));
  await writeFile(join(staging, 'initrd.img'), initrd);
  await writeFile(join(staging, 'guest.json'), `${JSON.stringify(guest, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  progress(`guest ${release} built: ${dir} (initramfs ${(initrd.length / 1024).toFixed(0)} KiB)`);
  return guest;
}

function initramfsEntries(
  release: string,
  busybox: Uint8Array,
  moduleDir: string,
  modules: readonly KernelModule[],
): CpioEntry[] {
  const text = (s: string) => new TextEncoder().encode(s);
  const dirs = new Set(['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'mnt', 'root']);
  dirs.add('etc').add('etc/init.d').add('lib').add('lib/modules').add(`lib/modules/${release}`);
  for (const m of modules) {
    const parts = `lib/modules/${release}/${m.path}`.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: CpioEntry[] = [...dirs]
    .sort()
    .map((name) => ({ name, type: CpioType.Directory, permissions: name === 'tmp' ? 0o1777 : 0o755 }));
  // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
  entries.push({ name: 'dev/console', type: CpioType.CharDevice, permissions: 0o600, major: 5, minor: 1 });
  entries.push({ name: 'dev/null', type: CpioType.CharDevice, permissions: 0o666, major: 1, minor: 3 });
  entries.push({ name: 'bin/busybox', type: CpioType.File, permissions: 0o755, data: busybox });
  for (const link of ['init', 'bin/sh', 'bin/cttyhack', 'sbin/getty', 'sbin/reboot']) {
    const target = link === 'init' ? 'bin/busybox' : link.startsWith('bin/') ? 'busybox' : '../bin/busybox';
    entries.push({ name: link, type: CpioType.Symlink, permissions: 0o777, data: text(target) });
  }
  entries.push({ name: 'etc/inittab', type: CpioType.File, permissions: 0o644, data: text(INITTAB) });
  entries.push({ name: 'etc/init.d/rcS', type: CpioType.File, permissions: 0o755, data: text(rcS(release)) });
  entries.push({ name: 'etc/init.d/hvc0-shell', type: CpioType.File, permissions: 0o755, data: text(HVC0_SHELL) });
  entries.push({ name: 'etc/profile', type: CpioType.File, permissions: 0o644, data: text(PROFILE) });
  entries.push({
    name: 'etc/modules',
    type: CpioType.File,
    permissions: 0o644,
    data: text(modules.map((m) => `${m.path}\n`).join('')),
  });
  for (const m of modules) {
    entries.push({
      name: `lib/modules/${release}/${m.path}`,
      type: CpioType.File,
      permissions: 0o644,
      data: readFileSync(join(moduleDir, m.path)),
    });
  }
  return entries;
}
