import { version } from '@plex86/x86';
export async function main(argv: string[]): Promise<number> {
  console.log('hello', argv, version);
  return 0;
}
