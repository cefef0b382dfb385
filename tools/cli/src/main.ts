import { runCommand, type CommandIo } from './command.js';
import { commands } from './commands/index.js';

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  outBytes: (data) => process.stdout.write(data),
  err: (text) => process.stderr.write(text),
};

export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return (
    'Usage: plex86 COMMAND [OPTIONS]\n\n' +
    'plex86 is a lightweight x86 virtual machine whose devices run as services over NATS.\n\n' +
    `Commands:\n${lines.join('\n')}\n\n` +
    'Run `plex86 COMMAND --help` for the options of a command.\n'
  );
}

/** Entry point of the `plex86` command; returns the exit status. */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') return main(['version', ...rest], io);
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`plex86: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  return runCommand(command, rest, io);
}
