import { StacklessError } from '@leasehold/domain';
import { missingHeader } from './errors';

it('an Azure error answer is built without a stack trace', () => {
  const error = missingHeader('x-ms-lease-action');
  expect(error).toBeInstanceOf(StacklessError);
  expect([error.status, error.code, error.details]).toEqual([
    400,
    'MissingRequiredHeader',
    { HeaderName: 'x-ms-lease-action' },
  ]);
  expect(error.stack).not.toMatch(/\n\s+at /);
});
