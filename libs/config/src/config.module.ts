import { DynamicModule, Global, Module } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from './config';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: LeaseholdConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: LEASEHOLD_CONFIG, useValue: config }],
      exports: [LEASEHOLD_CONFIG],
    };
  }
}
