"""Drives Leasehold through the official Python SDK (azure.storage.fileshare) for the e2e tests.

One process per test file: requests arrive as JSON lines on stdin ({"id", "op", "args"}), answers
leave as JSON lines on stdout ({"id", "ok": true, "result", "status", "requestId"} or {"id", "ok": false,
"status", "code", "message", "requestId"}). argv: the service's base URL (http://127.0.0.1:PORT).
The op "call" calls any method of a service, share, directory, file or lease client; the others shape their
arguments and results for one test each.
"""
import json
import sys
from datetime import date, datetime, timezone

from azure.core.exceptions import HttpResponseError
from azure.core.paging import ItemPaged
from azure.storage.fileshare import (
    AccessPolicy,
    ContentSettings,
    CorsRule,
    Metrics,
    RetentionPolicy,
    ShareFileClient,
    ShareLeaseClient,
    ShareServiceClient,
    generate_file_sas,
    generate_share_sas,
)

BASE_URL = sys.argv[1]
last_response = {}


def remember(response):
    """raw_response_hook: keeps the answer's status and request id (to find the events it recorded)."""
    last_response["status"] = response.http_response.status_code
    last_response["requestId"] = response.http_response.headers.get("x-ms-request-id")


def service(a):
    return ShareServiceClient(f"{BASE_URL}/{a['account']}", credential={"account_name": a["account"], "account_key": a["key"]}, retry_total=0)


def share(a):
    return service(a).get_share_client(a["share"])


def plain(value):
    """An SDK result as JSON: models become their public fields, times ISO strings, bytes Latin-1 text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin1")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def call(a):
    """a["method"] of the account's service client, of a client of the share (at a["snapshot"] when given)
    or of a["path"]'s directory or file, or (client "lease") of a ShareLeaseClient holding a["leaseId"] on
    a["path"]'s file (on the share without a path), with a["kwargs"]. A listing is read to its end; a lease
    call answers the lease client's id and etag too."""
    s = service(a).get_share_client(a["share"], snapshot=a.get("snapshot"))
    kind = a["client"]
    if kind == "service":
        client = service(a)
    elif kind == "share":
        client = s
    elif kind == "directory":
        client = s.get_directory_client(a.get("path", ""))
    elif kind == "file":
        client = s.get_file_client(a["path"])
    else:
        client = ShareLeaseClient(s.get_file_client(a["path"]) if a.get("path") else s, lease_id=a.get("leaseId"))
    kwargs = {"raw_response_hook": remember, **a.get("kwargs", {})}
    if "data" in kwargs:
        kwargs["data"] = kwargs["data"].encode("latin1")
    if "content_settings" in kwargs:
        kwargs["content_settings"] = ContentSettings(**kwargs["content_settings"])
    result = getattr(client, a["method"])(**kwargs)
    if isinstance(result, ItemPaged):
        result = list(result)
    if a["method"] == "download_file":
        return result.readall().decode("latin1")
    if a["method"] in ("rename_file", "rename_directory"):
        return {"url": result.url}
    if kind == "lease":
        return {"id": client.id, "etag": client.etag, "result": plain(result)}
    return plain(result)


def file(a):
    path = a["path"].split("/")
    directory = share(a).get_directory_client("/".join(path[:-1])) if len(path) > 1 else share(a).get_directory_client()
    return directory.get_file_client(path[-1])


def sas_file(a):
    """A file client that holds nothing but a SAS (the account key stays out of it)."""
    return ShareFileClient(f"{BASE_URL}/{a['account']}", a["share"], a["path"], credential=a["sas"], retry_total=0)


def time(value):
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def iso(value):
    return value if value is None or isinstance(value, str) else value.isoformat()


def policy_out(p):
    return {"permission": p.permission, "start": iso(p.start), "expiry": iso(p.expiry)}


def rule_out(r):
    return {
        "allowedOrigins": r.allowed_origins,
        "allowedMethods": r.allowed_methods,
        "allowedHeaders": r.allowed_headers,
        "exposedHeaders": r.exposed_headers,
        "maxAgeInSeconds": r.max_age_in_seconds,
    }


def share_out(s):
    return {"name": s.name, "quota": s.quota, "accessTier": s.access_tier, "metadata": s.metadata, "etag": s.etag}


OPS = {
    "call": call,
    "create_share": lambda a: share(a).create_share(metadata=a.get("metadata"), quota=a.get("quota"), raw_response_hook=remember) and None,
    "list_shares": lambda a: [
        [share_out(s) for s in page]
        for page in service(a).list_shares(name_starts_with=a["prefix"], include_metadata=a.get("metadata", False), results_per_page=a.get("pageSize")).by_page()
    ],
    "get_share_properties": lambda a: share_out(share(a).get_share_properties(raw_response_hook=remember)),
    "set_share_metadata": lambda a: share(a).set_share_metadata(a["metadata"], raw_response_hook=remember)["etag"],
    "set_share_quota": lambda a: share(a).set_share_quota(a["quota"], raw_response_hook=remember)["etag"],
    "set_share_properties": lambda a: share(a).set_share_properties(access_tier=a.get("accessTier"), quota=a.get("quota"), raw_response_hook=remember)["etag"],
    "get_share_stats": lambda a: share(a).get_share_stats(raw_response_hook=remember),
    "get_share_access_policy": lambda a: [
        {"id": i.id, **policy_out(i.access_policy)} for i in share(a).get_share_access_policy(raw_response_hook=remember)["signed_identifiers"]
    ],
    "set_share_access_policy": lambda a: share(a).set_share_access_policy(
        {i: AccessPolicy(permission=p.get("permission"), start=time(p.get("start")), expiry=time(p.get("expiry"))) for i, p in a["policies"].items()},
        raw_response_hook=remember,
    )["etag"],
    "file_sas": lambda a: generate_file_sas(
        a["account"], a["share"], a["path"].split("/"), a["key"], permission=a.get("permission"), expiry=time(a.get("expiry")), policy_id=a.get("policyId")
    ),
    "share_sas": lambda a: generate_share_sas(a["account"], a["share"], a["key"], permission=a.get("permission"), expiry=time(a.get("expiry")), policy_id=a.get("policyId")),
    "sas_download": lambda a: sas_file(a).download_file(raw_response_hook=remember).readall().decode("latin1"),
    "sas_upload_range": lambda a: sas_file(a).upload_range(a["data"].encode("latin1"), a["offset"], len(a["data"]), raw_response_hook=remember)["etag"],
    "create_file": lambda a: file(a).create_file(a["size"], raw_response_hook=remember)["etag"],
    "upload_range": lambda a: file(a).upload_range(a["data"].encode("latin1"), a["offset"], len(a["data"]), raw_response_hook=remember)["etag"],
    "download": lambda a: file(a).download_file(raw_response_hook=remember).readall().decode("latin1"),
    "acquire_lease": lambda a: file(a).acquire_lease(raw_response_hook=remember).id,
    "upload_range_from_url": lambda a: file(a).upload_range_from_url(
        a["source"], a["offset"], a["length"], a["sourceOffset"], lease=a.get("lease"), raw_response_hook=remember
    )["etag"],
    "get_service_properties": lambda a: (lambda p: {"cors": [rule_out(r) for r in p["cors"]], "hourMetricsEnabled": p["hour_metrics"].enabled})(
        service(a).get_service_properties(raw_response_hook=remember)
    ),
    "set_service_properties": lambda a: service(a).set_service_properties(
        hour_metrics=Metrics(enabled=True, include_apis=True, retention_policy=RetentionPolicy(enabled=True, days=a["hourMetricsDays"])) if "hourMetricsDays" in a else None,
        cors=None if "cors" not in a else [CorsRule(r["allowedOrigins"], r["allowedMethods"], allowed_headers=r.get("allowedHeaders"), exposed_headers=r.get("exposedHeaders"), max_age_in_seconds=r.get("maxAgeInSeconds", 0)) for r in a["cors"]],
        raw_response_hook=remember,
    ),
}


def answer(message):
    last_response.clear()
    try:
        result = OPS[message["op"]](message["args"])
        return {"id": message["id"], "ok": True, "result": result, "status": last_response.get("status"), "requestId": last_response.get("requestId")}
    except HttpResponseError as error:
        response = error.response
        return {
            "id": message["id"],
            "ok": False,
            "status": error.status_code,
            "code": error.error_code or (response.headers.get("x-ms-error-code") if response is not None else None),
            "message": str(error).splitlines()[0],
            "requestId": response.headers.get("x-ms-request-id") if response is not None else None,
        }
    except Exception as error:  # refused by the SDK itself, before any request: status 0
        return {"id": message["id"], "ok": False, "status": 0, "code": type(error).__name__, "message": str(error)}


for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))), flush=True)
