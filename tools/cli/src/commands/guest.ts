import { buildGuest } from '@plex86/guest';
import { UsageError, type Command } from '../command.js';

export const guestCommand: Command = {
  name: 'guest',
  summary: "Build the default guest (Debian's i386 kernel and a busybox initramfs) and print where it is.",
  usage: 'plex86 guest build [--force]',
  details:
    'Options:\n' +
    '  --force   build again even when the cache holds a built guest\n\n' +
    'Downloads linux-image-686 and busybox-static for i386 from Debian with apt (a private apt state,\n' +
    'the host is left alone), puts busybox, its init scripts and the virtio and ext4 modules into an\n' +
    'initramfs, and keeps the result in the user cache (~/.cache/plex86/guest). Prints the kernel,\n' +
    'initramfs and command line to boot.',
  options: { force: { type: 'boolean' } },
  async run(values, positionals, io) {
    if (positionals[0] !== 'build' || positionals.length > 1) throw new UsageError('the only action is "build"');
    const guest = await buildGuest({ force: values['force'] === true, onProgress: (line) => io.err(`${line}\n`) });
    io.out(`kernel  ${guest.kernel}\ninitrd  ${guest.initrd}\nappend  ${guest.cmdline}\n`);
    return 0;
  },
};
