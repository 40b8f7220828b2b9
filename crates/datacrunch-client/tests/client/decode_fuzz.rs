//! Fuzzing of response decoding: no decoder panics on arbitrary bytes or arbitrary JSON,
//! and ids in every form the API uses decode back to themselves. Bounded case counts keep
//! this fast in CI.

use datacrunch_client::decode::{
    decode_action_results, decode_bool, decode_created_id, decode_id_list, decode_json,
    decode_one_or_first,
};
use datacrunch_client::models::{
    ApiErrorBody, Balance, Image, Instance, InstanceType, Location, LocationAvailability, SshKey,
    StartupScript, TokenResponse, Volume, VolumeType,
};
use proptest::prelude::*;
use serde_json::Value;

/// Runs every decoder over `body`; each must return (Ok or Err), never panic.
fn decode_everything(body: &[u8]) {
    let e = "fuzz";
    let _ = decode_created_id(e, body);
    let _ = decode_bool(e, body);
    let _ = decode_action_results(e, body);
    let _ = decode_id_list(e, body);
    let _ = decode_one_or_first::<SshKey>(e, "k", body);
    let _ = decode_one_or_first::<StartupScript>(e, "s", body);
    let _ = decode_json::<Vec<Instance>>(e, "x", body);
    let _ = decode_json::<Instance>(e, "x", body);
    let _ = decode_json::<Vec<InstanceType>>(e, "x", body);
    let _ = decode_json::<Vec<Volume>>(e, "x", body);
    let _ = decode_json::<Vec<VolumeType>>(e, "x", body);
    let _ = decode_json::<Vec<Image>>(e, "x", body);
    let _ = decode_json::<Vec<Location>>(e, "x", body);
    let _ = decode_json::<Vec<LocationAvailability>>(e, "x", body);
    let _ = decode_json::<Balance>(e, "x", body);
    let _ = decode_json::<TokenResponse>(e, "x", body);
    let _ = decode_json::<ApiErrorBody>(e, "x", body);
}

/// Arbitrary JSON, biased towards the API's vocabulary so decoders get past the first
/// field check and into the nested shapes.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id".to_owned()),
        Just("status".to_owned()),
        Just("price_per_hour".to_owned()),
        Just("instance_type".to_owned()),
        Just("instanceId".to_owned()),
        Just("statusCode".to_owned()),
        Just("availabilities".to_owned()),
        Just("location_code".to_owned()),
        Just("access_token".to_owned()),
        Just("expires_in".to_owned()),
        Just("amount".to_owned()),
        Just("price".to_owned()),
        Just("type".to_owned()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("1.99".into())),
        Just(Value::String("true".into())),
        Just(Value::String("running".into())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_everything(&body);
    }

    #[test]
    fn decoders_never_panic_on_text(body in ".{0,128}") {
        decode_everything(body.as_bytes());
    }

    #[test]
    fn decoders_never_panic_on_json(value in json_value()) {
        decode_everything(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn created_ids_round_trip_in_every_form(id in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", pad in "[ \n\r\t]{0,3}") {
        for body in [format!("{pad}{id}{pad}"), format!("\"{id}\""), format!("{{\"id\":\"{id}\"}}")] {
            prop_assert_eq!(decode_created_id("POST /instances", body.as_bytes()).unwrap(), id.clone());
        }
    }

    #[test]
    fn a_decode_error_names_the_endpoint(body in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(e) = decode_bool("GET /instance-availability/x", &body) {
            prop_assert!(e.to_string().starts_with("GET /instance-availability/x: "));
        }
    }
}
