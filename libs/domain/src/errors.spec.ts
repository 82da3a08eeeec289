import { DomainError, StacklessError } from './errors';

describe('StacklessError', () => {
  it('keeps the message and the class but captures no stack frames, and leaves the limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = new DomainError('LeaseAlreadyPresent', { state: 'leased' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(StacklessError);
    expect(error.message).toBe('LeaseAlreadyPresent');
    expect(error.facts).toEqual({ state: 'leased' });
    expect(error.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    // A fault built right after still has its frames.
    expect(new Error('fault').stack).toMatch(/\n\s+at /);
  });
});
