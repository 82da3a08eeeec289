import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { createLogger, fastifyLogging, flatLineLogger, PinoNestLogger, scrub } from './logging';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
  return { logger: createLogger({ name: 'test', level: 'info', pretty: false }, stream), lines };
}

describe('secrets never reach a log line', () => {
  test.each([
    ['a SAS signature in a URL', 'GET /acct/share/f?sv=2026-04-06&sig=abc%2Bdef%3D&sp=r failed', 'abc%2Bdef%3D'],
    ['a Shared Key signature', 'Authorization: SharedKey devstoreaccount1:q5X9Lp0+/w==', 'q5X9Lp0+/w=='],
    ['a bearer token', 'authorization Bearer leasehold-development-admin-token', 'leasehold-development-admin-token'],
    [
      'a key in a connection string',
      'AccountName=a;AccountKey=Eby8vdM02xNOcqFlqUwJ==;FileEndpoint=x',
      'Eby8vdM02xNOcqFlqUwJ==',
    ],
  ])('%s is scrubbed from text', (_what, text, secret) => {
    expect(scrub(text)).not.toContain(secret);
    const { logger, lines } = capture();
    new PinoNestLogger(logger).error(`failed: ${text}`, `Error: ${text}\n    at x`, 'Gateway');
    expect(lines.join('')).not.toContain(secret);
    expect(lines.join('')).toContain('[redacted]');
  });

  test('keys, tokens and authorization headers are redacted from structured fields', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        account: { name: 'a', key1: 'K1SECRET', key2: 'K2SECRET' },
        req: { headers: { authorization: 'SharedKey a:SIGSECRET' } },
        token: 'TOKENSECRET',
      },
      'x',
    );
    const line = lines.join('');
    for (const secret of ['K1SECRET', 'K2SECRET', 'SIGSECRET', 'TOKENSECRET']) expect(line).not.toContain(secret);
    expect(JSON.parse(line).account.name).toBe('a');
  });

  test('the logger for flat lines still censors secret names at the top level, and keeps the other fields', () => {
    const { logger, lines } = capture();
    flatLineLogger(logger).info(
      { requestId: 'r1', status: 201, authorization: 'SharedKey a:SIGSECRET', key: 'KEYSECRET', token: 'TOKENSECRET' },
      'request',
    );
    const line = JSON.parse(lines.join(''));
    expect(line).toMatchObject({ name: 'test', requestId: 'r1', status: 201, msg: 'request' });
    for (const field of ['authorization', 'key', 'token']) expect(line[field]).toBe('[redacted]');
  });
});

test("Fastify's requests log through the service's logger itself, with no child made per request", async () => {
  const { logger, lines } = capture();
  const fastify = Fastify(fastifyLogging(logger));
  fastify.get('/', async (request) => {
    request.log.info('from a handler');
    return { same: request.log === logger };
  });
  const response = await fastify.inject({ method: 'GET', url: '/' });
  await fastify.close();
  expect(response.json()).toEqual({ same: true });
  expect(lines.map((line) => JSON.parse(line).msg)).toContain('from a handler');
});
