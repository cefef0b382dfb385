import { createInProcessBus } from '@plex86/bus';
import { RunOptionError, runTestProgram, type RunOptions } from '@plex86/monitor';
import { startStorageService } from '@plex86/storage';
import { UsageError, stringOption, type Command, type CommandIo, type OptionValues } from '../command.js';
import { formatServices } from './services.js';

/** Maps the command line to the monitor's run options. */
function runOptions(values: OptionValues): RunOptions {
  const options: RunOptions = {};
  const set = <K extends keyof RunOptions>(key: K, value: RunOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('rom', stringOption(values, 'rom'));
  set('kernel', stringOption(values, 'kernel'));
  set('append', stringOption(values, 'append'));
  set('initrd', stringOption(values, 'initrd'));
  set('bootDecompress', stringOption(values, 'boot-decompress'));
  set('memory', stringOption(values, 'memory'));
  set('exitPort', stringOption(values, 'exit-port'));
  set('serial', stringOption(values, 'serial'));
  set('maxInstructions', stringOption(values, 'max-instructions'));
  const debugcon = values['debugcon'];
  if (Array.isArray(debugcon)) options.debugcon = debugcon.map(String);
  if (values['stats'] === true) options.stats = true;
  return options;
}

/** Without a program to run: start the embedded stack, show it, and say what cannot run yet. */
async function embeddedStack(io: CommandIo): Promise<number> {
  const bus = createInProcessBus();
  try {
    // The storage service manages the images of the current directory, as `plex86 disk` does.
    const storage = await startStorageService(bus, { imageDir: process.cwd() });
    io.out('plex86: embedded stack started: in-process bus (no NATS server needed) with these services:\n');
    io.out(formatServices(await bus.discover()));
    await storage.stop();
    io.out(
      'plex86: no Linux guest can boot yet (the PC platform and virtio devices are not built); ' +
        'test programs run with --rom FILE or --kernel FILE (see plex86 run --help). Stopping.\n',
    );
  } finally {
    await bus.close();
  }
  return 0;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a virtual machine: a test program (BIOS image or Multiboot kernel) on the sbe engine.',
  usage: 'plex86 run [--rom FILE | --kernel FILE [--initrd FILE] [--append CMDLINE]] [OPTIONS]',
  details:
    'Options (QEMU conventions, so existing test programs run unchanged):\n' +
    '  --rom FILE                64 or 128 KiB BIOS image mapped to end at 0xFFFFF (and below 4 GiB);\n' +
    '                            the CPU starts at F000:FFF0\n' +
    '  --kernel FILE             Linux bzImage (boot protocol 2.10+) or Multiboot (v1) kernel, told\n' +
    '                            apart by their headers; both are entered in 32-bit protected mode\n' +
    '  --initrd FILE             initial RAM disk for a Linux kernel\n' +
    '  --append CMDLINE          kernel command line\n' +
    '  --boot-decompress host|guest  where a bzImage is unpacked: on the host before entry (default,\n' +
    '                            fast) or by the kernel\'s own decompressor in the guest\n' +
    '  --memory SIZE             RAM, e.g. 4M or 256M (default 128M)\n' +
    '  --debugcon [PORT:]TARGET  bytes written to PORT (default 0xe9) go to TARGET: stdio, stderr or\n' +
    '                            a file; may be repeated\n' +
    '  --exit-port PORT          a write of v to PORT ends the run with status (v << 1) | 1\n' +
    '  --serial stdio|FILE       where the 16550A UART at 0x3f8 writes (default stdio)\n' +
    '  --max-instructions N      stop after N instructions (status 124)\n' +
    '  --stats                   print instructions, fast-path share, monitor exits, SBE figures, MIPS\n\n' +
    'HLT with interrupts disabled and nothing left to wake the CPU ends the run with status 0.\n' +
    'Without --rom or --kernel, the command starts the embedded stack and says what it can run.',
  options: {
    rom: { type: 'string' },
    kernel: { type: 'string' },
    append: { type: 'string' },
    initrd: { type: 'string' },
    'boot-decompress': { type: 'string' },
    memory: { type: 'string' },
    debugcon: { type: 'string', multiple: true },
    'exit-port': { type: 'string' },
    serial: { type: 'string' },
    'max-instructions': { type: 'string' },
    stats: { type: 'boolean' },
  },
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const options = runOptions(values);
    if (options.rom === undefined && options.kernel === undefined) return embeddedStack(io);
    try {
      return await runTestProgram(options, {
        stdout: (data) => io.outBytes(data),
        stderr: (text) => io.err(text),
      });
    } catch (e) {
      if (e instanceof RunOptionError) throw new UsageError(e.message);
      throw e;
    }
  },
};
