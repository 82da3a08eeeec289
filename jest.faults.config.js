// Fault tests (`npm run test:faults`): each file starts its own PostgreSQL and Redis, stops and
// restarts them, and kills processes, so they never touch the machine's shared instances.
// LEASEHOLD_FAULTS_BOUNDED=1 (set by .ci/run) runs a shorter load.
const swc = ['@swc/jest', JSON.parse(require('fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'))];
module.exports = {
  displayName: 'faults',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/faults/**/*.faults-spec.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@leasehold/([a-z-]+)$': '<rootDir>/libs/$1/src' },
  testEnvironment: 'node',
  testTimeout: 300000,
  // One at a time: each file runs its own database server, Redis and several processes.
  maxWorkers: 1,
};
