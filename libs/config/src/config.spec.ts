import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/leasehold',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 10004,
      host: '127.0.0.1',
      production: false,
      handleLimitPerNode: 2000,
      handleLimitShareRoot: 10000,
      forceCloseChunkSize: 5000,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be an integer/],
    [{ DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL must use postgres/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL is not a URL/],
    [{ NODE_ENV: 'staging' }, /NODE_ENV must be/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('knows production mode, where secrets of its own are required and there is no admin token by default', () => {
    const secrets = { SECRET_KEY: 'x'.repeat(32), ENCRYPTION_KEY: 'y'.repeat(32) };
    expect(() => loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEY: secrets.ENCRYPTION_KEY })).toThrow(/SECRET_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', ...secrets, SECRET_KEY: 'short' })).toThrow(/SECRET_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', SECRET_KEY: secrets.SECRET_KEY })).toThrow(/ENCRYPTION_KEY/);
    const production = loadConfig({ NODE_ENV: 'production', ...secrets });
    expect(production.production).toBe(true);
    expect(production.adminToken).toBeUndefined();
    expect(loadConfig({}).adminToken).toBeDefined();
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN/);
  });
});
