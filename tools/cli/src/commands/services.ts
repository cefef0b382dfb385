import type { DiscoveredService } from '@plex86/bus';
import type { Command } from '../command.js';
import { NATS_OPTION, NATS_OPTION_HELP, connectNats } from '../bus-option.js';

/** Renders discovered services, one block each: name, version, id, then its endpoints with counters. */
export function formatServices(services: readonly DiscoveredService[]): string {
  if (services.length === 0) return 'No services answered.\n';
  const sorted = [...services].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const lines: string[] = [];
  for (const s of sorted) {
    lines.push(`${s.name} ${s.version}  id ${s.id}${s.description ? `  ${s.description}` : ''}`);
    const width = Math.max(0, ...s.endpoints.map((e) => e.subject.length));
    for (const e of s.endpoints) {
      const queue = e.queueGroup ? `queue ${e.queueGroup}` : 'no queue';
      const errors = e.errors > 0 ? `, ${e.errors} errors (last: ${e.lastError})` : '';
      lines.push(`  ${e.subject.padEnd(width)}  ${e.name}  ${queue}  ${e.requests} requests${errors}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const servicesCommand: Command = {
  name: 'services',
  summary: 'List the services running on a NATS deployment, with their endpoints and request counts.',
  usage: 'plex86 services --nats URL',
  details: `Options:\n${NATS_OPTION_HELP}\n\nServices are found through the NATS service API ($SRV.INFO and $SRV.STATS).`,
  options: NATS_OPTION,
  async run(values, positionals, io) {
    if (positionals.length > 0) {
      io.err(`plex86 services: unexpected argument "${positionals[0]}"\n`);
      return 2;
    }
    const bus = await connectNats(values, 'plex86-services');
    try {
      io.out(formatServices(await bus.discover()));
    } finally {
      await bus.close();
    }
    return 0;
  },
};
