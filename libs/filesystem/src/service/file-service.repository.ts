import { Injectable } from '@nestjs/common';
import { CorsRule } from '@leasehold/domain';
import { EventStore, Statement } from '@leasehold/event-store';
import { DEFAULT_FILE_SERVICE_PROPERTIES, FileServiceProperties, fileServiceRow } from './file-service.events';

/** Reads of the file_service_properties projection, and the statement that keeps an account's row current. */
@Injectable()
export class FileServiceRepository {
  constructor(private readonly store: EventStore) {}

  /** The account's properties and their stream's version (the defaults and 0 before the first Set). */
  async find(tenant: string): Promise<{ properties: FileServiceProperties; version: number }> {
    const rows = await this.store.db.query<{ properties: FileServiceProperties; version: number }>(
      `SELECT properties, version FROM file_service_properties WHERE tenant = $1`,
      [tenant],
    );
    return rows.length ? rows[0] : { properties: DEFAULT_FILE_SERVICE_PROPERTIES, version: 0 };
  }

  /** Read for every preflight and every request with an Origin, so that changed rules apply at once. */
  async corsRulesOf(tenant: string): Promise<CorsRule[]> {
    const rows = await this.store.db.query<{ cors: CorsRule[] | null }>(
      `SELECT properties->'cors' AS cors FROM file_service_properties WHERE tenant = $1`,
      [tenant],
    );
    return rows[0]?.cors ?? [];
  }

  /** Inserts the first row, or updates the row still at `expectedVersion`; no row back means another writer won. */
  project(tenant: string, properties: FileServiceProperties, expectedVersion: number): Statement {
    const row = JSON.stringify(fileServiceRow(tenant, properties, expectedVersion + 1));
    return expectedVersion === 0
      ? {
          sql: `INSERT INTO file_service_properties SELECT * FROM jsonb_populate_record(NULL::file_service_properties, $1::jsonb) ON CONFLICT DO NOTHING RETURNING 1`,
          params: [row],
        }
      : {
          sql: `UPDATE file_service_properties SET properties = ($1::jsonb)->'properties', version = ($1::jsonb->>'version')::int WHERE tenant = $2 AND version = $3 RETURNING 1`,
          params: [row, tenant, expectedVersion],
        };
  }
}
