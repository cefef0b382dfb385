/** A block of instruction table rows that belong to one CPU generation or extension. */
export interface IsaSection {
  /** A member name of the Feature enum (libs/x86/src/decoder/feature.ts). */
  readonly feature: string;
  /** Flag tokens added to every row of the section (see FLAG_TOKENS in legend.ts). */
  readonly flags?: string;
  /** Rows `OPCODE | INSTRUCTION | FLAGS`, one per line; `#` starts a comment. */
  readonly rows: string;
}
