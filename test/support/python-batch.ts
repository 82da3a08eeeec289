import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** Debian's python3-azure-storage is installed for the system interpreter. */
const PYTHON = '/usr/bin/python3';
const DRIVER = join(__dirname, 'python', 'batch_driver.py');

export interface PythonCall {
  client: 'share' | 'directory' | 'file';
  path?: string;
  /** A method of the SDK's ShareClient, ShareDirectoryClient or ShareFileClient. */
  method: string;
  /** Its keyword arguments; `data` is sent as Latin-1 bytes. */
  kwargs?: Record<string, unknown>;
  /** Call it on the share snapshot of this name (a ShareClient made with snapshot=). */
  snapshot?: string;
}

export type PythonResult = { ok: any } | { error: { status: number; code: string; message: string } };

/** Runs calls of the official Python SDK against the service, in order, in one interpreter. */
export function python(connection: string, share: string, calls: PythonCall[]): Promise<PythonResult[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [DRIVER], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python driver failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
    child.stdin!.end(JSON.stringify({ connection, share, calls }));
  });
}

/** The connection string of an account of the test service, as a Python user would write it. */
export const connectionString = (accountUrl: string, account: string, key: string) =>
  `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};FileEndpoint=${accountUrl};`;
