#!/usr/bin/env python3
"""Writes handshake_bench's cycle file for terraform-provider-datacrunch.

Usage: datacrunch-cycle.py EMULATOR_URL OUT.json

Our provider reads an SSH key (its simplest resource) from a running emulator; this makes
the key there and names it in the cycle file, with the emulator's credentials as the
provider block. Used by tools/run-benchmarks and tools/bench/link-order.
"""
import json, sys, urllib.request
url, out = sys.argv[1], sys.argv[2]
def call(path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url + path, json.dumps(body).encode(), headers)
    return urllib.request.urlopen(req).read().decode()
creds = {"client_id": "emulator-client", "client_secret": "emulator-secret"}
token = json.loads(call("/oauth2/token", dict(grant_type="client_credentials", **creds)))["access_token"]
key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOeRpubk2gBfeHvWEXLr0dTooscgIWTPtHjd/IA7aI2f bench"
key_id = call("/sshkeys", {"name": "bench", "key": key}, token).strip().strip('"')
config = {"server_url": url, **creds, "bearer": None, "credentials_file": None, "profile": None,
          "poll_interval": None, "poll_max_interval": None, "max_retries": None,
          "request_timeout": None}
state = {"id": key_id, "name": "bench", "public_key": key, "fingerprint": None}
json.dump({"config": config, "resource": "datacrunch_ssh_key", "state": state}, open(out, "w"))
