import { ErrorCode } from '@plex86/proto';
import { describe, expect, it } from 'vitest';
import { BusError } from './errors.js';
import { subjectMatches, validateSubject, validateToken, vmSubject, vmSubjectPattern } from './subjects.js';

function errorOf(fn: () => unknown): BusError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BusError);
    return err as BusError;
  }
  return expect.fail('expected a BusError');
}

describe('validateSubject', () => {
  it.each(['a', 'plex86.vm1.console.0.out', 'a-b_c.D9', '$SRV.PING', '_INBOX.x'])('accepts %s everywhere', (s) => {
    expect(() => validateSubject(s, 'send')).not.toThrow();
    expect(() => validateSubject(s, 'listen')).not.toThrow();
  });

  it.each(['a.*', '*', 'a.>', '>', 'a.*.c.>'])('accepts the pattern %s only for listening', (s) => {
    expect(() => validateSubject(s, 'listen')).not.toThrow();
    const err = errorOf(() => validateSubject(s, 'send'));
    expect(err.code).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(err.message).toMatch(/wildcards \(\* and >\) are only allowed in subscriptions/);
  });

  it.each([
    ['', /it is empty/],
    ['.a', /token 1 is empty/],
    ['a.', /token 2 is empty/],
    ['a..b', /token 2 is empty/],
    ['a b', /whitespace at offset 1/],
    ['a.\tb', /whitespace at offset 2/],
    ['a\r\n', /whitespace at offset 1/],
    ['a.>.b', /'>' must be the last token/],
  ])('rejects %j with a reason', (s, why) => {
    const err = errorOf(() => validateSubject(s, 'listen'));
    expect(err.code).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(err.subject).toBe(s);
    expect(err.message).toMatch(why);
    expect(err.message).toContain(JSON.stringify(s));
  });

  it('treats * and > inside a longer token as plain characters', () => {
    expect(() => validateSubject('a.b*.c>', 'send')).not.toThrow();
  });
});

describe('subjectMatches', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.b.c', 'a.b', false],
    ['a.*.c', 'a.x.c', true],
    ['a.*.c', 'a.x.y.c', false],
    ['a.*', 'a', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['a.>', 'a', false],
    ['>', 'anything.at.all', true],
    ['*.*', 'a.b', true],
    ['*.*', 'a.b.c', false],
    ['a.*.>', 'a.b', false],
    ['a.*.>', 'a.b.c', true],
    ['a.b', 'a.b.c', false],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('subject builders', () => {
  it('builds plex86.<vm>.<area>.<name> subjects', () => {
    expect(vmSubject('vm1', 'console', '0', 'out')).toBe('plex86.vm1.console.0.out');
    expect(vmSubject('vm-7', 'block', 'vda', 'req')).toBe('plex86.vm-7.block.vda.req');
  });

  it('builds patterns with * and a final >', () => {
    expect(vmSubjectPattern('vm1', 'debug')).toBe('plex86.vm1.debug.>');
    expect(vmSubjectPattern('vm1', 'console', '*', 'out')).toBe('plex86.vm1.console.*.out');
    expect(() => vmSubjectPattern('vm1', 'console', '>', 'out')).toThrow(/invalid subject name token ">"/);
  });

  it('refuses tokens that would change the subject structure', () => {
    expect(() => vmSubject('vm.1', 'console', 'out')).toThrow(/invalid VM id "vm.1"/);
    expect(() => vmSubject('vm1', '*', 'out')).toThrow(/invalid subject area "\*"/);
    expect(() => vmSubject('vm1', 'console', 'a b')).toThrow(/invalid subject name token "a b"/);
    expect(() => vmSubject('vm1', 'console')).toThrow(/needs a name/);
    expect(() => validateToken('', 'VM id')).toThrow(/invalid VM id ""/);
    expect(errorOf(() => vmSubject('', 'a', 'b')).code).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
  });
});
