import { ErrorCode } from '@plex86/proto';
import { BusError } from './errors.js';

/** First token of every plex86 subject. */
export const SUBJECT_ROOT = 'plex86';

/** What a subject is used for: literal subjects to send to, or patterns (with wildcards) to listen on. */
export type SubjectUse = 'send' | 'listen';

const CHAR_DOT = 0x2e;
const CHAR_STAR = 0x2a;
const CHAR_GT = 0x3e;
const CHAR_SPACE = 0x20;
const CHAR_TAB = 0x09;
const CHAR_LF = 0x0a;
const CHAR_CR = 0x0d;

function invalid(subject: string, why: string): BusError {
  return new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, `invalid subject ${JSON.stringify(subject)}: ${why}`);
}

/**
 * Checks a subject by NATS' rules and throws a BAD_REQUEST BusError saying what is wrong: dot-separated,
 * non-empty tokens, no whitespace; `*` (one token) and `>` (the rest, last token only) are wildcards,
 * allowed only in subjects listened on.
 */
export function validateSubject(subject: string, use: SubjectUse): void {
  const length = subject.length;
  if (length === 0) throw invalid(subject, 'it is empty');
  let tokenStart = 0;
  let tokenIndex = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? CHAR_DOT : subject.charCodeAt(i);
    if (c === CHAR_SPACE || c === CHAR_TAB || c === CHAR_LF || c === CHAR_CR) {
      throw invalid(subject, `whitespace at offset ${i}`);
    }
    if (c !== CHAR_DOT) continue;
    const tokenLength = i - tokenStart;
    if (tokenLength === 0) throw invalid(subject, `token ${tokenIndex + 1} is empty`);
    if (tokenLength === 1) {
      const t = subject.charCodeAt(tokenStart);
      if (t === CHAR_STAR || t === CHAR_GT) {
        if (use === 'send') throw invalid(subject, 'wildcards (* and >) are only allowed in subscriptions');
        if (t === CHAR_GT && i !== length) throw invalid(subject, "'>' must be the last token");
      }
    }
    tokenStart = i + 1;
    tokenIndex++;
  }
}

/** Whether a literal subject matches a subscription pattern (`*` = one token, `>` = one or more). */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Validates one subject token built from a name (VM id, area, device): letters, digits, `_` and `-`. */
export function validateToken(token: string, what: string): string {
  if (!TOKEN.test(token)) {
    throw new BusError(
      ErrorCode.ERROR_CODE_BAD_REQUEST,
      '',
      `invalid ${what} ${JSON.stringify(token)}: use letters, digits, '_' and '-' (no dots, spaces or wildcards)`,
    );
  }
  return token;
}

/** `plex86.<vm>.<area>.<name...>`, e.g. vmSubject('vm1', 'console', '0', 'out') = `plex86.vm1.console.0.out`. */
export function vmSubject(vm: string, area: string, ...name: string[]): string {
  if (name.length === 0) {
    throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, '', `subject for VM ${vm}, area ${area} needs a name`);
  }
  validateToken(vm, 'VM id');
  validateToken(area, 'subject area');
  for (const token of name) validateToken(token, 'subject name token');
  return `${SUBJECT_ROOT}.${vm}.${area}.${name.join('.')}`;
}

/**
 * A pattern to listen on under `plex86.<vm>.<area>`: the name tokens may be `*`, and the last one `>`,
 * e.g. vmSubjectPattern('vm1', 'debug', '>') = `plex86.vm1.debug.>`.
 */
export function vmSubjectPattern(vm: string, area: string, ...name: string[]): string {
  validateToken(vm, 'VM id');
  validateToken(area, 'subject area');
  if (name.length === 0) name = ['>'];
  name.forEach((token, i) => {
    if (token === '*' || (token === '>' && i === name.length - 1)) return;
    validateToken(token, 'subject name token');
  });
  return `${SUBJECT_ROOT}.${vm}.${area}.${name.join('.')}`;
}
