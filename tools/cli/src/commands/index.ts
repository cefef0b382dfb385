import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { disasmCommand } from './disasm.js';
import { diskCommand } from './disk.js';
import { guestCommand } from './guest.js';
import { inspectCommand } from './inspect.js';
import { runCommand } from './run.js';
import { serviceCommand } from './service.js';
import { servicesCommand } from './services.js';
import { snapshotCommand } from './snapshot.js';
import { versionCommand } from './version.js';

/** Every `plex86` subcommand, in the order `plex86 --help` lists them. */
export const commands: Command[] = [
  runCommand,
  serviceCommand,
  servicesCommand,
  inspectCommand,
  diskCommand,
  snapshotCommand,
  guestCommand,
  disasmCommand,
  benchCommand,
  versionCommand,
];
