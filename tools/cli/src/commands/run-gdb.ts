/**
 * Debugging a `plex86 run`: the monitor serves DebugService for the VM on the run's bus (in process
 * or NATS), `--gdb tcp:HOST:PORT` starts the GDB remote protocol server in this process on top of it
 * (busDebugTarget, the same client `plex86 service debugger` uses over NATS), and `--gdb-wait` holds
 * the CPU at its first instruction until a debugger lets it run.
 */

import { resolve } from 'node:path';
import { createInProcessBus, type Bus } from '@plex86/bus';
import {
  busDebugTarget,
  ListenAddressError,
  parseListenAddress,
  startDebugger,
  type BusDebugTarget,
  type DebuggerServer,
  type ListenAddress,
  type MonitorCapabilities,
} from '@plex86/debugger';
import {
  MachineDebugger,
  serveDebugService,
  type Machine,
  type ServedDebugger,
  type SnapshotSaver,
} from '@plex86/monitor';
import { UsageError, stringOption, type CommandIo, type OptionValues } from '../command.js';

export const GDB_OPTIONS = {
  gdb: { type: 'string' },
  'gdb-wait': { type: 'boolean' },
} as const;

export const GDB_HELP =
  'Debugging (GDB remote protocol; gdb: target remote HOST:PORT):\n' +
  '  --gdb tcp:HOST:PORT       serve gdb on this address (loopback, e.g. tcp:127.0.0.1:1234); Ctrl-C\n' +
  '                            in gdb interrupts the guest, detach lets it run on\n' +
  '  --gdb-wait                hold the CPU at its first instruction until a debugger continues it;\n' +
  '                            with --nats and no --gdb, plex86 service debugger --nats URL --vm ID\n' +
  '                            serves gdb from its own process (Linux runs always serve the\n' +
  '                            debug interface on their bus)\n';

/** Timeout of requests from the in-process protocol server to the monitor; steps and halts are quick. */
const REQUEST_TIMEOUT_MS = 30_000;

interface GdbArgs {
  readonly listen: ListenAddress | undefined;
  readonly wait: boolean;
}

function gdbArgs(values: OptionValues): GdbArgs {
  const text = stringOption(values, 'gdb');
  let listen: ListenAddress | undefined;
  if (text !== undefined) {
    try {
      listen = parseListenAddress(text);
    } catch (e) {
      if (e instanceof ListenAddressError) throw new UsageError(`--gdb: ${e.message}`);
      throw e;
    }
  }
  return { listen, wait: values['gdb-wait'] === true };
}

/**
 * What `monitor` commands reach directly in this process: the engine's counters and snapshots to a
 * path on this host. The rest (`monitor sbe`, `monitor phys`) goes over the bus as it does for
 * `plex86 service debugger`.
 */
function localMonitor(dbg: Promise<MachineDebugger>, snapshots: Promise<SnapshotSaver>): MonitorCapabilities {
  return {
    // The file is on this host: a relative path is taken from the run's working directory.
    saveSnapshot: async (path) => void (await (await snapshots)(resolve(path), false)),
    stats: async () => {
      const machine = (await dbg).machine;
      const e = machine.engine.stats;
      return [
        ['instructions', String(machine.cpu.instructions)],
        ['virtual time', `${(machine.clock.now() / 1e9).toFixed(6)} s`],
        ['blocks run', String(e.blocks)],
        ['monitor exits', `${e.sensitive} sensitive, ${e.faults} faults, ${e.interrupts} interrupts`],
        ['block source', machine.blocks.describe()],
      ];
    },
  };
}

/**
 * Runs `run` (which calls runMachine with the given onStart) with the VM's debug interface on `bus`
 * and, with --gdb, the protocol server. Without a bus (test programs), one is made in process when
 * --gdb asks for debugging; otherwise `run` gets no hook.
 */
export async function withRunDebugger(
  values: OptionValues,
  bus: Bus | undefined,
  vm: string,
  io: CommandIo,
  run: (onStart: ((machine: Machine, snapshots: SnapshotSaver) => void) | undefined) => Promise<number>,
): Promise<number> {
  const args = gdbArgs(values);
  if (args.wait && args.listen === undefined && (bus === undefined || values['nats'] === undefined)) {
    throw new UsageError('--gdb-wait needs --gdb tcp:HOST:PORT, or --nats URL for plex86 service debugger');
  }
  if (bus === undefined && args.listen === undefined) return run(undefined);
  const ownBus = bus === undefined ? createInProcessBus() : undefined;
  const runBus = bus ?? (ownBus as Bus);

  let attach!: (dbg: MachineDebugger) => void;
  let abandon!: (why: Error) => void;
  const debuggerReady = new Promise<MachineDebugger>((resolve, reject) => {
    attach = resolve;
    abandon = reject;
  });
  debuggerReady.catch(() => undefined);
  let gotSaver!: (save: SnapshotSaver) => void;
  const saverReady = new Promise<SnapshotSaver>((resolve, reject) => {
    gotSaver = resolve;
    debuggerReady.catch(reject);
  });
  saverReady.catch(() => undefined);
  let served: ServedDebugger | undefined;
  let target: BusDebugTarget | undefined;
  let server: DebuggerServer | undefined;
  try {
    served = await serveDebugService(runBus, vm, debuggerReady);
    if (args.listen !== undefined) {
      const log = (line: string) => io.err(`plex86: gdb: ${line}\n`);
      target = busDebugTarget(runBus, vm, {
        log,
        timeoutMs: REQUEST_TIMEOUT_MS,
        monitor: localMonitor(debuggerReady, saverReady),
      });
      try {
        server = await startDebugger({ listen: args.listen, target, log });
      } catch (e) {
        throw new UsageError(
          `--gdb: cannot listen on ${args.listen.host}:${args.listen.port}: ${(e as Error).message}`,
        );
      }
      const { host, port } = server.address;
      io.err(`plex86: gdb server listening on tcp:${host}:${port} (gdb: target remote ${host}:${port})\n`);
    }
    const onStart = (machine: Machine, snapshots: SnapshotSaver) => {
      gotSaver(snapshots);
      const dbg = new MachineDebugger(machine);
      if (args.wait) {
        // Halting a detached debugger takes effect at once: the run loop never starts the engine.
        void dbg.halt();
        io.err(`plex86: waiting for a debugger at ${machine.where()} (--gdb-wait)\n`);
      }
      attach(dbg);
    };
    return await run(onStart);
  } finally {
    abandon(new Error('the run ended'));
    // The protocol server first, so a connected gdb's session detaches while the bus is still open.
    await server?.close();
    target?.close();
    await served?.stop();
    await ownBus?.close();
  }
}
