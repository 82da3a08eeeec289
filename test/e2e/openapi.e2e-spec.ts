// The served OpenAPI document describes exactly the routes the service registers.
import { execFileSync } from 'node:child_process';
import { OperationRouter } from '../../libs/wire/src';
import { EXTENSION_OPERATIONS } from '../../apps/api/src/docs/extension-operations';
import { startTestService, TestService } from '../support/service';

let service: TestService;
let document: {
  openapi: string;
  paths: Record<
    string,
    Record<string, { parameters?: Array<{ name: string; in: string; schema: { enum?: string[] } }> }>
  >;
};

beforeAll(async () => {
  service = await startTestService();
  const response = await fetch(`${service.url}/_docs/json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as typeof document;
});

afterAll(() => service.stop());

/** `${method} ${comp}` of every operation the served document describes, through its `comp` discriminator. */
function describedComps(): Set<string> {
  const found = new Set<string>();
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith('/{account}')) continue;
    for (const [method, operation] of Object.entries(methods)) {
      const comp = operation.parameters?.find((p) => p.in === 'query' && p.name === 'comp');
      for (const value of comp?.schema.enum ?? []) found.add(`${method.toUpperCase()} ${value}`);
    }
  }
  return found;
}

test('the document is valid OpenAPI 3.1', () => {
  expect(document.openapi).toBe('3.1.0');
  // The validator is an ES module: run it in a node of its own.
  const script = `import { Validator } from '@seriousme/openapi-schema-validator';
    const chunks = []; for await (const c of process.stdin) chunks.push(c);
    console.log(JSON.stringify(await new Validator().validate(JSON.parse(Buffer.concat(chunks)))));`;
  const result = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      input: JSON.stringify(document),
      cwd: `${__dirname}/../..`,
    }).toString(),
  );
  expect(result).toEqual({ valid: true });
});

test('every extension operation the router registers is described, with its resource, and nothing else is', () => {
  const registered = service.api.app
    .get(OperationRouter)
    .operations()
    .filter((spec) => spec.name.endsWith('(extension)'));
  expect(registered.length).toBeGreaterThan(0);
  const key = (o: { name: string; method: string; comp?: string; resource: string }) =>
    `${o.method} ${o.comp} ${o.resource} ${o.name}`;
  expect(EXTENSION_OPERATIONS.map(key).sort()).toEqual(registered.map(key).sort());
  expect([...describedComps()].sort()).toEqual([...new Set(registered.map((o) => `${o.method} ${o.comp}`))].sort());
});

test('every service endpoint the HTTP server registers is described, and nothing else is', () => {
  // The Azure gateway's catch-all routes and the documentation's, dashboard's and console's own routes aside.
  const own = (url: string) =>
    url === '/' ||
    url === '/*' ||
    url.startsWith('/_docs') ||
    url.startsWith('/_admin/queues') ||
    url.startsWith('/_console');
  const served = service.api.routes
    .filter((r) => !own(r.url) && r.method !== 'HEAD')
    .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  const described = Object.entries(document.paths)
    .filter(([path]) => !path.startsWith('/{account}'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  expect(served.length).toBeGreaterThan(0);
  expect([...new Set(served)].sort()).toEqual(described.sort());
});

test('the browsable UI is served', async () => {
  const response = await fetch(`${service.url}/_docs`);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('swagger');
});
