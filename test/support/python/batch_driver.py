"""Runs calls of the official Python SDK (azure.storage.fileshare) for the end-to-end tests.

Reads one JSON object on stdin: {"connection": str, "share": str, "calls": [{"client": "share" |
"directory" | "file", "path": str, "method": str, "kwargs": {...}, "snapshot": str}]} and writes one JSON array:
per call {"ok": result} or {"error": {"status": int, "code": str, "message": str}}. Calls run in
order and a failed call does not stop the next.
"""
import datetime
import json
import sys

from azure.core.exceptions import HttpResponseError
from azure.storage.fileshare import ShareClient


def plain(value):
    """The SDK's result as JSON: models become their public fields, times ISO strings."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode('latin-1')
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, '__dict__'):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith('_')}
    return value


def client_for(connection, share, call):
    kind, path = call['client'], call.get('path', '')
    if call.get('snapshot'):
        # A share snapshot is read through a client of the share at that snapshot (sharesnapshot=).
        share = ShareClient.from_connection_string(connection, share.share_name, snapshot=call['snapshot'])
    if kind == 'share':
        return share
    if kind == 'directory':
        return share.get_directory_client(path)
    return share.get_file_client(path)


def run(connection, call, share):
    client = client_for(connection, share, call)
    kwargs = dict(call.get('kwargs', {}))
    if 'data' in kwargs:
        kwargs['data'] = kwargs['data'].encode('latin-1')
    result = getattr(client, call['method'])(**kwargs)
    if call['method'] == 'download_file':
        result = result.readall()
    elif call['method'] in ('rename_file', 'rename_directory'):
        result = {'url': result.url}
    return result


def main():
    request = json.load(sys.stdin)
    share = ShareClient.from_connection_string(request['connection'], request['share'])
    out = []
    for call in request['calls']:
        try:
            out.append({'ok': plain(run(request['connection'], call, share))})
        except HttpResponseError as error:
            out.append({'error': {'status': error.status_code, 'code': error.error_code, 'message': str(error.message)}})
    json.dump(out, sys.stdout)


main()
