"""Azure Blob Storage: ``az://container/path`` (also ``abfs://``, ``abfss://``).

The I/O itself is fsspec's: adlfs registers these schemes, so every command
that reads or writes through fsspec works on Azure unchanged. It takes its
credentials from the environment, as the Azure tools do:

* ``AZURE_STORAGE_CONNECTION_STRING`` (an account key or SAS inside; also
  how an emulator such as Azurite is reached), or
* ``AZURE_STORAGE_ACCOUNT_NAME`` with ``AZURE_STORAGE_ACCOUNT_KEY``,
  ``AZURE_STORAGE_SAS_TOKEN``, or no secret at all: then Azure's default
  credential chain (``az login``, a managed identity, a service principal).

This module adds the two things fsspec does not do: the settings polars' own
cloud reader needs (it does not read connection strings), and a check before a
command starts, so a missing account or an unreachable one is one line naming
the account, not a stack of HTTP retries and tracebacks.
"""

from __future__ import annotations

import os
import re

SCHEMES = ("az://", "abfs://", "abfss://")

NO_ACCOUNT = (
    "no Azure storage account for {uri}: set AZURE_STORAGE_CONNECTION_STRING, or "
    "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or "
    "AZURE_STORAGE_SAS_TOKEN (or sign in: az login / a managed identity)"
)


def is_azure(uri) -> bool:
    return isinstance(uri, str) and uri.lower().startswith(SCHEMES)


def connection_settings() -> dict:
    """``AZURE_STORAGE_CONNECTION_STRING`` as a dict (``AccountName``,
    ``AccountKey``, ``BlobEndpoint``, ...), or {} when unset."""
    text = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    out = {}
    for item in text.split(";"):
        key, sep, value = item.strip().partition("=")
        if sep:
            out[key] = value
    return out


def account_and_endpoint() -> tuple[str | None, str | None]:
    """(account name, blob endpoint) the environment points at."""
    cs = connection_settings()
    name = cs.get("AccountName") or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    endpoint = cs.get("BlobEndpoint")
    if not endpoint and name:
        proto = cs.get("DefaultEndpointsProtocol", "https")
        suffix = cs.get("EndpointSuffix", "core.windows.net")
        endpoint = f"{proto}://{name}.blob.{suffix}"
    return name, endpoint


def polars_options(uris) -> dict | None:
    """``storage_options`` for polars' reader when ``uris`` are on Azure and a
    connection string is set (polars reads account name/key/SAS variables by
    itself, but not connection strings); otherwise None."""
    if not any(is_azure(u) for u in uris):
        return None
    cs = connection_settings()
    if not cs:
        return None
    name, endpoint = account_and_endpoint()
    opts = {"account_name": name}
    if cs.get("AccountKey"):
        opts["account_key"] = cs["AccountKey"]
    if cs.get("SharedAccessSignature"):
        opts["sas_token"] = cs["SharedAccessSignature"]
    if cs.get("BlobEndpoint"):
        opts["endpoint"] = cs["BlobEndpoint"]
    if endpoint and endpoint.startswith("http://"):
        opts["allow_http"] = "true"
    return opts


def _uris(value):
    if isinstance(value, str):
        if is_azure(value):
            yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _uris(v)


def _container(uri: str) -> str:
    return uri.split("://", 1)[1].split("/", 1)[0]


def _reason(exc) -> str:
    """The useful part of an Azure SDK error: an errno line, or the error
    code, or the first line."""
    text = str(getattr(exc, "message", None) or exc)
    m = re.search(r"\[Errno -?\d+\] [^'\"\n)]+", text)
    if m:
        return m.group(0).strip()
    code = getattr(exc, "error_code", None)
    if code:
        return str(getattr(code, "value", code))
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _service_client():
    from azure.storage.blob import BlobServiceClient, LinearRetry

    # One quick retry: this is a reachability check (the storage SDK's default
    # policy backs off for 15 s and more); the real I/O retries by itself.
    kw = dict(
        retry_policy=LinearRetry(backoff=0.5, random_jitter_range=0, retry_total=1),
        connection_timeout=10,
        read_timeout=30,
    )
    text = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if text:
        return BlobServiceClient.from_connection_string(text, **kw)
    name, endpoint = account_and_endpoint()
    key = os.environ.get("AZURE_STORAGE_ACCOUNT_KEY")
    sas = os.environ.get("AZURE_STORAGE_SAS_TOKEN")
    if key:
        return BlobServiceClient(
            endpoint, credential={"account_name": name, "account_key": key}, **kw
        )
    if sas:
        return BlobServiceClient(f"{endpoint}?{sas.lstrip('?')}", **kw)
    return None  # an identity (az login, managed identity): adlfs resolves it


def _check(client, name, endpoint, containers, need_container=True) -> str | None:
    from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError

    for container in dict.fromkeys(containers):
        try:
            found = client.get_container_client(container).exists()
        except HttpResponseError as exc:
            if exc.status_code in (401, 403) or "Authentication" in type(exc).__name__:
                return (
                    f"Azure storage account {name} at {endpoint} refused the credentials "
                    f"({_reason(exc)})"
                )
            return (
                f"Azure storage account {name} at {endpoint}: HTTP {exc.status_code} "
                f"({_reason(exc)})"
            )
        except ServiceRequestError as exc:
            return f"cannot reach Azure storage account {name} at {endpoint}: {_reason(exc)}"
        except AzureError as exc:
            return f"Azure storage account {name} at {endpoint}: {_reason(exc)}"
        if need_container and not found:
            return (
                f"Azure storage account {name} has no container {container!r} "
                f"(create it: az storage container create --name {container})"
            )
    return None


def problem(args: dict) -> str | None:
    """Why the Azure URIs among ``args`` (a command's arguments) cannot be
    used, in one line; None when there are none or the account answers.
    One request per container; nothing is written."""
    uris = list(_uris(list(args.values())))
    if not uris:
        return None
    name, endpoint = account_and_endpoint()
    if not name:
        return NO_ACCOUNT.format(uri=uris[0])
    try:
        client = _service_client()
    except (ValueError, TypeError) as exc:
        return f"bad Azure storage settings for account {name}: {_reason(exc)}"
    if client is None:
        return None
    return _check(client, name, endpoint, [_container(u) for u in uris])


def plugin_credential():
    """The credential chain of snakemake-storage-plugin-azure (0.4): Azure
    CLI login, then a managed identity, then a service principal from
    AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET."""
    from azure.identity import (
        AzureCliCredential,
        ChainedTokenCredential,
        EnvironmentCredential,
        ManagedIdentityCredential,
    )

    return ChainedTokenCredential(
        AzureCliCredential(), ManagedIdentityCredential(), EnvironmentCredential()
    )


def token_problem(credential, account: str) -> str | None:
    """One line when ``credential`` yields no token for Azure Storage."""
    from azure.core.exceptions import ClientAuthenticationError

    try:
        credential.get_token("https://storage.azure.com/.default")
    except ClientAuthenticationError as exc:
        tried = re.findall(r"(\w+Credential): ([^.\n]*)", str(exc.message or exc))
        detail = "; ".join(f"{k}: {v.strip()}" for k, v in tried) or _reason(exc)
        return (
            f"no Azure credentials for storage account {account}: sign in (az login), run "
            f"with a managed identity, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
            f"AZURE_CLIENT_SECRET; a connection string goes in AZURITE_CONNECTION_STRING "
            f"(tried {detail})"
        )
    return None


def workflow_problem(account: str | None, prefix: str) -> str | None:
    """For a Snakemake run with ``--default-storage-provider azure``: one line
    when the storage plugin could not use the account, checked with the
    plugin's own credentials (else the plugin retries silently for minutes).
    The container may be missing: the plugin creates it on the first upload."""
    from azure.storage.blob import BlobServiceClient, LinearRetry

    kw = dict(
        retry_policy=LinearRetry(backoff=0.5, random_jitter_range=0, retry_total=1),
        connection_timeout=10,
        read_timeout=30,
    )
    text = os.environ.get("AZURITE_CONNECTION_STRING")  # the plugin's only key-based way in
    try:
        if text:
            cs = dict(i.strip().partition("=")[::2] for i in text.split(";") if "=" in i)
            account = cs.get("AccountName", account)
            endpoint = cs.get("BlobEndpoint") or f"https://{account}.blob.core.windows.net"
            client = BlobServiceClient.from_connection_string(text, **kw)
        else:
            if not account:
                return None  # the plugin says which setting is missing
            endpoint = f"https://{account}.blob.core.windows.net"
            credential = plugin_credential()
            if msg := token_problem(credential, account):
                return msg
            client = BlobServiceClient(endpoint, credential=credential, **kw)
    except (ValueError, TypeError) as exc:
        return f"bad Azure storage settings for account {account}: {_reason(exc)}"
    if not is_azure(prefix or ""):
        return f"default storage prefix {prefix!r} is not an az://container/... URI"
    return _check(client, account, endpoint, [_container(prefix)], need_container=False)
