import { ClientHttp2Session, connect, constants, IncomingHttpHeaders } from 'node:http2';

/**
 * The two etcd v3 transactions the benchmark needs, spoken as plain gRPC over node:http2 with
 * hand-encoded protobuf. No gRPC library: the client's cost stays as small as the HTTP/1.1
 * client's that drives Leasehold, so the comparison measures the servers, not the clients.
 *
 * Messages (etcdserverpb/rpc.proto): TxnRequest{compare=1, success=2}; Compare{result=1 (EQUAL=0),
 * target=2 (VERSION=0, VALUE=3), key=3, version=4, value=7}; RequestOp{request_put=2,
 * request_delete_range=3}; PutRequest{key=1, value=2}; DeleteRangeRequest{key=1};
 * TxnResponse{succeeded=2}.
 */

const TXN_PATH = '/etcdserverpb.KV/Txn';

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const bytesField = (field: number, value: Buffer) =>
  Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
const varintField = (field: number, value: number) => Buffer.concat([varint(field << 3), varint(value)]);

function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1); // byte 0 = 0: not compressed
  return Buffer.concat([head, message]);
}

/** acquire: if version(key) == 0 then put key = leaseId. The version field is set explicitly (oneof). */
export function acquireTxn(key: string, leaseId: string): Buffer {
  const k = Buffer.from(key);
  const compare = Buffer.concat([bytesField(3, k), varintField(4, 0)]);
  const put = Buffer.concat([bytesField(1, k), bytesField(2, Buffer.from(leaseId))]);
  return frame(Buffer.concat([bytesField(1, compare), bytesField(2, bytesField(2, put))]));
}

/** release: if value(key) == leaseId then delete key. */
export function releaseTxn(key: string, leaseId: string): Buffer {
  const k = Buffer.from(key);
  const compare = Buffer.concat([varintField(2, 3), bytesField(3, k), bytesField(7, Buffer.from(leaseId))]);
  const del = bytesField(1, k);
  return frame(Buffer.concat([bytesField(1, compare), bytesField(2, bytesField(3, del))]));
}

/** TxnResponse.succeeded (field 2, varint), skipping the other top-level fields. */
export function txnSucceeded(body: Buffer): boolean {
  if (body.length < 5) throw new Error('etcd: empty gRPC response');
  const end = Math.min(body.length, 5 + body.readUInt32BE(1));
  let i = 5;
  const readVarint = () => {
    let result = 0;
    let shift = 1;
    for (;;) {
      if (i >= end) throw new Error('etcd: truncated TxnResponse');
      const b = body[i++];
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
  };
  while (i < end) {
    const tag = readVarint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const value = readVarint();
      if (field === 2) return value !== 0;
    } else if (wire === 2) {
      const length = readVarint(); // not `i += readVarint()`: that adds to i's value before the read
      i += length;
    } else {
      throw new Error(`etcd: unexpected wire type ${wire} in TxnResponse`);
    }
  }
  return false; // proto3 omits false
}

/** One HTTP/2 connection, like one etcd client; requests on it may be concurrent (streams). */
export class EtcdConnection {
  private readonly session: ClientHttp2Session;

  constructor(url: string) {
    this.session = connect(url);
    this.session.on('error', () => undefined); // surfaced per request
  }

  /** Sends one framed TxnRequest; resolves to TxnResponse.succeeded. */
  txn(request: Buffer): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: TXN_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message: string | undefined;
      const note = (headers: IncomingHttpHeaders) => {
        if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
        if (headers['grpc-message'] !== undefined) message = String(headers['grpc-message']);
      };
      stream.on('response', note); // a trailers-only error answer puts grpc-status here
      stream.on('trailers', note);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => {
        if (status !== '0') return reject(new Error(`etcd: grpc-status ${status} ${message ?? ''}`));
        try {
          resolve(txnSucceeded(Buffer.concat(chunks)));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      stream.end(request);
    });
  }

  close(): void {
    this.session.close();
  }
}
