import type { Command } from '../command.js';
import { versionCommand } from './version.js';

/** Every `plex86` subcommand, in the order `plex86 --help` lists them. */
export const commands: Command[] = [versionCommand];
