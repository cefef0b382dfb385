import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { versionCommand } from './version.js';

/** Every `plex86` subcommand, in the order `plex86 --help` lists them. */
export const commands: Command[] = [benchCommand, versionCommand];
