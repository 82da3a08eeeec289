import { Injectable, OnModuleInit, SetMetadata } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { AzureError, invalidQuery, invalidUri } from './errors';
import { WireRequest, WireResponse } from './request';

/**
 * What a shared access signature must grant for an operation: a permission letter, or `owner` for
 * operations only the account key may call. `c` is "create": a SAS with `c` or `w` grants it.
 */
export type SasPermission = 'r' | 'c' | 'w' | 'd' | 'l' | 'owner';

/** What the URL must name for the operation: the account, a share, a directory (the share root is one), a file, either, or anything. */
export type ResourceKind = 'account' | 'share' | 'directory' | 'file' | 'file-or-directory' | 'any';

export interface OperationSpec {
  /** The Azure operation name, for logs and errors. */
  name: string;
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST';
  restype?: string;
  comp?: string;
  resource: ResourceKind;
  /**
   * What a shared access signature must grant: `r`, `c` (create: `c` or `w`), `w`, `d`, `l`, or
   * `owner` (account key only). Absent means `owner`, so an operation is closed to SAS until it says otherwise.
   */
  sas?: SasPermission;
  /**
   * The operation authorizes a SAS itself (authorizeSas with the permission and resource kind of
   * what the path turns out to name, found by a lookup); the gateway hands it the verified token.
   */
  sasByOperation?: boolean;
  /** Get File and its HEAD: a service SAS's rscc…rsct replace the Cache-Control and Content-* response headers. */
  sasResponseOverrides?: boolean;
  /**
   * The operation takes `sharesnapshot` (it reads a share snapshot, or deletes one). Every other
   * operation is refused with it: 400 ShareSnapshotOperationNotSupported (a snapshot is read-only).
   */
  shareSnapshot?: boolean;
}

/** A share snapshot's name as Azure writes it (x-ms-snapshot): an ISO time in UTC, up to 7 fractional digits. */
export const isShareSnapshotName = (value: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/.test(value);

export type OperationHandler = (req: WireRequest) => Promise<WireResponse>;

export interface Route {
  spec: OperationSpec;
  handle: OperationHandler;
}

const AZURE_OPERATION = Symbol('leasehold:azure-operation');

/** Marks a method of a provider as the handler of one Azure operation (method + restype + comp). */
export const AzureOperation = (spec: OperationSpec): MethodDecorator => SetMetadata(AZURE_OPERATION, spec);

const routeKey = (method: string, restype = '', comp = '') => `${method} ${restype} ${comp}`;

/**
 * Azure Files routes by method and the `restype`/`comp` query parameters, not by path: the
 * router finds every @AzureOperation handler at start-up and refuses two for one key.
 */
@Injectable()
export class OperationRouter implements OnModuleInit {
  private readonly routes = new Map<string, Route>();
  private readonly knownComps = new Set<string>();
  private readonly knownRestypes = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[methodName];
        if (typeof method !== 'function') continue;
        const spec = Reflect.getMetadata(AZURE_OPERATION, method) as OperationSpec | undefined;
        if (spec) this.add(spec, (method as OperationHandler).bind(instance));
      }
    }
  }

  add(spec: OperationSpec, handle: OperationHandler): void {
    const key = routeKey(spec.method, spec.restype, spec.comp);
    const existing = this.routes.get(key);
    if (existing) throw new Error(`${spec.name} and ${existing.spec.name} both claim ${key}`);
    this.routes.set(key, { spec, handle });
    if (spec.comp) this.knownComps.add(spec.comp);
    if (spec.restype) this.knownRestypes.add(spec.restype);
  }

  /** Every registered operation: the isolation tests check that they cover each one. */
  operations(): OperationSpec[] {
    return [...this.routes.values()].map((r) => r.spec);
  }

  /** The route for a request, or the Azure error for a query or method that names no operation. */
  resolve(method: string, query: Record<string, string>, share: string | undefined, path: string[]): Route {
    const { restype, comp } = query;
    if (comp !== undefined && !this.knownComps.has(comp)) throw invalidQuery('comp', comp);
    if (restype !== undefined && !this.knownRestypes.has(restype)) throw invalidQuery('restype', restype);
    const route = this.routes.get(routeKey(method, restype, comp));
    if (!route) {
      const otherMethod = [...this.routes.values()].some((r) => r.spec.restype === restype && r.spec.comp === comp);
      if (otherMethod)
        throw new AzureError(405, 'UnsupportedHttpVerb', "The resource doesn't support the specified HTTP verb.");
      throw invalidUri();
    }
    const fits = {
      account: share === undefined,
      share: share !== undefined && path.length === 0,
      directory: share !== undefined,
      file: share !== undefined && path.length > 0,
      'file-or-directory': share !== undefined,
      any: true,
    }[route.spec.resource];
    if (!fits) throw invalidUri();
    return route;
  }
}
