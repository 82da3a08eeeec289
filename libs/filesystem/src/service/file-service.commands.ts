import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandContext } from '@leasehold/domain';
import { EventStore, eventMetadata, retryOnConcurrency } from '@leasehold/event-store';
import {
  evolveFileServiceProperties,
  FileServiceProperties,
  FileServicePropertiesSet,
  fileServiceStream,
} from './file-service.events';
import { FileServiceRepository } from './file-service.repository';

export class SetFileServicePropertiesCommand extends Command<void> {
  constructor(
    readonly context: CommandContext,
    /** Only the settings the request named. */
    readonly change: Partial<FileServiceProperties>,
  ) {
    super();
  }
}

/** Set File Service Properties: one event on the account's `fileservice-` stream, projected in the same statement. */
@CommandHandler(SetFileServicePropertiesCommand)
export class SetFileServicePropertiesHandler implements ICommandHandler<SetFileServicePropertiesCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly service: FileServiceRepository,
  ) {}

  async execute({ context, change }: SetFileServicePropertiesCommand): Promise<void> {
    await retryOnConcurrency(async () => {
      const current = await this.service.find(context.tenant);
      const event: FileServicePropertiesSet = { type: 'FileServicePropertiesSet', data: change };
      await this.store.append({
        tenant: context.tenant,
        streamId: fileServiceStream(context.tenant),
        expectedVersion: current.version,
        events: [event],
        metadata: eventMetadata(context),
        projection: this.service.project(
          context.tenant,
          evolveFileServiceProperties(current.properties, event),
          current.version,
        ),
      });
    });
  }
}
