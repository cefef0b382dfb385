import { DEBUGGER_SERVICE_HELP, debuggerServiceMain } from '@plex86/debugger';
import { CONSOLE_SERVICE_HELP, consoleServiceMain } from '@plex86/hal-console';
import { NET_SERVICE_HELP, netServiceMain } from '@plex86/hal-net';
import { STORAGE_SERVICE_HELP, storageServiceMain } from '@plex86/storage';
import { UsageError, type Command, type CommandIo } from '../command.js';

/** A service that can run as its own process, connected to NATS. */
interface ServiceEntry {
  readonly summary: string;
  readonly help: string;
  main(argv: string[], io: CommandIo): Promise<number>;
}

const SERVICES: Record<string, ServiceEntry> = {
  console: {
    summary: 'a console backend for one VM: its output to this terminal, a file or TCP clients, input back',
    help: CONSOLE_SERVICE_HELP,
    main: (argv, io) => consoleServiceMain(argv, io),
  },
  debugger: {
    summary: 'the GDB remote serial protocol server for one VM, driving its monitor over the bus',
    help: DEBUGGER_SERVICE_HELP,
    main: (argv, io) => debuggerServiceMain(argv, io),
  },
  net: {
    summary: 'virtual Ethernet segments: interface membership and frame accounting',
    help: NET_SERVICE_HELP,
    main: (argv, io) => netServiceMain(argv, io),
  },
  storage: {
    summary: 'disk images, qcow2 diff overlays (commit, undo) and the block devices of VMs',
    help: STORAGE_SERVICE_HELP,
    main: (argv, io) => storageServiceMain(argv, io),
  },
};

function serviceList(): string {
  const names = Object.keys(SERVICES).sort();
  const width = Math.max(...names.map((n) => n.length));
  return names.map((n) => `  ${n.padEnd(width)}  ${SERVICES[n]?.summary ?? ''}`).join('\n');
}

export const serviceCommand: Command = {
  name: 'service',
  summary: 'Run one plex86 service as its own process on a NATS deployment.',
  usage: 'plex86 service NAME --nats URL [OPTIONS]',
  get details() {
    return (
      `Services:\n${serviceList()}\n\n` +
      '`plex86 service NAME --help` lists the options of a service. A service runs until SIGINT or\n' +
      'SIGTERM and registers with the NATS service API, so `plex86 services --nats URL` finds it.'
    );
  },
  options: {},
  passThrough: true,
  async run(_values, positionals, io) {
    const [name, ...argv] = positionals;
    if (name === undefined) throw new UsageError('which service? Give its NAME');
    const service = SERVICES[name];
    if (!service) throw new UsageError(`no service named "${name}"`);
    return service.main(argv, io);
  },
};
