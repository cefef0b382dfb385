import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';

/** The version of the plex86 workspace this command belongs to. */
export function plex86Version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the plex86 version and the Node.js runtime it runs on.',
  usage: 'plex86 version',
  details: '',
  options: {},
  async run(_values, positionals, io) {
    if (positionals.length > 0) {
      io.err(`plex86 version: takes no arguments\n`);
      return 2;
    }
    io.out(`plex86 ${plex86Version()} (node ${process.versions.node})\n`);
    return 0;
  },
};
