import { createInProcessBus } from '@plex86/bus';
import type { Command } from '../command.js';
import { formatServices } from './services.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a virtual machine on the embedded stack (all services in this process).',
  usage: 'plex86 run',
  details:
    'Starts the in-process bus and the services that run on it, lists them, and runs the guest.\n' +
    'The CPU engine cannot run guest code yet, so for now the command starts the stack, says so,\n' +
    'and stops.',
  options: {},
  async run(_values, positionals, io) {
    if (positionals.length > 0) {
      io.err(`plex86 run: unexpected argument "${positionals[0]}"\n`);
      return 2;
    }
    const bus = createInProcessBus();
    try {
      io.out('plex86: embedded stack started: in-process bus (no NATS server needed).\n');
      io.out(formatServices(await bus.discover()));
      io.out('plex86: no guest can boot yet: the CPU engine does not execute guest code yet. Stopping.\n');
    } finally {
      await bus.close();
    }
    return 0;
  },
};
