import { createInProcessBus, type Bus } from '@plex86/bus';
import { buildGuest } from '@plex86/guest';
import { startConsoleBackend, stdioEndpoint, type ConsoleBackend } from '@plex86/hal-console';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { deriveMac, SegmentPort, startNetService, type NetServiceHandle } from '@plex86/hal-net';
import {
  defaultKernelCacheDir,
  isBzImage,
  RunOptionError,
  runMachine,
  SERIAL_CONSOLE_ID,
  type RunOptions,
  type SnapshotFile,
  type VirtioDiskSpec,
  type VirtioNetSpec,
} from '@plex86/monitor';
import {
  formatDiskSpec,
  openDisk,
  parseDiskSpec,
  serveDisk,
  DISK_SPEC_SYNTAX,
  type DiskSpec,
  type OpenedDisk,
  type ServedDisk,
} from '@plex86/storage';
import { connectNats } from '../bus-option.js';
import { UsageError, stringOption, type Command, type CommandIo, type OptionValues } from '../command.js';
import { GDB_HELP, GDB_OPTIONS, withRunDebugger } from './run-gdb.js';

/** The virtio console every Linux guest gets (Linux's hvc0). */
const VIRTIO_CONSOLE_ID = 'hvc0';
const DEFAULT_VM = 'vm1';

/** Maps the command line to the monitor's run options. */
function runOptions(values: OptionValues): RunOptions {
  const options: RunOptions = {};
  const set = <K extends keyof RunOptions>(key: K, value: RunOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('rom', stringOption(values, 'rom'));
  set('kernel', stringOption(values, 'kernel'));
  set('append', stringOption(values, 'append'));
  set('initrd', stringOption(values, 'initrd'));
  set('bootDecompress', stringOption(values, 'boot-decompress'));
  set('kernelCache', kernelCacheOption(values));
  set('memory', stringOption(values, 'memory'));
  set('exitPort', stringOption(values, 'exit-port'));
  set('serial', stringOption(values, 'serial'));
  set('maxInstructions', stringOption(values, 'max-instructions'));
  set('textScreen', stringOption(values, 'text-screen'));
  const debugcon = values['debugcon'];
  if (Array.isArray(debugcon)) options.debugcon = debugcon.map(String);
  if (values['stats'] === true) options.stats = true;
  set('clock', clockOption(values));
  return options;
}

/** `--kernel-cache DIR|off`: where kernels unpacked on the host are kept (default in the user cache). */
function kernelCacheOption(values: OptionValues): string | undefined {
  const dir = stringOption(values, 'kernel-cache');
  if (dir === 'off') return undefined;
  if (dir === '') throw new UsageError('--kernel-cache takes a directory or off');
  return dir ?? defaultKernelCacheDir();
}

/** `--clock warp|realtime`, checked. */
export function clockOption(values: OptionValues): RunOptions['clock'] {
  const clock = stringOption(values, 'clock');
  if (clock === undefined || clock === 'warp' || clock === 'realtime') return clock;
  throw new UsageError(`--clock takes warp or realtime, got "${clock}"`);
}

/** A `--disk` value: an image this process serves, or `bus:ID` for one a storage service serves. */
export type DiskArg = { kind: 'image'; spec: string } | { kind: 'bus'; id: string };

function stringList(values: OptionValues, name: string): string[] {
  const raw = values[name];
  return Array.isArray(raw) ? raw.map(String) : [];
}

function diskArgs(values: OptionValues): DiskArg[] {
  return stringList(values, 'disk').map((text) => {
    if (text.startsWith('bus:')) {
      const id = text.slice(4);
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new UsageError(`--disk bus:ID needs a disk id like vda, got "${text}"`);
      return { kind: 'bus', id };
    }
    return { kind: 'image', spec: text };
  });
}

/** Linux names virtio disks vda, vdb, ... in PCI order. */
function diskName(index: number): string {
  return `vd${String.fromCharCode(0x61 + index)}`;
}

/**
 * The devices and backends of one Linux run, started on the bus before the machine and stopped
 * after it: disks opened and served here, and the terminal's console backend.
 */
class RunBackends {
  readonly disks: VirtioDiskSpec[] = [];
  readonly nets: VirtioNetSpec[] = [];
  private readonly ports: SegmentPort[] = [];
  private netService: NetServiceHandle | undefined;
  private readonly opened: OpenedDisk[] = [];
  private readonly served: ServedDisk[] = [];
  console: ConsoleBackend | undefined;

  async openDisks(bus: Bus, vm: string, args: DiskArg[], io: CommandIo): Promise<void> {
    for (const [i, arg] of args.entries()) {
      if (arg.kind === 'bus') {
        this.disks.push({ id: arg.id });
        continue;
      }
      const id = diskName(i);
      let disk: OpenedDisk;
      try {
        disk = await openDisk(arg.spec, { log: (line) => io.err(`plex86: ${line}\n`) });
      } catch (e) {
        throw new UsageError(`--disk ${arg.spec}: ${(e as Error).message}`);
      }
      this.opened.push(disk);
      this.served.push(await serveDisk(bus, vm, id, disk.image));
      this.disks.push({ id, readOnly: disk.spec.readOnly === true, source: diskSource(disk.spec) });
    }
  }

  /**
   * One virtio-net interface per segment (eth0, eth1, ...). On the in-process bus this process also
   * runs the segment service; on NATS a `plex86 service net` must be running.
   */
  async attachNets(bus: Bus, vm: string, segments: string[], inProcess: boolean, macs: string[] = []): Promise<void> {
    if (segments.length > 0 && inProcess) this.netService = await startNetService(bus);
    for (const [i, segment] of segments.entries()) {
      const nic = `eth${i}`;
      const mac = macs[i] ?? deriveMac(vm, nic);
      let port: SegmentPort;
      try {
        port = await SegmentPort.attach(bus, { segment, vm, nic, mac, timeoutMs: 5000 });
      } catch (e) {
        throw new UsageError(
          `--net ${segment}: cannot join the segment (${(e as Error).message}); ` +
            'with --nats, start its service first: plex86 service net --nats URL',
        );
      }
      this.ports.push(port);
      this.nets.push({ id: nic, mac, link: port, segment });
    }
  }

  async close(): Promise<void> {
    await this.console?.stop();
    for (const p of this.ports) await p.detach().catch(() => undefined);
    await this.netService?.stop();
    for (const s of this.served) await s.close();
    for (const d of this.opened) await d.close();
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a virtual machine: the default Linux guest, a Linux kernel, or a test program, on the sbe engine.',
  usage: 'plex86 run [--kernel FILE [--initrd FILE] [--append CMDLINE] | --rom FILE] [--disk SPEC]... [OPTIONS]',
  details:
    'Without --kernel or --rom, builds the default guest when it is missing (Debian i386 kernel and\n' +
    'busybox; see plex86 guest) and boots it to a shell on the terminal: keystrokes go to the guest,\n' +
    'Ctrl-A x quits, and the guest command poweroff ends the run with status 0.\n\n' +
    'Linux guests:\n' +
    '  --kernel FILE             Linux bzImage (boot protocol 2.10+) or Multiboot (v1) kernel, told\n' +
    '                            apart by their headers; both are entered in 32-bit protected mode\n' +
    '  --initrd FILE             initial RAM disk for a Linux kernel; for a Multiboot kernel, its\n' +
    "                            boot modules: 'FILE [ARGS][,FILE [ARGS]...]' as in QEMU\n" +
    '  --append CMDLINE          kernel command line (default guest: console=ttyS0 quiet\n' +
    '                            cryptomgr.notests)\n' +
    '  --boot-decompress host|guest  where a bzImage is unpacked: on the host before entry (default,\n' +
    "                            fast) or by the kernel's own decompressor in the guest\n" +
    '  --kernel-cache DIR|off    where kernels unpacked on the host are kept, so that the next boot\n' +
    '                            of the same kernel skips the unpacking (default\n' +
    '                            ~/.cache/plex86/kernels); off: unpack at every boot\n' +
    `  --disk ${DISK_SPEC_SYNTAX}\n` +
    '                            a virtio disk (vda, vdb, ... in order), served by this process;\n' +
    '                            overlay= writes to a qcow2 diff disk, undo drops every write at exit;\n' +
    '                            --disk bus:ID uses disk ID served by a storage service on the bus\n' +
    '  --net SEGMENT             a virtio network interface (eth0, eth1, ... in order) on a virtual\n' +
    "                            Ethernet segment: every VM on it sees the others' frames\n" +
    '  --console ttyS0|hvc0|none which guest console the terminal shows (default ttyS0, the serial\n' +
    '                            port); hvc0 is the virtio console; none leaves both to console\n' +
    '                            services (plex86 service console)\n' +
    '  --nats URL                put the devices on this NATS server instead of the in-process bus,\n' +
    '                            so backends can run as their own processes (plex86 service ...)\n' +
    `  --vm ID                   VM id in bus subjects (default ${DEFAULT_VM})\n` +
    '  --clock warp|realtime     an idle guest skips to its next timer (warp, the default without a\n' +
    '                            terminal) or waits for it in real time (the default on a terminal);\n' +
    '                            while a network interface is up, an idle guest waits in real time\n' +
    '                            in both\n\n' +
    'Test programs (QEMU conventions, so existing test programs run unchanged):\n' +
    '  --rom FILE                64 or 128 KiB BIOS image mapped to end at 0xFFFFF (and below 4 GiB);\n' +
    '                            the CPU starts at F000:FFF0\n' +
    '  --debugcon [PORT:]TARGET  bytes written to PORT (default 0xe9) go to TARGET: stdio, stderr or\n' +
    '                            a file; may be repeated\n' +
    '  --exit-port PORT          a write of v to PORT ends the run with status (v << 1) | 1\n' +
    '  --serial stdio|FILE       where the 16550A UART at 0x3f8 writes (default stdio)\n\n' +
    'Both:\n' +
    '  --memory SIZE             RAM, e.g. 64M or 256M (default 128M)\n' +
    '  --max-instructions N      stop after N instructions (status 124)\n' +
    '  --stats                   print instructions, fast-path share, monitor exits, SBE figures, MIPS\n' +
    '                            at the end, and the figures so far whenever the process gets SIGUSR2\n' +
    '  --text-screen stdio|FILE  at the end, write the 80x25 text screen (0xb8000) as text: what a\n' +
    '                            kernel that prints to the screen showed (no display is modelled)\n\n' +
    GDB_HELP +
    '\n' +
    'HLT with interrupts disabled and nothing left to wake the CPU ends the run with status 0.',
  options: {
    rom: { type: 'string' },
    kernel: { type: 'string' },
    append: { type: 'string' },
    initrd: { type: 'string' },
    'boot-decompress': { type: 'string' },
    'kernel-cache': { type: 'string' },
    disk: { type: 'string', multiple: true },
    net: { type: 'string', multiple: true },
    console: { type: 'string' },
    nats: { type: 'string' },
    vm: { type: 'string' },
    clock: { type: 'string' },
    memory: { type: 'string' },
    debugcon: { type: 'string', multiple: true },
    'exit-port': { type: 'string' },
    serial: { type: 'string' },
    'max-instructions': { type: 'string' },
    stats: { type: 'boolean' },
    'text-screen': { type: 'string' },
    ...GDB_OPTIONS,
  },
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const options = runOptions(values);
    const machineIo = { stdout: (data: Uint8Array) => io.outBytes(data), stderr: (text: string) => io.err(text) };
    if (options.rom === undefined && options.kernel === undefined) {
      const guest = await buildGuest({ onProgress: (line) => io.err(`plex86: ${line}\n`) });
      options.kernel = guest.kernel;
      options.initrd = guest.initrd;
      options.append ??= guest.cmdline;
    }
    try {
      if (options.rom !== undefined || !(await isLinux(options.kernel))) {
        if (['disk', 'net', 'nats', 'console'].some((name) => values[name] !== undefined)) {
          throw new UsageError('--disk, --net, --nats and --console are for Linux guests (a bzImage --kernel)');
        }
        return await withRunDebugger(values, undefined, DEFAULT_VM, io, (onStart) =>
          runMachine(options, { ...machineIo, onStart }),
        );
      }
      return await runLinux(options, values, io);
    } catch (e) {
      if (e instanceof RunOptionError) throw new UsageError(e.message);
      throw e;
    }
  },
};

async function isLinux(kernel: string | undefined): Promise<boolean> {
  if (kernel === undefined) return false;
  try {
    return isBzImage(new Uint8Array(await readFile(kernel)));
  } catch {
    // An unreadable file gets its error from the loader.
    return false;
  }
}

/**
 * How a disk was opened, with absolute paths, for snapshots: a restore reopens it the same way and
 * checks that its files did not change. An undo disk's writes vanish with the run, so it records
 * the undo and a restore refuses it.
 */
function diskSource(spec: DiskSpec): VirtioDiskSpec['source'] {
  const file = resolve(spec.file);
  const overlay = spec.overlay === null ? undefined : resolve(spec.overlay);
  return {
    spec: formatDiskSpec({ ...spec, file, overlay: overlay ?? null }),
    format: overlay !== undefined ? 'qcow2' : (spec.format ?? undefined),
    files: overlay === undefined ? [file] : [file, overlay],
  };
}

/** What a Linux restore rebuilds besides the options: the snapshot's disks and interfaces. */
export interface LinuxRestore {
  readonly file: SnapshotFile;
  readonly disks: DiskArg[];
  readonly segments: string[];
  readonly macs: string[];
  readonly virtioConsoles: string[];
}

/** `--disk` values that reopen a snapshot's disks: image disks as recorded, the others from the bus. */
export function snapshotDiskArgs(disks: readonly { id: string; spec: string }[]): DiskArg[] {
  return disks.map((d) => {
    if (d.spec === '') return { kind: 'bus', id: d.id };
    if (parseDiskSpec(d.spec).undo) {
      throw new UsageError(
        `disk ${d.id} was an undo disk (${d.spec}): its writes ended with the run, so the guest cannot continue`,
      );
    }
    return { kind: 'image', spec: d.spec };
  });
}

/**
 * Boots a Linux guest (or, with `restore`, continues a snapshot of one) with its HAL devices and
 * backends on the in-process bus or on NATS.
 */
export async function runLinux(
  options: RunOptions,
  values: OptionValues,
  io: CommandIo,
  restore?: LinuxRestore,
): Promise<number> {
  const consoleChoice = stringOption(values, 'console') ?? SERIAL_CONSOLE_ID;
  if (consoleChoice !== SERIAL_CONSOLE_ID && consoleChoice !== VIRTIO_CONSOLE_ID && consoleChoice !== 'none') {
    throw new UsageError(`--console takes ttyS0, hvc0 or none, got "${consoleChoice}"`);
  }
  if (options.serial !== undefined && options.serial !== 'bus' && consoleChoice === SERIAL_CONSOLE_ID) {
    throw new UsageError(
      `--serial ${options.serial} takes the serial port off the terminal: add --console hvc0 or none`,
    );
  }
  const vm = stringOption(values, 'vm') ?? DEFAULT_VM;
  const disks = restore?.disks ?? diskArgs(values);
  const streams = io.streams ?? { stdin: process.stdin, stdout: process.stdout };
  const bus = values['nats'] !== undefined ? await connectNats(values, `plex86-run-${vm}`) : createInProcessBus();
  const backends = new RunBackends();
  const quit = new AbortController();
  try {
    await backends.openDisks(bus, vm, disks, io);
    await backends.attachNets(
      bus,
      vm,
      restore?.segments ?? stringList(values, 'net'),
      values['nats'] === undefined,
      restore?.macs,
    );
    options.bus = bus;
    options.vm = vm;
    options.serial ??= 'bus';
    options.disks = backends.disks;
    options.nets = backends.nets;
    options.virtioConsoles = restore?.virtioConsoles ?? [VIRTIO_CONSOLE_ID];
    options.restore = restore?.file;
    options.clock ??= streams.stdin.isTTY === true ? 'realtime' : 'warp';
    if (consoleChoice !== 'none') {
      const backend = startConsoleBackend(bus, { vm, consoleId: consoleChoice, endpoint: stdioEndpoint(streams) });
      backends.console = backend;
      void backend.quit.then(() => quit.abort());
      await backend.ready;
    }
    return await withRunDebugger(values, bus, vm, io, (onStart) =>
      runMachine(options, {
        stdout: (data) => io.outBytes(data),
        stderr: (text) => io.err(text),
        signal: quit.signal,
        onStart,
      }),
    );
  } finally {
    await backends.close();
    await bus.close();
  }
}
