// SIGTERM: the API stops accepting, finishes what is in flight, and exits within SHUTDOWN_TIMEOUT_MS.
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { request } from 'node:http';
import {
  ApiBuild,
  ApiProcess,
  buildApi,
  ensureDevelopmentAccount,
  serviceClientAt,
  startApiProcess,
} from '../support/processes';
import { testDatabaseUrl, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

jest.setTimeout(240_000);

let build: ApiBuild;
const started: ApiProcess[] = [];

beforeAll(async () => {
  build = await buildApi();
  await ensureDevelopmentAccount(testDatabaseUrl());
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  build?.remove();
});

async function startApi(env: Record<string, string> = {}): Promise<ApiProcess> {
  const api = await startApiProcess(build, testDatabaseUrl(), { SHUTDOWN_TIMEOUT_MS: '20000', ...env });
  started.push(api);
  return api;
}

const signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };

test('a rolling restart of two API processes under load loses no acknowledged request', async () => {
  const share = uniqueShare('rolling');
  const live: ApiProcess[] = [await startApi(), await startApi()];
  expect(
    (
      await sendRaw(live[0].url, {
        method: 'PUT',
        path: `/${DEVELOPMENT_ACCOUNT}/${share}`,
        query: 'restype=share',
        signer,
      })
    ).status,
  ).toBe(201);

  const acknowledged: string[] = [];
  const refused: string[] = [];
  let inFlightAtStop = 0;
  let stopping: ApiProcess | undefined;
  let running = true;
  let n = 0;
  // A client that creates files over the processes in turn, and on a connection error tries the next one.
  const loop = async () => {
    while (running) {
      const name = `f${n++}`;
      for (let attempt = 0; attempt < 4; attempt++) {
        const target = live[(n + attempt) % live.length];
        const wasStopping = stopping === target;
        try {
          const res = await sendRaw(target.url, {
            method: 'PUT',
            path: `/${DEVELOPMENT_ACCOUNT}/${share}/${name}`,
            headers: { 'x-ms-type': 'file', 'x-ms-content-length': '0' },
            signer,
          });
          if (res.status === 201) {
            acknowledged.push(name);
            if (!wasStopping && stopping === target) inFlightAtStop++;
            break;
          }
          refused.push(`${res.status} ${res.header('x-ms-error-code')}`);
        } catch (error) {
          refused.push((error as { code?: string }).code ?? String(error));
        }
      }
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  const until = async (count: number) => {
    while (acknowledged.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  for (let i = 0; i < 2; i++) {
    await until(acknowledged.length + 100);
    const old = live[i];
    stopping = old;
    const exited = old.exited;
    void old.stop();
    // Graceful: Nest closes the app, then ends the process with the signal it received.
    expect(await exited).toBe('SIGTERM');
    live[i] = await startApi();
    stopping = undefined;
  }
  await until(acknowledged.length + 100);
  running = false;
  await Promise.all(loops);

  const present = new Set<string>();
  for await (const item of serviceClientAt(live[0].url)
    .getShareClient(share)
    .rootDirectoryClient.listFilesAndDirectories())
    present.add(item.name);
  const lost = acknowledged.filter((name) => !present.has(name));
  expect({ acknowledged: acknowledged.length > 300, lost }).toEqual({ acknowledged: true, lost: [] });
  // Requests under way when SIGTERM arrived were answered by the process that was stopping.
  expect(inFlightAtStop).toBeGreaterThan(0);
  // Whatever was refused was refused as a connection (never a 5xx from a half-closed process).
  expect(refused.filter((r) => /^5\d\d/.test(r))).toEqual([]);
});

test('a request that never finishes cannot keep the process past SHUTDOWN_TIMEOUT_MS', async () => {
  const api = await startApi({ SHUTDOWN_TIMEOUT_MS: '1000' });
  const url = new URL(api.url);
  // A body announced and never sent: the request stays in flight.
  const stalled = request({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path: `/${DEVELOPMENT_ACCOUNT}/x/y?comp=range`,
    headers: { 'content-length': '100', 'x-ms-version': '2026-04-06' },
  });
  stalled.on('error', () => undefined);
  stalled.write('0123456789');
  await new Promise((resolve) => stalled.once('socket', (s) => s.once('connect', resolve)));
  const exited = api.exited;
  void api.stop();
  expect(await exited).toBe(1);
  expect(api.output()).toContain('shutdown deadline passed');
  stalled.destroy();
});
