//! The official Verda Python SDK (PyPI `verda`), unmodified, against an in-process
//! emulator: `tests/python/sdk_roundtrip.py` does the calls and asserts.

use datacrunch_emulator::Emulator;
use std::path::PathBuf;
use std::time::Duration;

fn venv_python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tools/install-terraform (or make deps) to install the Verda SDK",
        python.display()
    );
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_round_trip() {
    let python = venv_python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk_roundtrip.py");
    let emulator = Emulator::builder()
        .provisioning_time(Duration::from_millis(1500))
        .build()
        .unwrap()
        .spawn_on_loopback()
        .await
        .unwrap();
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("VERDA_BASE_URL", &emulator.base_url)
        .env("VERDA_CLIENT_ID", &emulator.client_id)
        .env("VERDA_CLIENT_SECRET", &emulator.client_secret)
        // Loopback only: never let a proxy setting send the SDK elsewhere.
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("sdk_roundtrip: OK"),
        "the Python SDK round trip failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The SDK really went through the emulator: every family of endpoint was hit.
    let counters = emulator.admin.counters();
    for endpoint in [
        "POST /v1/oauth2/token",
        "POST /v1/instances",
        "PUT /v1/instances",
        "GET /v1/instances/{id}",
        "POST /v1/sshkeys",
        "DELETE /v1/sshkeys",
        "POST /v1/scripts",
        "PUT /v1/volumes",
        "DELETE /v1/volumes/{id}",
        "GET /v1/instance-availability/{instance_type}",
        "GET /v1/balance",
        "GET /v1/long-term/periods/instances",
        "GET /v1/long-term/periods/clusters",
    ] {
        assert!(
            counters.get(endpoint).copied().unwrap_or(0) > 0,
            "{endpoint} never called: {counters:?}"
        );
    }
    emulator.shutdown().await;
}
