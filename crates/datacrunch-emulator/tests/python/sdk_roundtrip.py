"""The official Verda Python SDK, unmodified, against the emulator.

Run by tests/python_sdk.rs with VERDA_BASE_URL, VERDA_CLIENT_ID and
VERDA_CLIENT_SECRET pointing at an emulator it started. Exits non-zero (an
assertion or an exception) on the first difference from the real API's shapes.
"""

import os
import time
import warnings

from verda import VerdaClient
from verda.exceptions import APIException

BASE_URL = os.environ["VERDA_BASE_URL"]
CLIENT_ID = os.environ["VERDA_CLIENT_ID"]
CLIENT_SECRET = os.environ["VERDA_CLIENT_SECRET"]
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl sdk@test"


def expect_api_error(code, fragment, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except APIException as e:
        assert e.code == code, f"expected code {code}, got {e.code}: {e.message}"
        assert fragment in e.message, f"expected {fragment!r} in {e.message!r}"
        return e
    raise AssertionError(f"expected APIException {code} from {fn.__name__}")


def check_auth():
    expect_api_error("unauthorized_request", "", VerdaClient, CLIENT_ID, "wrong", base_url=BASE_URL)
    client = VerdaClient(CLIENT_ID, CLIENT_SECRET, base_url=BASE_URL)
    # Force the SDK's refresh path (refresh_token grant) on the next call.
    old_token = client._authentication._access_token
    client._authentication._expires_at = 0
    client.balance.get()
    assert client._authentication._access_token != old_token
    return client


def check_catalog(client):
    balance = client.balance.get()
    assert balance.amount > 0 and balance.currency == "usd", balance

    types = {t.instance_type: t for t in client.instance_types.get()}
    assert "1H100.80S.30V" in types and "1V100.6V" in types, sorted(types)
    h100 = types["1H100.80S.30V"]
    assert h100.price_per_hour == 1.99 and h100.spot_price_per_hour > 0
    assert h100.gpu["number_of_gpus"] == 1 and "H100" in h100.gpu["description"]
    eur = {t.instance_type: t for t in client.instance_types.get(currency="eur")}
    assert eur["1H100.80S.30V"].currency == "eur"

    images = client.images.get()
    names = {i.image_type for i in images}
    assert "ubuntu-24.04-cuda-12.8-open-docker" in names, names
    v100_images = {i.image_type for i in client.images.get(instance_type="1V100.6V")}
    assert v100_images and not any(n.startswith("ubuntu-24.04") for n in v100_images), v100_images

    codes = [loc["code"] for loc in client.locations.get()]
    assert codes == ["FIN-01", "FIN-02", "FIN-03", "ICE-01"], codes

    volume_types = {v.type: v.price_per_month_per_gb for v in client.volume_types.get()}
    assert volume_types["NVMe"] > 0 and "HDD" in volume_types, volume_types

    fin01 = client.instances.get_availabilities(is_spot=False, location_code="FIN-01")
    assert len(fin01) == 1 and fin01[0]["location_code"] == "FIN-01", fin01
    assert "1V100.6V" in fin01[0]["availabilities"]
    everywhere = client.instances.get_availabilities()
    assert len(everywhere) == 4
    assert client.instances.is_available("1V100.6V", location_code="FIN-01") is True
    assert client.instances.is_available("1V100.6V", location_code="ICE-01") is False

    # Long-term commitment periods (the SDK has no price-history call).
    for periods in (client.long_term.get_instance_periods(), client.long_term.get_cluster_periods()):
        assert periods, periods
        for p in periods:
            assert p.code and p.name and p.unit_name == "month", p
            assert p.is_enabled and p.unit_value >= 1 and p.discount_percentage > 0, p


def check_keys_and_scripts(client):
    key = client.ssh_keys.create("sdk-key", ED25519)
    assert len(key.id) == 36, key.id
    assert client.ssh_keys.get_by_id(key.id).public_key == ED25519
    assert key.id in [k.id for k in client.ssh_keys.get()]
    expect_api_error("invalid_request", "key", client.ssh_keys.create, "bad", "not a key")
    throwaway = client.ssh_keys.create("throwaway", ED25519)
    client.ssh_keys.delete([throwaway.id, "00000000-0000-4000-8000-000000000000"])
    client.ssh_keys.delete_by_id("00000000-0000-4000-8000-000000000000")
    assert throwaway.id not in [k.id for k in client.ssh_keys.get()]

    script = client.startup_scripts.create("sdk-script", "#!/bin/sh\necho hi\n")
    assert client.startup_scripts.get_by_id(script.id).script == "#!/bin/sh\necho hi\n"
    other = client.startup_scripts.create("other", "#!/bin/sh\n")
    client.startup_scripts.delete([other.id])
    client.startup_scripts.delete_by_id(other.id)
    assert [s.id for s in client.startup_scripts.get()] == [script.id]
    return key, script


def check_instances_and_volumes(client, key, script):
    expect_api_error(
        "invalid_request", "Operating system is not valid",
        client.instances.create, "1V100.6V", "ubuntu-24.04-cuda-12.8-open-docker", "bad-os", "x",
        location="FIN-01", wait_for_status=None,
    )
    expect_api_error(
        "invalid_request", "hostname",
        client.instances.create, "1V100.6V", "ubuntu-22.04", "bad_host!", "x",
        location="FIN-01", wait_for_status=None,
    )
    expect_api_error("invalid_request", "status", client.instances.get, status="sleepy")

    inst = client.instances.create(
        instance_type="1V100.6V",
        image="ubuntu-22.04-cuda-12.0-docker",
        hostname="sdk-box",
        description="made by the Verda SDK",
        ssh_key_ids=[key.id],
        location="FIN-01",
        startup_script_id=script.id,
        os_volume={"name": "sdk-os", "size": 60},
        wait_for_status="running",
    )
    assert inst.status == "running" and inst.ip.startswith("127.") and inst.ip != "127.0.0.1", inst
    assert inst.location == "FIN-01" and inst.ssh_key_ids == [key.id] and inst.os_volume_id
    assert inst.id in [i.id for i in client.instances.get(status="running")]
    os_volume = client.volumes.get_by_id(inst.os_volume_id)
    assert os_volume.is_os_volume and os_volume.size == 60 and os_volume.instance_id == inst.id

    # A fresh deploy is still provisioning: delete is refused.
    young = client.instances.create("1V100.6V", "ubuntu-22.04", "sdk-young", "x", location="FIN-01")
    assert young.status in ("provisioning", "ordered"), young.status
    expect_api_error("forbidden_action", "Can't discontinue a provisioning instance",
                     client.instances.action, young.id, "delete")

    client.instances.action(inst.id, "shutdown")
    assert client.instances.get_by_id(inst.id).status == "offline"

    vol = client.volumes.create("NVMe", "sdk-data", 10, location="FIN-01")
    assert vol.status == "detached" and vol.size == 10 and vol.location == "FIN-01"
    client.volumes.attach(vol.id, inst.id)
    assert client.volumes.get_by_id(vol.id).instance_id == inst.id
    client.volumes.rename(vol.id, "sdk-data-2")
    client.volumes.increase_size(vol.id, 20)
    got = client.volumes.get_by_id(vol.id)
    assert (got.name, got.size, got.status) == ("sdk-data-2", 20, "attached"), got
    client.volumes.detach(vol.id)
    assert client.volumes.get_by_id(vol.id).status == "detached"
    clone = client.volumes.clone(vol.id, name="sdk-clone")
    assert clone.id != vol.id and clone.size == 20 and clone.name == "sdk-clone"
    assert {vol.id, clone.id} <= {v.id for v in client.volumes.get()}
    client.volumes.delete(vol.id)
    assert vol.id in [v.id for v in client.volumes.get_in_trash()]
    client.volumes.delete_by_id(clone.id, is_permanent=True)
    assert client.volumes.get_by_id(clone.id).status == "deleted"
    assert clone.id not in [v.id for v in client.volumes.get_in_trash()]

    client.instances.action(inst.id, "start")
    assert client.instances.get_by_id(inst.id).status == "running"
    client.instances.action(inst.id, "shutdown")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.instances.action(inst.id, "hibernate")
    assert client.instances.get_by_id(inst.id).status in ("starting_hibernation", "hibernating")

    client.instances.action(inst.id, "delete", volume_ids=[], delete_permanently=True)
    gone = client.instances.get_by_id(inst.id)
    assert gone.status == "discontinued", gone.status
    expect_api_error("forbidden_action", "Can't discontinue a discontinued instance",
                     client.instances.action, inst.id, "delete")
    # volume_ids=[] deleted nothing: the OS volume survives, detached.
    assert client.volumes.get_by_id(inst.os_volume_id).status == "detached"
    expect_api_error("not_found", "Invalid instance id", client.instances.get_by_id,
                     "00000000-0000-4000-8000-000000000000")


def check_clusters(client, key):
    types = {t.cluster_type: t for t in client.cluster_types.get()}
    assert types["16H200"].price_per_hour > 0, types["16H200"]
    assert "16H200" in client.clusters.get_availabilities("FIN-03")
    assert client.clusters.is_available("16H200", "FIN-03") is True
    images = client.clusters.get_cluster_images("16H200")
    assert images and all(i.endswith("-cluster") for i in images), images
    # create() answers {"id"} and waits for `provisioning`.
    cluster = client.clusters.create("16H200", images[0], "sdk-cluster", ssh_key_ids=[key.id],
                                     shared_volume_size=1000)
    assert cluster.status == "provisioning", cluster.status
    assert cluster.shared_volumes[0].size_in_gigabytes == 1000, cluster.shared_volumes
    for _ in range(100):
        cluster = client.clusters.get_by_id(cluster.id)
        if cluster.status == "running":
            break
        time.sleep(0.1)
    assert cluster.status == "running" and cluster.ip, cluster
    assert len(cluster.worker_nodes) == 2 and cluster.worker_nodes[0].private_ip
    assert [c.id for c in client.clusters.get("running")] == [cluster.id]
    client.clusters.delete(cluster.id)
    assert client.clusters.get_by_id(cluster.id).status == "discontinued"


def main():
    client = check_auth()
    check_catalog(client)
    key, script = check_keys_and_scripts(client)
    check_instances_and_volumes(client, key, script)
    check_clusters(client, key)
    print("sdk_roundtrip: OK")


if __name__ == "__main__":
    main()
