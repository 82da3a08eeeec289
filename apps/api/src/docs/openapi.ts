import {
  auditEventSchema,
  EXTENSION_OPERATIONS,
  ExtensionOperation,
  Parameter,
  Response,
} from './extension-operations';

type Operation = {
  summary: string;
  description?: string;
  tags: string[];
  operationId: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  security?: unknown[];
};

const bearer = [{ adminToken: [] }];
const jsonBody = (description: string, schema: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema } },
});
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const adminErrors = {
  '401': { description: 'No or a wrong bearer token.' },
  '404': { description: 'No such account, or the admin API is off (no ADMIN_TOKEN).' },
};
const account = { type: 'object', properties: { name: { type: 'string' }, disabled: { type: 'boolean' } } };

/** The service's own HTTP endpoints (not the Azure dialect), keyed by path and method as they are routed. */
export const SERVICE_ENDPOINTS: Record<string, Record<string, Operation>> = {
  '/_admin/accounts': {
    post: {
      summary: 'Create an account; the answer has both keys',
      tags: ['admin'],
      operationId: 'createAccount',
      security: bearer,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          },
        },
      },
      responses: {
        '201': jsonBody('Created.', {
          type: 'object',
          properties: { name: { type: 'string' }, key1: { type: 'string' }, key2: { type: 'string' } },
        }),
        '400': { description: 'Bad name.' },
        '409': { description: 'Exists.' },
        ...adminErrors,
      },
    },
    get: {
      summary: 'Every account',
      tags: ['admin'],
      operationId: 'listAccounts',
      security: bearer,
      responses: { '200': jsonBody('The accounts.', { type: 'array', items: account }), ...adminErrors },
    },
  },
  '/_admin/accounts/{name}/disable': {
    post: {
      summary: "Refuse the account's requests (every API process within 5 s)",
      tags: ['admin'],
      operationId: 'disableAccount',
      security: bearer,
      parameters: [nameParam],
      responses: { '200': jsonBody('Disabled.', account), ...adminErrors },
    },
  },
  '/_admin/accounts/{name}/enable': {
    post: {
      summary: 'Accept them again',
      tags: ['admin'],
      operationId: 'enableAccount',
      security: bearer,
      parameters: [nameParam],
      responses: { '200': jsonBody('Enabled.', account), ...adminErrors },
    },
  },
  '/_admin/accounts/{name}/keys/{key}/rotate': {
    post: {
      summary: 'Replace key1 or key2 with a new key',
      tags: ['admin'],
      operationId: 'rotateKey',
      security: bearer,
      parameters: [
        nameParam,
        { name: 'key', in: 'path', required: true, schema: { type: 'string', enum: ['key1', 'key2'] } },
      ],
      responses: {
        '200': jsonBody('The new key.', { type: 'object', additionalProperties: { type: 'string' } }),
        '400': { description: 'Not key1 or key2.' },
        ...adminErrors,
      },
    },
  },
  '/_health/live': {
    get: {
      summary: 'The process runs',
      tags: ['operations'],
      operationId: 'live',
      security: [],
      responses: { '200': { description: 'Alive.' } },
    },
  },
  '/_health/ready': {
    get: {
      summary:
        'Ready to serve: PostgreSQL reachable, migrations current, Redis (degraded without it: leases work, jobs cannot be queued)',
      tags: ['operations'],
      operationId: 'ready',
      security: [],
      responses: {
        '200': { description: 'Ready (terminus JSON).' },
        '503': { description: 'Not ready, with what is missing (terminus JSON).' },
      },
    },
  },
  '/_metrics': {
    get: {
      summary: 'Prometheus metrics',
      tags: ['operations'],
      operationId: 'metrics',
      security: [],
      responses: {
        '200': { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  },
};

/** The URL templates an operation's resource kind allows: the account, a share (root directory), or a path below it. */
const TEMPLATES: Record<ExtensionOperation['resource'], string[]> = {
  account: ['/{account}'],
  share: ['/{account}/{share}'],
  directory: ['/{account}/{share}', '/{account}/{share}/{path}'],
  file: ['/{account}/{share}/{path}'],
  'file-or-directory': ['/{account}/{share}', '/{account}/{share}/{path}'],
  any: ['/{account}', '/{account}/{share}', '/{account}/{share}/{path}'],
};
const PATH_PARAMETERS: Record<string, unknown> = {
  account: { name: 'account', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9]{3,24}$' } },
  share: { name: 'share', in: 'path', required: true, schema: { type: 'string' } },
  path: {
    name: 'path',
    in: 'path',
    required: true,
    description: 'Directories and file below the share, `/`-separated, percent-encoded (the `/` stay).',
    schema: { type: 'string' },
  },
};

/**
 * Azure routes by method and `comp`, and OpenAPI path keys cannot carry a query: each URL
 * template and method is one OpenAPI operation whose required `comp` query parameter is the
 * discriminator. Its description has a section per comp; parameters that only some comps take
 * say which (`comp=…`) and are optional at the OpenAPI level.
 */
function extensionPaths(): Record<string, Record<string, Operation>> {
  const groups = new Map<string, ExtensionOperation[]>();
  for (const op of EXTENSION_OPERATIONS) {
    for (const template of TEMPLATES[op.resource]) {
      const key = `${template} ${op.method}`;
      groups.set(key, [...(groups.get(key) ?? []), op]);
    }
  }
  const paths: Record<string, Record<string, Operation>> = {};
  for (const [key, ops] of groups) {
    const [template, method] = key.split(' ');
    const comps = ops.map((o) => o.comp);
    const parameters = new Map<string, Parameter & { comps: string[] }>();
    for (const op of ops) {
      for (const p of op.parameters ?? []) {
        const id = `${p.in} ${p.name}`;
        const seen = parameters.get(id);
        parameters.set(id, seen ? { ...seen, comps: [...seen.comps, op.comp] } : { ...p, comps: [op.comp] });
      }
    }
    const responses: Record<string, Response> = {};
    for (const op of ops) {
      for (const [status, response] of Object.entries(op.responses)) {
        const label = ops.length > 1 ? `comp=${op.comp}: ${response.description}` : response.description;
        responses[status] = responses[status]
          ? { ...responses[status], ...response, description: `${responses[status].description}\n\n${label}` }
          : { ...response, description: label };
      }
    }
    const templateParameters = [...template.matchAll(/\{(\w+)\}/g)].map((m) => PATH_PARAMETERS[m[1]]);
    (paths[template] ??= {})[method.toLowerCase()] = {
      summary: ops.map((o) => o.name.replace(' (extension)', '')).join(' | '),
      description: ops
        .map((o) => `**comp=${o.comp}** — ${o.name}: ${o.summary}.${o.description ? ` ${o.description}` : ''}`)
        .join('\n\n'),
      tags: [
        ops.some((o) => o.comp.startsWith('audit') || o.comp === 'leasehistory' || o.comp === 'stateasof')
          ? 'audit'
          : ops.some((o) => o.comp.includes('job'))
            ? 'jobs'
            : 'handles',
      ],
      operationId: `${method.toLowerCase()}${template.replace(/[{}/]+(\w)/g, (_, c: string) => c.toUpperCase())}`,
      parameters: [
        ...templateParameters,
        {
          name: 'comp',
          in: 'query',
          required: true,
          description: 'Which operation.',
          schema: { type: 'string', enum: comps },
        },
        ...[...parameters.values()].map(({ comps: these, ...p }) =>
          these.length === ops.length
            ? p
            : {
                ...p,
                required: false,
                description: `(${these.map((c) => `comp=${c}`).join(', ')}${p.required ? ', required there' : ''}) ${p.description ?? ''}`,
              },
        ),
      ],
      responses,
    };
  }
  return paths;
}

/** The OpenAPI 3.1 document served at /_docs/json (and browsable at /_docs). */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Leasehold extension operations and service endpoints',
      version: '0.1.0',
      description:
        "Leasehold speaks the Azure Files REST dialect; Azure's own operations (Lease File, List Handles, Force Close Handles, shares, directories, files) are Azure's and are not repeated here. " +
        'This document covers what Leasehold adds: the handle registry, queued force-close jobs, the audit trail, the admin API and the operational endpoints.\n\n' +
        'Extension operations are signed with Shared Key like every Azure Storage request (`Authorization: SharedKey {account}:{signature}`, `x-ms-date`, `x-ms-version`) on path-style URLs, ' +
        'and selected, as Azure selects operations, by the `comp` query parameter: each URL template and method below is one OpenAPI operation with `comp` as its discriminator. ' +
        'Handle, job and audit operations other than Open and Close Handle are for the account owner only. Extension headers start with `x-leasehold-`.\n\n' +
        'The queue dashboard (bull-board) is at `/_admin/queues`, behind the admin token; the browser console at `/_console` (it signs its own requests).',
    },
    servers: [{ url: '/' }],
    security: [{ sharedKey: [] }],
    tags: [{ name: 'handles' }, { name: 'jobs' }, { name: 'audit' }, { name: 'admin' }, { name: 'operations' }],
    components: {
      securitySchemes: {
        sharedKey: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'Azure Storage Shared Key: `SharedKey {account}:{base64 HMAC-SHA256 of the string-to-sign}`.',
        },
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN.' },
      },
      schemas: { AuditEvent: auditEventSchema },
    },
    paths: { ...extensionPaths(), ...SERVICE_ENDPOINTS },
  };
}
