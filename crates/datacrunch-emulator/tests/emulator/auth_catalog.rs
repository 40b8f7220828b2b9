//! Wire-level tests of OAuth2, balance, the catalog (with price history and long-term
//! periods) and availability.

use crate::common::{builder, raw_get, raw_http, start, start_with};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn token_endpoint_accepts_json_and_form_and_refresh() {
    let (emu, api) = start().await;
    let url = format!("{}/oauth2/token", emu.base_url);
    let form = api
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            "grant_type=client_credentials&client_id=emulator-client&client_secret=emulator-secret",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let token: Value = form.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["scope"], "fullAccess");

    let refresh = json!({"grant_type": "refresh_token", "refresh_token": token["refresh_token"]});
    let r = api.http.post(&url).json(&refresh).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Refresh tokens are single use.
    let again = api.http.post(&url).json(&refresh).send().await.unwrap();
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["code"], "invalid_grant");

    for bad in [
        json!({"grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "nope"}),
        json!({"grant_type": "client_credentials", "client_id": "someone", "client_secret": "emulator-secret"}),
        json!({"grant_type": "client_credentials"}),
    ] {
        let r = api.http.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 401, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized_request");
    }
    let r = api
        .http
        .post(&url)
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unsupported_grant_type");
}

#[tokio::test]
async fn bearer_token_is_required_and_checked() {
    let (emu, mut api) = start().await;
    let r = api
        .http
        .get(format!("{}/balance", emu.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    api.token = "forged".into();
    api.get("/instances")
        .await
        .assert_error(401, "unauthorized_request", "Invalid access token");
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let (_emu, api) = start_with(builder().token_lifetime(Duration::from_secs(1))).await;
    assert_eq!(api.get("/balance").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    api.get("/balance")
        .await
        .assert_error(401, "unauthorized_request", "expired");
}

#[tokio::test]
async fn custom_credentials_only() {
    let emu = builder()
        .client_credentials("ci-id", "ci-secret")
        .build()
        .unwrap()
        .spawn_on_loopback()
        .await
        .unwrap();
    let url = format!("{}/oauth2/token", emu.base_url);
    let http = reqwest::Client::new();
    let default = json!({"grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "emulator-secret"});
    assert_eq!(
        http.post(&url)
            .json(&default)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let custom = json!({"grant_type": "client_credentials", "client_id": "ci-id", "client_secret": "ci-secret"});
    assert_eq!(
        http.post(&url).json(&custom).send().await.unwrap().status(),
        200
    );
}

/// The record of one type in a `GET /instance-types` answer.
fn type_named<'a>(types: &'a Value, name: &str) -> &'a Value {
    types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instance_type"] == name)
        .unwrap()
}

#[tokio::test]
async fn balance_and_catalog() {
    let (_emu, api) = start().await;
    let balance = api.get("/balance").await.json();
    assert_eq!(balance, json!({"amount": 1000.0, "currency": "usd"}));

    let types = api.get("/instance-types").await.json();
    let h100 = type_named(&types, "1H100.80S.30V");
    assert_eq!(h100["price_per_hour"], "1.99", "prices are strings here");
    assert_eq!(h100["spot_price"], "1");
    assert_eq!(
        h100["gpu"],
        json!({"description": "1x H100 SXM5 80GB", "number_of_gpus": 1})
    );
    let eur = api.get("/instance-types?currency=eur").await.json();
    assert!(eur
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["currency"] == "eur"));
    api.get("/instance-types?currency=yen")
        .await
        .assert_error(400, "invalid_request", "currency");

    let one = api.get("/instance-types/1H100.80S.30V").await.json();
    assert_eq!(one["instance_type"], "1H100.80S.30V");
    api.get("/instance-types/9Z999.1V")
        .await
        .assert_error(404, "not_found", "9Z999.1V");

    let images = api.get("/images").await.json();
    assert!(images.as_array().unwrap().iter().any(|i| i["image_type"]
        == "ubuntu-24.04-cuda-12.8-open-docker"
        && i["is_default"] == true));
    let v100 = api.get("/images?instance_type=1V100.6V").await.json();
    let v100 = v100.as_array().unwrap();
    assert!(!v100.is_empty());
    assert!(v100.iter().all(|i| !i["image_type"]
        .as_str()
        .unwrap()
        .starts_with("ubuntu-24.04")));
    api.get("/images?instance_type=nope").await.assert_error(
        400,
        "invalid_request",
        "instance_type",
    );

    let locations = api.get("/locations").await.json();
    assert_eq!(
        locations[3],
        json!({"code": "ICE-01", "name": "Iceland 1", "country_code": "IS"})
    );
    let vt = api.get("/volume-types").await.json();
    assert_eq!(vt[0]["type"], "NVMe");
    assert_eq!(vt[0]["price"]["price_per_month_per_gb"], 0.2);
}

#[tokio::test]
async fn price_history_and_long_term_periods() {
    let (emu, api) = start().await;
    let types = api.get("/instance-types").await.json();
    let h100 = type_named(&types, "1H100.80S.30V");
    // Without a month count: the current month, whose dynamic price is the one
    // /instance-types shows (numbers here, strings there, as the API sends them).
    let now = api.get("/instance-types/price-history").await.json();
    assert_eq!(
        now.as_object().unwrap().len(),
        types.as_array().unwrap().len()
    );
    let point = &now["1H100.80S.30V"][0];
    assert_eq!(now["1H100.80S.30V"].as_array().unwrap().len(), 1);
    assert_eq!(
        point["fixed_price_per_hour"].to_string(),
        h100["price_per_hour"].as_str().unwrap()
    );
    assert_eq!(
        point["dynamic_price_per_hour"].to_string(),
        h100["dynamic_price"].as_str().unwrap()
    );
    assert_eq!(point["currency"], "usd");
    assert!(
        point["date"]
            .as_str()
            .unwrap()
            .ends_with("-01T00:00:00.000Z"),
        "{point}"
    );

    let six = api
        .get("/instance-types/price-history?num_of_months=6&currency=eur")
        .await
        .json();
    let series = six["1H100.80S.30V"].as_array().unwrap();
    assert_eq!(series.len(), 6);
    assert!(series.iter().all(|p| p["currency"] == "eur"));
    let dates: Vec<&str> = series.iter().map(|p| p["date"].as_str().unwrap()).collect();
    assert!(
        dates.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {dates:?}"
    );
    // The virtual clock drives it: a month later the newest point is a new month.
    emu.admin.advance_clock(Duration::from_secs(31 * 86_400));
    let later = api.get("/instance-types/price-history").await.json();
    assert!(later["1H100.80S.30V"][0]["date"].as_str().unwrap() > dates[5]);
    for bad in ["0", "37", "many"] {
        api.get(&format!(
            "/instance-types/price-history?num_of_months={bad}"
        ))
        .await
        .assert_error(400, "invalid_request", "num_of_months");
    }
    api.get("/instance-types/price-history?currency=yen")
        .await
        .assert_error(400, "invalid_request", "currency");

    let all = api.get("/long-term/periods").await.json();
    let instances = api.get("/long-term/periods/instances").await.json();
    let clusters = api.get("/long-term/periods/clusters").await.json();
    for list in [&all, &instances, &clusters] {
        let list = list.as_array().unwrap();
        assert!(!list.is_empty());
        for p in list {
            for field in ["code", "name", "unit_name"] {
                assert!(p[field].is_string(), "{field}: {p}");
            }
            assert!(
                p["is_enabled"].is_boolean() && p["unit_value"].is_number(),
                "{p}"
            );
            assert!(p["discount_percentage"].as_f64().unwrap() > 0.0, "{p}");
        }
    }
    assert!(instances.as_array().unwrap().len() < all.as_array().unwrap().len());
    assert_ne!(instances, clusters);
}

#[tokio::test]
async fn availability_accepts_every_parameter_spelling() {
    let (emu, api) = start().await;
    let all = api.get("/instance-availability").await.json();
    assert_eq!(all.as_array().unwrap().len(), 4);
    for q in [
        "location_code=FIN-01",
        "locationCode=FIN-01&isSpot=false",
        "is_spot=FALSE&location_code=FIN-01",
    ] {
        let one = api.get(&format!("/instance-availability?{q}")).await.json();
        assert_eq!(one.as_array().unwrap().len(), 1, "{q}");
        assert_eq!(one[0]["location_code"], "FIN-01");
        assert!(one[0]["availabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "1V100.6V"));
    }
    // 1L40S.20V has no spot offer at all; 2L40S.40V does.
    let spot = api
        .get("/instance-availability?isSpot=true&location_code=FIN-02")
        .await
        .json();
    let spot_types = spot[0]["availabilities"].as_array().unwrap();
    assert!(
        !spot_types.iter().any(|t| t == "1L40S.20V") && spot_types.iter().any(|t| t == "2L40S.40V")
    );
    api.get("/instance-availability?is_spot=maybe")
        .await
        .assert_error(400, "invalid_request", "is_spot");
    api.get("/instance-availability?location_code=MARS-1")
        .await
        .assert_error(400, "invalid_request", "location_code");

    let yes = api
        .get("/instance-availability/1V100.6V?location_code=FIN-01")
        .await;
    assert_eq!((yes.status.as_u16(), yes.text.as_str()), (200, "true"));
    let no = api
        .get("/instance-availability/1V100.6V?locationCode=ICE-01")
        .await;
    assert_eq!(no.text, "false");
    let deprecated = api
        .get("/instances/availability/1V100.6V?is_spot=true")
        .await;
    assert_eq!(deprecated.text, "true");
    api.get("/instance-availability/NOPE")
        .await
        .assert_error(404, "not_found", "NOPE");

    // Availability follows capacity.
    emu.admin
        .set_capacity("1V100.6V", "FIN-01", false, 0)
        .unwrap();
    assert_eq!(
        api.get("/instance-availability/1V100.6V?location_code=FIN-01")
            .await
            .text,
        "false"
    );
    assert_eq!(
        api.get("/instance-availability/1V100.6V").await.text,
        "true",
        "FIN-03 still has some"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let (_emu, api) = start().await;
    api.get("/clusters-of-llamas")
        .await
        .assert_error(404, "not_found", "/v1/clusters-of-llamas");
    api.call(reqwest::Method::PATCH, "/balance", None)
        .await
        .assert_error(405, "invalid_request", "PATCH");
}

/// The admin API needs no token, so a web page in the user's browser must not reach it:
/// neither cross-origin (its `Origin`) nor by DNS rebinding (a foreign `Host` that
/// resolves to 127.0.0.1). Local tools (curl, SDKs) send loopback Hosts and no Origin.
#[tokio::test]
async fn admin_api_refuses_foreign_host_and_origin_headers() {
    let (emu, _api) = start().await;
    let port = emu.addr.port();
    let loopback_host = format!("Host: 127.0.0.1:{port}");
    let allowed: [Vec<String>; 5] = [
        vec![loopback_host.clone()],
        vec![format!("Host: localhost:{port}")],
        vec![format!("Host: [::1]:{port}")],
        vec![
            loopback_host.clone(),
            format!("Origin: http://localhost:{port}"),
        ],
        vec!["Host: 127.0.0.1".to_owned()],
    ];
    for headers in &allowed {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let a = raw_http(emu.addr, &raw_get("/admin/clock", &headers)).await;
        assert_eq!(a.status, 200, "{headers:?}: {a:?}");
    }
    let refused: [(Vec<String>, &str); 4] = [
        (vec![format!("Host: evil.example:{port}")], "Host"),
        (vec!["Host: 127.0.0.1.evil.example".to_owned()], "Host"),
        (
            vec![
                loopback_host.clone(),
                "Origin: http://evil.example".to_owned(),
            ],
            "Origin",
        ),
        (
            vec![loopback_host.clone(), "Origin: null".to_owned()],
            "Origin",
        ),
    ];
    for (headers, named) in &refused {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let a = raw_http(emu.addr, &raw_get("/admin/clock", &headers)).await;
        assert_eq!(a.status, 403, "{headers:?}: {a:?}");
        assert!(a.head.contains("application/json"), "{a:?}");
        let body: Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(body["code"], "forbidden_action", "{a:?}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(named) && message.contains("loopback"),
            "{message}"
        );
    }
    // A refused call changes nothing.
    let advance = b"POST /admin/clock/advance HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"seconds\": 60}";
    assert_eq!(raw_http(emu.addr, advance).await.status, 403);
    let clock = raw_http(emu.addr, &raw_get("/admin/clock", &[&loopback_host])).await;
    let clock: Value = serde_json::from_str(&clock.body).unwrap();
    assert_eq!(clock["offset_ms"], 0, "{clock}");
    // The public API is not affected: a foreign Host still gets the API's own answer.
    let a = raw_http(emu.addr, &raw_get("/v1/locations", &["Host: evil.example"])).await;
    assert_eq!(a.status, 401, "{a:?}");
}
