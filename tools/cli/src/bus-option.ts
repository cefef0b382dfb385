import { createNatsBus, type Bus } from '@plex86/bus';
import { UsageError, stringOption, type OptionSpecs, type OptionValues } from './command.js';

/** The `--nats URL` option shared by commands that talk to a NATS deployment. */
export const NATS_OPTION: OptionSpecs = {
  nats: { type: 'string' },
};

export const NATS_OPTION_HELP = '  --nats URL   NATS server to connect to, e.g. nats://127.0.0.1:4222 (required)';

/** Connects to the NATS server named by `--nats`, with a clear error when it is absent or unreachable. */
export async function connectNats(values: OptionValues, clientName: string): Promise<Bus> {
  const url = stringOption(values, 'nats');
  if (url === undefined) throw new UsageError('--nats URL is required');
  try {
    return await createNatsBus({ servers: url, name: clientName, connectTimeoutMs: 3000 });
  } catch (e) {
    throw new Error(`cannot connect to NATS at ${url}: ${(e as Error).message}`);
  }
}
