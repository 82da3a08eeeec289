import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  NotFoundException,
  Param,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import { AccountError, AccountsService, newAccountKey } from '@leasehold/accounts';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { Caller } from '@leasehold/domain';
import { randomUUID, timingSafeEqual } from 'node:crypto';

const STATUS: Record<AccountError['reason'], number> = { InvalidName: 400, NotFound: 404, AlreadyExists: 409 };

/**
 * The admin API: create, list, disable and enable accounts, rotate keys. It answers only to the
 * bearer token from configuration; without one (the production default) it does not exist.
 * Account names never start with '_', so /_admin cannot collide with an Azure path.
 */
@Controller('_admin')
export class AdminController {
  constructor(
    private readonly accounts: AccountsService,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  private authorize(authorization: string | undefined): Caller {
    if (!this.config.adminToken) throw new NotFoundException();
    const expected = Buffer.from(`Bearer ${this.config.adminToken}`);
    const given = Buffer.from(authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new UnauthorizedException('a valid admin bearer token is required');
    return { requestId: randomUUID(), principal: 'admin', authentication: 'Admin' };
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AccountError) throw new HttpException(error.message, STATUS[error.reason]);
      throw error;
    }
  }

  @Post('accounts')
  @HttpCode(201)
  create(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    const metadata = this.authorize(authorization);
    const name = (body as { name?: unknown })?.name;
    if (typeof name !== 'string') throw new HttpException('body must be {"name": "<account>"}', 400);
    return this.run(async () => {
      const [key1, key2] = [newAccountKey(), newAccountKey()];
      if (!(await this.accounts.create(name, key1, key2, metadata)))
        throw new AccountError('AlreadyExists', `account ${name} already exists`);
      return { name, key1, key2 };
    });
  }

  @Get('accounts')
  list(@Headers('authorization') authorization: string | undefined) {
    this.authorize(authorization);
    return this.accounts.list();
  }

  @Post('accounts/:name/disable')
  @HttpCode(200)
  disable(@Headers('authorization') authorization: string | undefined, @Param('name') name: string) {
    const metadata = this.authorize(authorization);
    return this.run(async () => (await this.accounts.disable(name, metadata), { name, disabled: true }));
  }

  @Post('accounts/:name/enable')
  @HttpCode(200)
  enable(@Headers('authorization') authorization: string | undefined, @Param('name') name: string) {
    const metadata = this.authorize(authorization);
    return this.run(async () => (await this.accounts.enable(name, metadata), { name, disabled: false }));
  }

  @Post('accounts/:name/keys/:key/rotate')
  @HttpCode(200)
  rotate(
    @Headers('authorization') authorization: string | undefined,
    @Param('name') name: string,
    @Param('key') key: string,
  ) {
    const metadata = this.authorize(authorization);
    if (key !== 'key1' && key !== 'key2') throw new HttpException('the key is key1 or key2', 400);
    return this.run(async () => ({ name, [key]: await this.accounts.rotate(name, key, metadata) }));
  }
}
