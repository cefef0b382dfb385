/**
 * `plex86 snapshot save|restore|info`: save a running VM over the bus (its monitor writes the file),
 * continue a snapshot in this process, or describe and verify a snapshot file.
 */

import { resolve } from 'node:path';
import { BusError } from '@plex86/bus';
import {
  checkSnapshotDisks,
  describeCpu,
  imageFormatToJSON,
  requestSnapshotSave,
  RunOptionError,
  runMachine,
  SnapshotError,
  SnapshotFile,
  type MachineSetup,
  type RunOptions,
  type SnapshotInfo,
} from '@plex86/monitor';
import { connectNats } from '../bus-option.js';
import { UsageError, stringOption, type Command, type CommandIo, type OptionValues } from '../command.js';
import { GDB_HELP, GDB_OPTIONS, withRunDebugger } from './run-gdb.js';
import { clockOption, runLinux, snapshotDiskArgs } from './run.js';

const DEFAULT_VM = 'vm1';
/** A snapshot of a large guest takes a while to write; the request waits that long. */
const SAVE_TIMEOUT_MS = 300_000;

const HELP =
  'plex86 snapshot save --nats URL [--vm ID] [--stop] FILE\n' +
  '  Asks the monitor running VM ID (default vm1) on the NATS server to save its CPU, devices and RAM\n' +
  "  (all-zero pages left out) to FILE on the monitor's host, with references to its disk files.\n" +
  '  The guest is held at an instruction boundary until device requests in flight complete, then\n' +
  '  runs on; --stop ends the run once the file is written.\n\n' +
  'plex86 snapshot restore FILE [--nats URL] [--vm ID] [--console ttyS0|hvc0|none] [--clock warp|realtime]\n' +
  '                        [--stats] [--gdb tcp:HOST:PORT [--gdb-wait]]\n' +
  '  Continues the guest of FILE in this process, unaware of the pause: the same memory, consoles,\n' +
  '  network interfaces and disks, reopened from the files the snapshot names (a missing or changed\n' +
  "  file is refused). The options mean what they mean for plex86 run. A test program's debug\n" +
  '  consoles go to stdout, its serial port to --serial stdio|FILE (default stdio).\n\n' +
  'plex86 snapshot info FILE\n' +
  '  Prints the header, VM, creation time, memory, components, disks and the checksum verdict;\n' +
  '  exits with status 1 when a checksum does not match.\n\n' +
  GDB_HELP;

export const snapshotCommand: Command = {
  name: 'snapshot',
  summary: 'Save a running VM to a file, continue one from a file, or describe a snapshot file.',
  usage: 'plex86 snapshot save|restore|info [OPTIONS] FILE',
  details: HELP,
  options: {
    nats: { type: 'string' },
    vm: { type: 'string' },
    stop: { type: 'boolean' },
    console: { type: 'string' },
    clock: { type: 'string' },
    stats: { type: 'boolean' },
    serial: { type: 'string' },
    ...GDB_OPTIONS,
  },
  async run(values, positionals, io) {
    const [action, file, ...rest] = positionals;
    if (action === undefined) throw new UsageError('say what to do: save, restore or info');
    if (file === undefined) throw new UsageError(`snapshot ${action} needs a FILE`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const only = (allowed: string[]) => {
      for (const [name, value] of Object.entries(values)) {
        if (value !== undefined && !allowed.includes(name)) {
          throw new UsageError(`--${name} does not apply to snapshot ${action}`);
        }
      }
    };
    switch (action) {
      case 'save':
        only(['nats', 'vm', 'stop']);
        return save(values, file, io);
      case 'restore':
        only(['nats', 'vm', 'console', 'clock', 'stats', 'serial', 'gdb', 'gdb-wait']);
        return restore(values, file, io);
      case 'info':
        only([]);
        return info(file, io);
      default:
        throw new UsageError(`unknown action "${action}": save, restore or info`);
    }
  },
};

async function save(values: OptionValues, file: string, io: CommandIo): Promise<number> {
  if (stringOption(values, 'nats') === undefined) {
    throw new UsageError('snapshot save reaches the VM over NATS: give --nats URL (the run needs --nats too)');
  }
  const vm = stringOption(values, 'vm') ?? DEFAULT_VM;
  if (!/^[A-Za-z0-9_-]+$/.test(vm)) throw new UsageError(`--vm needs a VM id like vm1, got "${vm}"`);
  const bus = await connectNats(values, `plex86-snapshot-${vm}`);
  try {
    let reply;
    try {
      reply = await requestSnapshotSave(bus, vm, resolve(file), {
        stop: values['stop'] === true,
        timeoutMs: SAVE_TIMEOUT_MS,
      });
    } catch (e) {
      if (e instanceof BusError) throw new Error(`VM ${vm}: ${e.message} (${e.codeName})`, { cause: e });
      throw e;
    }
    if (reply.info === undefined) throw new Error(`VM ${vm} answered without a summary of the snapshot`);
    io.out(describe(reply.info, undefined));
    io.out(`paused            ${reply.pauseMs.toFixed(1)} ms\n`);
    return 0;
  } finally {
    await bus.close();
  }
}

async function restore(values: OptionValues, path: string, io: CommandIo): Promise<number> {
  const file = openSnapshot(path);
  try {
    const setup = file.state.setup;
    if (setup === undefined) throw new Error(`${path}: the snapshot does not say how its machine was built`);
    try {
      await checkSnapshotDisks(setup);
    } catch (e) {
      if (e instanceof SnapshotError) throw new Error(`${path}: ${e.message}`, { cause: e });
      throw e;
    }
    const options: RunOptions = { memory: `${Number(setup.memoryBytes) / 1024}K`, restore: file };
    if (values['stats'] === true) options.stats = true;
    const clock = clockOption(values);
    if (clock !== undefined) options.clock = clock;
    try {
      if (isLinuxStyle(setup)) {
        if (values['serial'] !== undefined) throw new UsageError('--serial is for snapshots of test programs');
        return await runLinux(options, values, io, {
          file,
          disks: snapshotDiskArgs(setup.disks),
          segments: setup.nets.map((n) => n.segment),
          macs: setup.nets.map((n) => n.mac),
          virtioConsoles: [...setup.virtioConsoles],
        });
      }
      if (values['nats'] !== undefined || values['console'] !== undefined) {
        throw new UsageError('--nats and --console are for snapshots of Linux guests with devices on the bus');
      }
      const serial = stringOption(values, 'serial');
      if (serial !== undefined) options.serial = serial;
      // A test program: its consoles come back on the terminal.
      if (setup.exitPort !== undefined) options.exitPort = String(setup.exitPort);
      options.debugcon = setup.debugconPorts.map((port) => `0x${port.toString(16)}:stdio`);
      return await withRunDebugger(values, undefined, DEFAULT_VM, io, (onStart) =>
        runMachine(options, { stdout: (data) => io.outBytes(data), stderr: (text) => io.err(text), onStart }),
      );
    } catch (e) {
      if (e instanceof RunOptionError) throw new UsageError(e.message);
      if (e instanceof SnapshotError) throw new Error(`${path}: ${e.message}`, { cause: e });
      throw e;
    }
  } finally {
    file.close();
  }
}

/** A run with devices on a bus (what `plex86 run` builds for a Linux guest). */
function isLinuxStyle(setup: MachineSetup): boolean {
  return setup.disks.length > 0 || setup.virtioConsoles.length > 0 || setup.nets.length > 0;
}

function openSnapshot(path: string): SnapshotFile {
  try {
    return SnapshotFile.open(path);
  } catch (e) {
    if (e instanceof SnapshotError) throw new Error(e.message, { cause: e });
    throw e;
  }
}

async function info(path: string, io: CommandIo): Promise<number> {
  const file = openSnapshot(path);
  try {
    const summary = file.info(true);
    io.out(describe(summary, file));
    if (!summary.checksumsValid) {
      io.err(`plex86 snapshot: ${path}: checksum mismatch in the RAM section (the file is corrupt)\n`);
      return 1;
    }
    return 0;
  } finally {
    file.close();
  }
}

function mib(bytes: bigint): string {
  return `${(Number(bytes) / (1 << 20)).toFixed(1)} MiB`;
}

function describe(s: SnapshotInfo, file: SnapshotFile | undefined): string {
  const lines = [
    `snapshot          ${s.path}`,
    `format            plex86 snapshot version ${s.formatVersion}`,
    `vm                ${s.vmId}`,
    `created           ${new Date(Number(s.createdUnixMs)).toISOString()}`,
    `memory            ${mib(s.memoryBytes)} (${s.storedPages} non-zero pages stored, ${mib(s.storedPages * 4096n)})`,
    `file size         ${mib(s.fileSize)}`,
    `instructions      ${s.instructionsRetired}`,
    `components        ${s.componentIds.join(' ')}`,
  ];
  const setup = file?.state.setup;
  if (file !== undefined && setup !== undefined) {
    lines.push(`virtual time      ${(Number(file.state.virtualTimeNs) / 1e9).toFixed(3)} s`);
    lines.push(`cpu               ${describeCpu(file.state)}`);
    for (const d of setup.disks) {
      const where = d.spec === '' ? 'served on the bus' : d.spec;
      lines.push(`disk ${d.id.padEnd(12)} ${where} (${imageFormatToJSON(d.format)})`);
      for (const f of d.files) {
        lines.push(`  file            ${f.path}, ${f.sizeBytes} bytes, modified ${isoNs(f.mtimeNs)}`);
      }
    }
    for (const c of setup.virtioConsoles) lines.push(`console           ${c} (virtio)`);
    for (const n of setup.nets) lines.push(`net ${n.id.padEnd(13)} ${n.mac} on segment ${n.segment}`);
    lines.push(`sections          ${file.header.sections.map((x) => `${x.length} bytes at ${x.offset}`).join(', ')}`);
  }
  lines.push(`checksums         ${s.checksumsValid ? 'ok (SHA-256)' : 'MISMATCH'}`);
  return `${lines.join('\n')}\n`;
}

function isoNs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}
