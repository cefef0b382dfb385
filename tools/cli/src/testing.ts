import type { CommandIo } from './command.js';

/** A CommandIo that keeps what a command writes, for tests. */
export function captureIo(): CommandIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    outBytes: (data) => void (out += new TextDecoder('latin1').decode(data)),
    err: (text) => void (err += text),
    stdout: () => out,
    stderr: () => err,
  };
}
