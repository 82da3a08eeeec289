// Layering rules, checked by `npm run lint` (depcruise): the build fails when one is broken.
// apps/ may use any library; libraries never use apps/. The domain is pure; config and the event
// store sit below the capabilities (observability, which imports only config, below them all); the
// wire layer (the Azure HTTP dialect) sits beside them and reaches none; capabilities speak no HTTP and meet each other only through a library's index.ts.
// The browser console (apps/console/src) is a client like any other: it imports only the Azure SDK.
const CAPABILITIES = '(accounts|filesystem|leases|handles|jobs|audit|projections)';
const HTTP = ['^(node:)?(http|https|http2)$', 'node_modules/(fastify|@fastify/[^/]+|@nestjs/platform-fastify)/'];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle means two modules are one: split out what both need or invert the dependency.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'libs-do-not-import-apps',
      comment: 'Libraries are used by apps/, never the other way round (nor by tests or benches).',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^(apps|test|bench)/' },
    },
    {
      name: 'domain-is-pure',
      comment:
        'libs/domain holds the deciders: pure functions of (command, state, now). It imports nothing ' +
        'outside itself: no library of ours, no framework, no Node module (ids and time come in as arguments).',
      severity: 'error',
      from: { path: '^libs/domain/', pathNot: '\\.spec\\.ts$' },
      to: { pathNot: '^libs/domain/' },
    },
    {
      name: 'config-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^libs/config/' },
      to: { path: '^(libs|apps|migrations)/', pathNot: '^libs/config/' },
    },
    {
      name: 'event-store-imports-only-config-and-domain',
      comment: 'The event store is below every capability and the wire layer; its schema lives in migrations/.',
      severity: 'error',
      from: { path: '^libs/event-store/' },
      to: { path: '^(libs|apps)/', pathNot: '^libs/(event-store|config|domain|observability)/' },
    },
    {
      name: 'observability-imports-only-config',
      comment:
        'libs/observability (metrics registry, logging, health) is cross-cutting infrastructure that the event ' +
        'store, the wire layer and the capabilities record into, so it must not import any of them.',
      severity: 'error',
      from: { path: '^libs/observability/' },
      to: { path: '^(libs|apps|migrations)/', pathNot: '^libs/(observability|config)/' },
    },
    {
      name: 'wire-imports-no-capability',
      comment: 'The wire layer is an adapter around the capabilities; apps/api wires the two together.',
      severity: 'error',
      from: { path: '^libs/wire/' },
      to: { path: `^libs/${CAPABILITIES}/` },
    },
    {
      name: 'capabilities-do-not-import-wire',
      comment: 'Capabilities know nothing of the Azure dialect: no AzureError, no RequestContext.',
      severity: 'error',
      from: { path: `^libs/${CAPABILITIES}/` },
      to: { path: '^libs/wire/' },
    },
    {
      name: 'capabilities-speak-no-http',
      comment: 'HTTP (fastify, node:http) belongs to libs/wire and apps/api.',
      severity: 'error',
      from: { path: `^libs/${CAPABILITIES}/` },
      to: { path: HTTP },
    },
    {
      name: 'console-is-browser-code',
      comment:
        'apps/console/src runs in the browser: it reaches the service only over HTTP, through the official Azure ' +
        'SDK (its browser build) and signed fetches, so it imports nothing but itself and that SDK: no library of ' +
        'ours, no Node module.',
      severity: 'error',
      from: { path: '^apps/console/src/' },
      to: { pathNot: ['^apps/console/src/', '^node_modules/@azure/storage-file-share/'] },
    },
    {
      name: 'browser-code-stays-in-the-browser',
      comment: 'The console is bundled for the browser by apps/console/build.ts; nothing on the server imports it.',
      severity: 'error',
      from: { pathNot: '^apps/console/src/' },
      to: { path: '^apps/console/src/' },
    },
    {
      name: 'only-through-a-library-index',
      comment:
        'Another library is used through its public port, @leasehold/<lib> (its src/index.ts), never ' +
        'through a file inside it.',
      severity: 'error',
      from: { path: '^(libs|apps)/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$2/', '^libs/[^/]+/src/index\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|node_modules)/' },
    // Type-only imports count: a type from the wire in a capability couples it to the wire all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
