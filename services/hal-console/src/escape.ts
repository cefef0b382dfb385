/** Ctrl-A: the escape key of an interactive console, as in QEMU. */
export const ESCAPE_KEY = 0x01;

export const ESCAPE_HELP = '\r\nC-a x    quit\r\nC-a C-a  send C-a to the guest\r\nC-a h    this help\r\n';

export interface EscapeActions {
  /** Ctrl-A x. */
  quit(): void;
  /** Ctrl-A h. */
  help?(): void;
}

/**
 * Takes the escape sequences out of what the user types: Ctrl-A x quits, Ctrl-A Ctrl-A sends one
 * Ctrl-A, Ctrl-A h shows help, Ctrl-A and any other key are both dropped. A Ctrl-A at the end of
 * one read applies to the first byte of the next. Nothing after a quit is passed on.
 */
export class EscapeFilter {
  private armed = false;
  private quitted = false;

  constructor(private readonly actions: EscapeActions) {}

  /** The bytes for the guest; `input` itself when it holds no escape. */
  filter(input: Uint8Array): Uint8Array {
    if (this.quitted) return input.subarray(0, 0);
    if (!this.armed && input.indexOf(ESCAPE_KEY) < 0) return input;
    const out = new Uint8Array(input.length);
    let n = 0;
    for (let i = 0; i < input.length; i++) {
      const b = input[i] as number;
      if (!this.armed) {
        if (b === ESCAPE_KEY) this.armed = true;
        else out[n++] = b;
        continue;
      }
      this.armed = false;
      if (b === ESCAPE_KEY) {
        out[n++] = ESCAPE_KEY;
      } else if (b === 0x78 || b === 0x58) {
        this.quitted = true;
        this.actions.quit();
        break;
      } else if (b === 0x68 || b === 0x48) {
        this.actions.help?.();
      }
    }
    return out.subarray(0, n);
  }
}
