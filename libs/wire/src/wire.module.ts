import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { Authenticator } from './auth/authenticator';
import { WireGateway } from './gateway';
import { RateLimiter } from './rate-limit';
import { MarkerCodec } from './markers';
import { OperationRouter } from './routing';

/** The Azure Files dialect: routing, authentication, errors. Capabilities plug in with @AzureOperation. */
@Module({
  imports: [DiscoveryModule],
  providers: [
    OperationRouter,
    Authenticator,
    RateLimiter,
    WireGateway,
    // One codec, keyed by SECRET_KEY, for every operation's continuation markers.
    {
      provide: MarkerCodec,
      inject: [LEASEHOLD_CONFIG],
      useFactory: (config: LeaseholdConfig) => new MarkerCodec(config.secretKey),
    },
  ],
  exports: [WireGateway, OperationRouter, MarkerCodec, Authenticator],
})
export class WireModule {}
