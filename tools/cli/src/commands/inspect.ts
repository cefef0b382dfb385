import type { BusMessage } from '@plex86/bus';
import { UsageError, integerOption, type Command, type CommandIo } from '../command.js';
import { NATS_OPTION, NATS_OPTION_HELP, connectNats } from '../bus-option.js';
import { decodeMessage } from '../proto-registry.js';

/** One line for a message: time, subject, type and the decoded fields as JSON. */
export function formatMessage(message: BusMessage, now: Date): string {
  const time = now.toISOString().slice(11, 23);
  if (message.type === '') {
    return `${time} ${message.subject} (no type) ${message.data.length} bytes`;
  }
  let body: string;
  try {
    body = JSON.stringify(decodeMessage(message.type, message.data));
  } catch (e) {
    body = `(undecodable: ${(e as Error).message})`;
  }
  return `${time} ${message.subject} ${message.type} ${body}`;
}

/** Resolves when the user interrupts (Ctrl-C) or the process is asked to stop. */
function interrupted(): { promise: Promise<void>; dispose(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const stop = () => resolve();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Print the plex86 messages on a NATS deployment, decoded from protobuf.',
  usage: 'plex86 inspect --nats URL [--replies] [--count N] [SUBJECT...]',
  details:
    `Options:\n${NATS_OPTION_HELP}\n` +
    '  --replies    also print replies (the _INBOX.> subjects)\n' +
    '  --count N    stop after N messages (default: run until Ctrl-C)\n\n' +
    'SUBJECT may use NATS wildcards (* for one token, > for the rest); the default is plex86.>.\n' +
    'Each line: time, subject, message type (from the Plex86-Type header) and the fields as JSON;\n' +
    '64-bit integers print as decimal strings, enums by name and bytes as lowercase hex.',
  options: { ...NATS_OPTION, replies: { type: 'boolean' }, count: { type: 'string' } },
  async run(values, positionals, io: CommandIo) {
    const count = integerOption(values, 'count', 10, 0);
    if (values['count'] !== undefined && count < 1) throw new UsageError('--count needs a number of at least 1');
    const subjects = positionals.length > 0 ? positionals : ['plex86.>'];
    if (values['replies']) subjects.push('_INBOX.>');
    const bus = await connectNats(values, 'plex86-inspect');
    const stop = interrupted();
    let seen = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    try {
      for (const subject of subjects) {
        bus.subscribe(subject, (message) => {
          if (count > 0 && seen >= count) return;
          seen++;
          io.out(`${formatMessage(message, new Date())}\n`);
          if (count > 0 && seen >= count) done();
        });
      }
      await bus.flush();
      io.err(`plex86 inspect: listening on ${subjects.join(' ')}\n`);
      await Promise.race([finished, stop.promise]);
    } finally {
      stop.dispose();
      await bus.close();
    }
    return 0;
  },
};
