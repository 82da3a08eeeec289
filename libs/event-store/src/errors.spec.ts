import { StacklessError } from '@leasehold/domain';
import { ConcurrencyError } from './errors';

describe('ConcurrencyError', () => {
  it('names the stream and the version it lost at, without stack frames', () => {
    const error = new ConcurrencyError('acct', 'node-7', 3);
    expect(error).toBeInstanceOf(StacklessError);
    expect(error.message).toBe('stream node-7 of acct is no longer at version 3');
    expect(error.stack).not.toMatch(/\n\s+at /);
  });
});
