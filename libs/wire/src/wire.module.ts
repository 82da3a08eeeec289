import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Authenticator } from './auth/authenticator';
import { WireGateway } from './gateway';
import { RateLimiter } from './rate-limit';
import { OperationRouter } from './routing';

/** The Azure Files dialect: routing, authentication, errors. Capabilities plug in with @AzureOperation. */
@Module({
  imports: [DiscoveryModule],
  providers: [OperationRouter, Authenticator, RateLimiter, WireGateway],
  exports: [WireGateway, OperationRouter],
})
export class WireModule {}
